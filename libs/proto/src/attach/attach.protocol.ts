/**
 * The interactive session protocol as attach clients speak it (browsers, API clients, e2e):
 * one process per connection on {@link ATTACH_NAMESPACE}, typically a shell on a TTY, relayed by
 * the control plane to the sandbox's node agent and on to the guest agent. Output chunks are
 * acknowledged end to end: the node reads the next chunk from the guest only once the client
 * has acknowledged the previous one, so a slow client slows the process, not memory.
 *
 * Types and constants only (no zod, no gRPC), so the web app can bundle it; the control plane
 * validates payloads with the schemas in `fleet/session.schemas.ts`.
 */
import type { AckReply, ErrorInfo } from '../common/ack-reply';

/** Namespace browsers and API clients attach on (`auth: {token}`), one session per connection. */
export const ATTACH_NAMESPACE = '/attach';

/** A terminal's size. */
export interface WindowSize {
  rows: number;
  cols: number;
}

/** What a client asks for in `attach:start`. */
export interface AttachStart {
  sandboxId: string;
  /** Default: `/bin/sh`. */
  command?: string[];
  /** Default true. */
  tty?: boolean;
  window?: WindowSize;
  env?: Record<string, string>;
  cwd?: string;
}

/** How the session's process ended. */
export interface AttachExit {
  exitCode: number;
  /** The signal that killed it, 0 if it exited. */
  signal: number;
  oomKilled: boolean;
  timedOut: boolean;
}

/** The streams a session's output comes from (a TTY merges stderr into stdout). */
export type OutputStream = 'stdout' | 'stderr';

/** Client → control plane events on {@link ATTACH_NAMESPACE}. */
export interface AttachClientEvents {
  'attach:start': (req: AttachStart, ack: (reply: AckReply<{ sessionId: string }>) => void) => void;
  /** Acknowledged once the guest process has the bytes: wait for it before sending more. */
  'attach:input': (data: Uint8Array | string, ack: (reply: AckReply<null>) => void) => void;
  /** Closes the process's stdin (^D on a TTY). */
  'attach:eof': () => void;
  'attach:resize': (window: WindowSize) => void;
  'attach:signal': (signal: number) => void;
}

/**
 * Control plane → client events on {@link ATTACH_NAMESPACE}. `Binary` is how output bytes
 * arrive: the server sends a `Uint8Array`; socket.io hands a browser an `ArrayBuffer` and
 * Node a `Buffer`.
 */
export interface AttachServerEvents<Binary = Uint8Array> {
  /** Acknowledge each chunk; the next one comes only after the acknowledgement. */
  'attach:output': (output: { stream: OutputStream; data: Binary }, ack: (taken: boolean) => void) => void;
  'attach:exit': (exit: AttachExit) => void;
  'attach:error': (error: ErrorInfo) => void;
}
