import { once } from 'node:events';
import type { TLSSocket } from 'node:tls';
import { z } from 'zod';
import { MoveError, MoveErrorCode, MoveRefusedError } from './move.errors';

/**
 * The end of a move on its channel, whatever crossed it before: the target answers with one
 * JSON line (`{"ok":true}` or `{"error":{"code","message"}}`) and ends; each side gives up
 * after its deadline and closes its socket whatever happens.
 */

const answerSchema = z.union([
  z.object({ ok: z.literal(true) }).strict(),
  z.object({ error: z.object({ code: z.string().min(1).max(100), message: z.string().max(4096) }) }).strict(),
]);
export type MoveAnswer = z.infer<typeof answerSchema>;
/** An answer is one short line; a longer one is not the move protocol. */
const MAX_ANSWER_BYTES = 8 * 1024;
/** How long an ended side waits for the other to close before it cuts the connection. */
const LINGER_MS = 5_000;

/**
 * Writes the answer, ends this side and waits (a while) for the source to close: the source
 * reads the answer before it goes, and whatever it still sends is read and dropped meanwhile.
 * Resolves whether the answer was written out: not when the connection was already gone or
 * broke before it was.
 */
export async function answer(socket: TLSSocket, reply: MoveAnswer): Promise<boolean> {
  if (socket.destroyed || !socket.writable) return false;
  const closed = once(socket, 'close').catch(() => undefined);
  let written = false;
  socket.once('finish', () => {
    written = !socket.destroyed;
  });
  socket.resume();
  socket.end(`${JSON.stringify(reply)}\n`);
  const linger = setTimeout(() => socket.destroy(), LINGER_MS);
  await closed;
  clearTimeout(linger);
  return written;
}

/** The target's one answer line. */
export async function readAnswer(socket: TLSSocket): Promise<MoveAnswer> {
  let text = '';
  for await (const chunk of socket.iterator({ destroyOnReturn: false }) as AsyncIterable<Buffer>) {
    text += chunk.toString('utf8');
    const end = text.indexOf('\n');
    if (end >= 0) return parseAnswer(text.slice(0, end));
    if (text.length > MAX_ANSWER_BYTES) break;
  }
  throw new MoveError(MoveErrorCode.MOVE_PROTOCOL_VIOLATION, text ? 'the target sent no answer line' : 'the target closed without an answer');
}

/** The target's failure as it answered it, its code kept. */
export function refusal(error: { code: string; message: string }, what: string): MoveRefusedError {
  return new MoveRefusedError(error.code, `the target refused ${what}: ${error.message}`);
}

function parseAnswer(line: string): MoveAnswer {
  try {
    return answerSchema.parse(JSON.parse(line));
  } catch (cause) {
    throw new MoveError(MoveErrorCode.MOVE_PROTOCOL_VIOLATION, `the target's answer is not the move protocol's: ${line.slice(0, 200)}`, { cause });
  }
}

/** Destroys the socket with MOVE_TRANSFER_FAILED after `ms`; returns what cancels it. */
export function cutAfter(socket: TLSSocket, ms: number): () => void {
  const timer = setTimeout(() => socket.destroy(new MoveError(MoveErrorCode.MOVE_TRANSFER_FAILED, `the move was not done within ${ms} ms`)), ms);
  return () => clearTimeout(timer);
}

/**
 * A socket error with nobody reading (the target importing, the source between its reads) would
 * be an uncaught 'error' event; the reads and writes in progress, or the next ones, still fail with it.
 */
export function keepErrorsFromCrashing(socket: TLSSocket): void {
  socket.on('error', () => undefined);
}
