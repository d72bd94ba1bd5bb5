import { connect } from 'node:net';
import type { AgentTransport } from './agent-transport';

const STALE_QUIET_MS = 300;
const STALE_MAX_MS = 3_000;

/**
 * The guest agent behind a QEMU virtserialport whose chardev is a unix socket server on the
 * host. The chardev accepts one connection at a time, so the host must multiplex every call
 * over a single HTTP/2 connection (one grpc-js channel per sandbox); each new connection is a
 * fresh HTTP/2 session for the guest.
 */
export class VirtioSerialTransport implements AgentTransport {
  readonly kind = 'virtio-serial' as const;
  readonly grpcTarget: string;

  constructor(readonly socketPath: string) {
    this.grpcTarget = `unix://${socketPath}`;
  }

  /**
   * A guest write to a port whose host has gone blocks in the guest kernel and completes as
   * soon as anyone connects, so the first bytes a new connection reads can be the tail of the
   * previous host's HTTP/2 session (say, the late answer to a long-poll it abandoned), which
   * would break the new session. A throwaway connection takes them: it reads until the port
   * has been quiet for `quietMs`, and its close tells the guest to end that old session.
   */
  discardStaleOutput(quietMs = STALE_QUIET_MS, maxMs = STALE_MAX_MS): Promise<void> {
    return new Promise((resolve) => {
      const socket = connect(this.socketPath);
      let quiet: NodeJS.Timeout | undefined;
      const done = () => {
        clearTimeout(quiet);
        clearTimeout(limit);
        socket.destroy();
        resolve();
      };
      const limit = setTimeout(done, maxMs);
      const waitForQuiet = () => {
        clearTimeout(quiet);
        quiet = setTimeout(done, quietMs);
      };
      socket.on('connect', waitForQuiet);
      socket.on('data', waitForQuiet);
      // No VM or no socket: nothing stale; the agent's readiness check reports the real problem.
      socket.on('error', done);
    });
  }

  /** Nothing to release: QEMU owns the chardev socket. */
  close(): void {
    // The socket is QEMU's and goes with the VM.
  }
}
