import { connect, type Socket } from 'node:net';
import { RuntimeError, RuntimeErrorCode } from '../../errors/runtime.errors';

/** The longest answer a VMM gives to CONNECT (`OK <32-bit port>\n`), with room to spare. */
const MAX_HANDSHAKE_LINE = 64;
const OK_LINE = /^OK \d{1,10}$/;

export interface HybridVsockOptions {
  /** The VMM's vsock unix socket (Firecracker `uds_path`, Cloud Hypervisor `--vsock socket=`). */
  udsPath: string;
  port: number;
  handshakeTimeoutMs: number;
}

/**
 * Opens a stream to a guest vsock port through Firecracker's or Cloud Hypervisor's "hybrid
 * vsock": connect to the VMM's unix socket, send `CONNECT <port>\n`, expect `OK <n>\n`.
 * A refusal, an answer that is not that line, or silence past the deadline fails the dial.
 * Bytes after the newline already belong to the guest and are handed back to the stream,
 * which is returned paused so none is emitted before the caller listens: pipe or resume it.
 */
export function dialHybridVsock(opts: HybridVsockOptions): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const socket = connect(opts.udsPath);
    let received = Buffer.alloc(0);
    const fail = (message: string, cause?: unknown): void => {
      cleanup();
      socket.destroy();
      reject(new RuntimeError(RuntimeErrorCode.AGENT_UNREACHABLE, `hybrid vsock ${opts.udsPath} port ${opts.port}: ${message}`, { cause }));
    };
    const timer = setTimeout(() => fail(`no answer to CONNECT within ${opts.handshakeTimeoutMs} ms`), opts.handshakeTimeoutMs);
    const onData = (chunk: Buffer): void => {
      received = Buffer.concat([received, chunk]);
      const newline = received.indexOf(0x0a);
      if (newline < 0) {
        if (received.length > MAX_HANDSHAKE_LINE) fail('the answer to CONNECT is not a line');
        return;
      }
      const line = received.subarray(0, newline).toString('latin1');
      if (!OK_LINE.test(line)) return fail(`refused: ${JSON.stringify(line.slice(0, MAX_HANDSHAKE_LINE))}`);
      cleanup();
      socket.pause();
      const rest = received.subarray(newline + 1);
      if (rest.length > 0) socket.unshift(rest);
      resolve(socket);
    };
    const onError = (error: Error): void => fail(error.message, error);
    const onClose = (): void => fail('the VMM closed the connection (no listener on that port?)');
    const cleanup = (): void => {
      clearTimeout(timer);
      socket.off('data', onData);
      socket.off('error', onError);
      socket.off('close', onClose);
    };
    socket.on('data', onData);
    socket.on('error', onError);
    socket.on('close', onClose);
    socket.once('connect', () => socket.write(`CONNECT ${opts.port}\n`));
  });
}
