import { ATTACH_NAMESPACE, ATTACH_REPLY_TIMEOUT_MS, type AckReply, type AttachClientEvents, type AttachServerEvents, type AttachStart } from '@moat/proto/attach';
import { io, type Socket } from 'socket.io-client';
import { MoatAttachError } from './moat.error';

/** Where attach sessions are opened: the same control plane and token as the REST calls. */
export interface AttachEndpoint {
  apiUrl: string;
  token: string;
}

/** Output bytes arrive as a Buffer in Node and as an ArrayBuffer in a browser. */
export type AttachSocket = Socket<AttachServerEvents<Uint8Array | ArrayBuffer>, AttachClientEvents>;

/**
 * Connects to the control plane's `/attach` namespace, resolving once connected. WebSocket
 * only and no reconnection: a session's process dies with its connection, so a new connection
 * could not resume it.
 */
export function connectAttach({ apiUrl, token }: AttachEndpoint): Promise<AttachSocket> {
  const socket: AttachSocket = io(new URL(ATTACH_NAMESPACE, apiUrl).href, { auth: { token }, transports: ['websocket'], reconnection: false });
  return new Promise((resolve, reject) => {
    socket.once('connect', () => {
      socket.off('connect_error');
      resolve(socket);
    });
    socket.once('connect_error', (err) => {
      socket.close();
      // The auth middleware refuses a token with the message `unauthenticated`, REST with 401 UNAUTHENTICATED.
      if (err.message === 'unauthenticated') reject(new MoatAttachError('UNAUTHENTICATED', 'the control plane refused the token'));
      else reject(new MoatAttachError('CONNECT_FAILED', `cannot connect to ${apiUrl}: ${connectFailure(err)}`));
    });
  });
}

// socket.io types a reply awaited under a timeout as any; the protocol's types say what it is.

/** Starts the session's process; a refusal is thrown with the server's code. */
export function startProcess(socket: AttachSocket, request: AttachStart): Promise<void> {
  return acknowledged('attach:start', socket.timeout(ATTACH_REPLY_TIMEOUT_MS).emitWithAck('attach:start', request) as Promise<AckReply<unknown>>);
}

/** Sends one chunk of input, resolving once the process has it. */
export function sendInput(socket: AttachSocket, chunk: Uint8Array): Promise<void> {
  return acknowledged('attach:input', socket.timeout(ATTACH_REPLY_TIMEOUT_MS).emitWithAck('attach:input', chunk) as Promise<AckReply<unknown>>);
}

async function acknowledged(event: string, reply: Promise<AckReply<unknown>>): Promise<void> {
  let answer: AckReply<unknown>;
  try {
    answer = await reply;
  } catch {
    throw new MoatAttachError('NO_REPLY', `the control plane did not answer ${event} within ${ATTACH_REPLY_TIMEOUT_MS / 1000} s`);
  }
  if (!answer.ok) throw new MoatAttachError(answer.error.code, answer.error.message);
}

/** A transport error says little in its message ("websocket error"); its description names the socket's. */
function connectFailure(err: Error): string {
  const description = (err as { description?: { message?: unknown } }).description;
  return typeof description?.message === 'string' && description.message ? description.message : err.message;
}
