import {
  ATTACH_NAMESPACE,
  ATTACH_REPLY_TIMEOUT_MS,
  type AckReply,
  type AttachClientEvents,
  type AttachServerEvents,
  type WindowSize,
} from '@moat/proto/attach';
import { io, type Socket } from 'socket.io-client';

/**
 * How long the terminal waits for one batch of keystrokes to be taken before telling the
 * operator; shorter than ATTACH_REPLY_TIMEOUT_MS, since someone is watching.
 */
const INPUT_ACK_TIMEOUT_MS = 30_000;

/** The control plane's `/attach` namespace, as the browser speaks it (one session per connection); binary arrives as ArrayBuffer. */
export type AttachSocket = Socket<AttachServerEvents<ArrayBuffer>, AttachClientEvents>;

/** Opens an attach connection (WebSocket only, like the dashboard's live updates). */
export function connectAttach(apiBase: string, token: string): AttachSocket {
  return io(`${apiBase}${ATTACH_NAMESPACE}`, { auth: { token }, transports: ['websocket'], reconnection: false });
}

/** Starts a shell on a TTY in the sandbox; rejects with the server's reason. */
export async function startShell(socket: AttachSocket, sandboxId: string, window: WindowSize): Promise<void> {
  // socket.io types a reply awaited under a timeout as any.
  const reply = (await socket.timeout(ATTACH_REPLY_TIMEOUT_MS).emitWithAck('attach:start', { sandboxId, tty: true, window })) as AckReply<{ sessionId: string }>;
  if (!reply.ok) throw new Error(`${reply.error.code}: ${reply.error.message}`);
}

/**
 * Sends keystrokes one batch at a time, each acknowledged once the guest process has them,
 * and batches what was typed meanwhile: input stays in order and never floods the relay.
 */
export function inputQueue(socket: AttachSocket, onError: (message: string) => void): (data: string) => void {
  let pending = '';
  let sending = false;
  const flush = async (): Promise<void> => {
    sending = true;
    while (pending) {
      const batch = pending;
      pending = '';
      const reply = (await socket
        .timeout(INPUT_ACK_TIMEOUT_MS)
        .emitWithAck('attach:input', batch)
        .catch(() => undefined)) as AckReply<null> | undefined;
      if (!reply?.ok) onError(reply ? reply.error.message : 'the sandbox did not take the input');
    }
    sending = false;
  };
  return (data) => {
    pending += data;
    if (!sending) void flush();
  };
}
