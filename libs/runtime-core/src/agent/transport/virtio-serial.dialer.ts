import { randomBytes } from 'node:crypto';
import { connect, type Socket } from 'node:net';
import { SERIAL_SYNC, serialSyncAnswer, serialSyncRequest } from '@moat/proto';
import { RuntimeError, RuntimeErrorCode } from '../../errors/runtime.errors';

/**
 * Opens a session with the guest agent behind QEMU's virtio-serial chardev socket: connect,
 * send a sync request with a fresh nonce (SERIAL_SYNC) and drop every byte until the guest's
 * answer to it. Those bytes are what an earlier session still had on its way (the late answer
 * to a long-poll a hibernated guest resumes with); after the answer, every byte is the new
 * session's. No deadline of its own: a booting guest answers once its agent reads the port,
 * so the dial waits until then, the VM goes, or `signal` (the gRPC connection closed) aborts.
 * The socket is returned paused: pipe or resume it.
 */
export function dialVirtioSerial(socketPath: string, signal: AbortSignal): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const nonce = randomBytes(SERIAL_SYNC.nonceLength / 2).toString('hex');
    const answer = Buffer.from(serialSyncAnswer(nonce), 'latin1');
    const socket = connect(socketPath);
    let received = Buffer.alloc(0);
    const fail = (message: string, cause?: unknown): void => {
      cleanup();
      socket.destroy();
      reject(new RuntimeError(RuntimeErrorCode.AGENT_UNREACHABLE, `virtio-serial ${socketPath}: ${message}`, { cause }));
    };
    const onData = (chunk: Buffer): void => {
      received = Buffer.concat([received, chunk]);
      const at = received.indexOf(answer);
      if (at < 0) {
        // Keep only what could be the start of the answer.
        received = received.subarray(Math.max(0, received.length - answer.length + 1));
        return;
      }
      cleanup();
      socket.pause();
      const rest = received.subarray(at + answer.length);
      if (rest.length > 0) socket.unshift(rest);
      resolve(socket);
    };
    const onError = (error: Error): void => fail(error.message, error);
    const onClose = (): void => fail('QEMU closed the connection before the guest agent answered');
    const onAbort = (): void => fail('the connection was given up before the guest agent answered');
    const cleanup = (): void => {
      socket.off('data', onData);
      socket.off('error', onError);
      socket.off('close', onClose);
      signal.removeEventListener('abort', onAbort);
    };
    if (signal.aborted) return onAbort();
    signal.addEventListener('abort', onAbort);
    socket.on('data', onData);
    socket.on('error', onError);
    socket.on('close', onClose);
    socket.once('connect', () => socket.write(serialSyncRequest(nonce)));
  });
}
