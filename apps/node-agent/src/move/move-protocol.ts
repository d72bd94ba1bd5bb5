import { once } from 'node:events';
import { mkdtemp, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { TLSSocket } from 'node:tls';
import { MOVE_TRANSFER_TIMEOUT_MS } from '@moat/proto';
import { errorInfo } from '../errors/error-info';
import { z } from 'zod';
import { MoveError, MoveErrorCode, MoveRefusedError } from './move.errors';
import { framed, unframed } from './move-frames';
import { packFiles, unpackInto } from './saved-state-archive';

/**
 * The move protocol on a channel: the source sends the saved files as a framed tar stream and
 * ends its side; the target unpacks them into a fresh dir, takes them in, answers with one JSON
 * line (`{"ok":true}` or `{"error":{"code","message"}}`) and ends. Each side gives up after
 * MOVE_TRANSFER_TIMEOUT_MS, and closes its socket whatever happens.
 */

const answerSchema = z.union([
  z.object({ ok: z.literal(true) }).strict(),
  z.object({ error: z.object({ code: z.string().min(1).max(100), message: z.string().max(4096) }) }).strict(),
]);
/** An answer is one short line; a longer one is not the move protocol. */
const MAX_ANSWER_BYTES = 8 * 1024;
/** How long an ended side waits for the other to close before it cuts the connection. */
const LINGER_MS = 5_000;

export interface ProtocolOptions {
  timeoutMs?: number;
}

/** The source's side: sends the files and resolves with the archive's bytes once the target took them in. */
export async function sendSaved(socket: TLSSocket, saved: { dir: string; files: string[] }, opts: ProtocolOptions = {}): Promise<number> {
  const deadline = cutAfter(socket, opts.timeoutMs ?? MOVE_TRANSFER_TIMEOUT_MS);
  keepErrorsFromCrashing(socket);
  const stopSending = new AbortController();
  try {
    const answer = readAnswer(socket).finally(() => stopSending.abort());
    const packed = packFiles(saved.dir, saved.files);
    // pipeline ends the socket's side only when the frames are complete: after tar exited 0.
    const sending = pipeline(Readable.from(framed(packed.stream, packed.done)), socket, { signal: stopSending.signal }).then(() => packed.done);
    const [sent, answered] = await Promise.allSettled([sending, answer]);
    // The target's answer says more than the broken connection it leaves: it stopped reading.
    if (answered.status === 'fulfilled' && 'error' in answered.value) {
      const { code, message } = answered.value.error;
      throw new MoveRefusedError(code, `the target refused the sandbox: ${message}`);
    }
    if (sent.status === 'rejected') throw sent.reason;
    if (answered.status === 'rejected') throw answered.reason;
    return sent.value;
  } finally {
    deadline();
    socket.destroy();
  }
}

/**
 * The target's side: unpacks what the source sends into a fresh dir under `parentDir` (named by
 * the sandbox id), hands it to `takeIn`, answers, and removes the dir (what `takeIn` did not move
 * away) in every case. Rejects with the failure it answered.
 */
export async function receiveSaved(
  socket: TLSSocket,
  target: { sandboxId: string; parentDir: string; takeIn: (dir: string) => Promise<void> },
  opts: ProtocolOptions = {},
): Promise<void> {
  const deadline = cutAfter(socket, opts.timeoutMs ?? MOVE_TRANSFER_TIMEOUT_MS);
  keepErrorsFromCrashing(socket);
  let dir: string | undefined;
  try {
    dir = await mkdtemp(join(target.parentDir, `${target.sandboxId}-`));
    // Not destroyed when the unpack stops reading early: the answer still goes out on it.
    await unpackInto(dir, unframed(socket.iterator({ destroyOnReturn: false }) as AsyncIterable<Buffer>));
    await target.takeIn(dir);
    await answer(socket, { ok: true });
  } catch (err) {
    await answer(socket, { error: errorInfo(err, MoveErrorCode.MOVE_RECEIVE_FAILED) });
    throw err;
  } finally {
    deadline();
    socket.destroy();
    if (dir) await rm(dir, { recursive: true, force: true });
  }
}

/**
 * Writes the answer, ends this side and waits (a while) for the source to close: the source
 * reads the answer before it goes, and whatever it still sends is read and dropped meanwhile.
 */
async function answer(socket: TLSSocket, reply: z.infer<typeof answerSchema>): Promise<void> {
  if (socket.destroyed) return;
  const closed = once(socket, 'close').catch(() => undefined);
  socket.resume();
  socket.end(`${JSON.stringify(reply)}\n`);
  const linger = setTimeout(() => socket.destroy(), LINGER_MS);
  await closed;
  clearTimeout(linger);
}

/** The target's one answer line. */
async function readAnswer(socket: TLSSocket): Promise<z.infer<typeof answerSchema>> {
  let text = '';
  for await (const chunk of socket.iterator({ destroyOnReturn: false }) as AsyncIterable<Buffer>) {
    text += chunk.toString('utf8');
    const end = text.indexOf('\n');
    if (end >= 0) return parseAnswer(text.slice(0, end));
    if (text.length > MAX_ANSWER_BYTES) break;
  }
  throw new MoveError(MoveErrorCode.MOVE_PROTOCOL_VIOLATION, text ? 'the target sent no answer line' : 'the target closed without an answer');
}

function parseAnswer(line: string): z.infer<typeof answerSchema> {
  try {
    return answerSchema.parse(JSON.parse(line));
  } catch (cause) {
    throw new MoveError(MoveErrorCode.MOVE_PROTOCOL_VIOLATION, `the target's answer is not the move protocol's: ${line.slice(0, 200)}`, { cause });
  }
}

/** Destroys the socket with MOVE_TRANSFER_FAILED after `ms`; returns what cancels it. */
function cutAfter(socket: TLSSocket, ms: number): () => void {
  const timer = setTimeout(() => socket.destroy(new MoveError(MoveErrorCode.MOVE_TRANSFER_FAILED, `the move was not done within ${ms} ms`)), ms);
  return () => clearTimeout(timer);
}

/**
 * A socket error with nobody reading (the target importing, the source between its reads) would
 * be an uncaught 'error' event; the reads and writes in progress, or the next ones, still fail with it.
 */
function keepErrorsFromCrashing(socket: TLSSocket): void {
  socket.on('error', () => undefined);
}
