import { io, type Socket } from 'socket.io-client';

export interface AttachExit {
  exitCode: number;
  signal: number;
  oomKilled: boolean;
  timedOut: boolean;
}

type Reply<T> = { ok: true; result: T } | { ok: false; error: { code: string; message: string } };

/** The control plane's `/attach` namespace, as the browser speaks it (one session per connection). */
interface AttachServerEvents {
  'attach:output': (output: { stream: 'stdout' | 'stderr'; data: ArrayBuffer }, ack: (taken: boolean) => void) => void;
  'attach:exit': (exit: AttachExit) => void;
  'attach:error': (error: { code: string; message: string }) => void;
}
interface AttachClientEvents {
  'attach:start': (
    request: { sandboxId: string; tty: boolean; window: { rows: number; cols: number } },
    ack: (reply: Reply<{ sessionId: string }>) => void,
  ) => void;
  'attach:input': (data: string, ack: (reply: Reply<null>) => void) => void;
  'attach:resize': (window: { rows: number; cols: number }) => void;
}

export type AttachSocket = Socket<AttachServerEvents, AttachClientEvents>;

/** Opens an attach connection (WebSocket only, like the dashboard's live updates). */
export function connectAttach(apiBase: string, token: string): AttachSocket {
  return io(`${apiBase}/attach`, { auth: { token }, transports: ['websocket'], reconnection: false });
}

/** Starts a shell on a TTY in the sandbox; rejects with the server's reason. */
export async function startShell(socket: AttachSocket, sandboxId: string, window: { rows: number; cols: number }): Promise<void> {
  const reply = (await socket.timeout(60_000).emitWithAck('attach:start', { sandboxId, tty: true, window })) as Reply<{ sessionId: string }>;
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
        .timeout(30_000)
        .emitWithAck('attach:input', batch)
        .catch(() => undefined)) as Reply<null> | undefined;
      if (!reply?.ok) onError(reply ? reply.error.message : 'the sandbox did not take the input');
    }
    sending = false;
  };
  return (data) => {
    pending += data;
    if (!sending) void flush();
  };
}
