import { mkdtemp, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { TLSSocket } from 'node:tls';
import { MOVE_TRANSFER_TIMEOUT_MS } from '@moat/proto';
import { errorInfo } from '../errors/error-info';
import { answer, cutAfter, keepErrorsFromCrashing, readAnswer, refusal } from './move-answer';
import { MoveErrorCode } from './move.errors';
import { framed, unframed } from './move-frames';
import { packFiles, unpackInto } from './saved-state-archive';

/**
 * Moving a hibernated sandbox on a channel: the source sends the saved files as a framed tar
 * stream and ends its side; the target unpacks them into a fresh dir, takes them in, answers
 * (move-answer) and ends. Each side gives up after MOVE_TRANSFER_TIMEOUT_MS, and closes its
 * socket whatever happens.
 */

export interface ProtocolOptions {
  timeoutMs?: number;
}

/** The source's side: sends the files and resolves with the archive's bytes once the target took them in. */
export async function sendSaved(socket: TLSSocket, saved: { dir: string; files: string[] }, opts: ProtocolOptions = {}): Promise<number> {
  const deadline = cutAfter(socket, opts.timeoutMs ?? MOVE_TRANSFER_TIMEOUT_MS);
  keepErrorsFromCrashing(socket);
  const stopSending = new AbortController();
  try {
    const answering = readAnswer(socket).finally(() => stopSending.abort());
    const packed = packFiles(saved.dir, saved.files);
    // pipeline ends the socket's side only when the frames are complete: after tar exited 0.
    const sending = pipeline(Readable.from(framed(packed.stream, packed.done)), socket, { signal: stopSending.signal }).then(() => packed.done);
    const [sent, answered] = await Promise.allSettled([sending, answering]);
    // The target's answer says more than the broken connection it leaves: it stopped reading.
    if (answered.status === 'fulfilled' && 'error' in answered.value) {
      throw refusal(answered.value.error, 'the sandbox');
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
