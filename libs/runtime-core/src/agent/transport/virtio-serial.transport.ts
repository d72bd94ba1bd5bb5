import type { AgentTransport } from './agent-transport';

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

  /** Nothing to release: QEMU owns the chardev socket. */
  close(): void {
    // The socket is QEMU's and goes with the VM.
  }
}
