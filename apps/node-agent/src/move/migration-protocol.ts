import { PassThrough, Readable, type Writable } from 'node:stream';
import { finished, pipeline } from 'node:stream/promises';
import type { TLSSocket } from 'node:tls';
import { MoatError, MOVE_TRANSFER_TIMEOUT_MS } from '@moat/proto';
import type { LiveDeparture, LiveMigration } from '@moat/runtime-core';
import { z } from 'zod';
import { errorInfo } from '../errors/error-info';
import { answer, cutAfter, keepErrorsFromCrashing, readAnswer, refusal } from './move-answer';
import { firstFrame, framed } from './move-frames';
import { MoveError, MoveErrorCode } from './move.errors';

/**
 * Live migration on a channel: the source sends the departure (`{state, diskBytes}`, JSON) as
 * the first frame, then the VM's migration stream in frames, then the end frame once the stream
 * is complete, and keeps its side open for the answer; the target runs the VM from the stream
 * and answers (move-answer). A source that ends its side before the answer has gone: nobody
 * would read an ok, so the target does not keep a VM its source may resume. Each side gives up
 * after MOVE_TRANSFER_TIMEOUT_MS, and closes its socket whatever happens.
 */

/** A sandbox's state.json is a few KiB; a first frame this long is not a departure. */
const MAX_DEPARTURE_BYTES = 1024 * 1024;
const departureSchema = z.object({ state: z.string().min(2), diskBytes: z.number().int().nonnegative() }).strict();

export interface MigrationProtocolOptions {
  timeoutMs?: number;
}

/**
 * The source's side: `migrate` (the runtime's migrateOut) streams the VM into the sink it gets
 * and then awaits `ran`, which resolves when the target answers ok and rejects on an error
 * answer (with the target's code), a closed channel or the deadline. Resolves with what
 * `migrate` resolved; throws the target's failure when it sent one, else the migration's.
 */
export async function migrateOver(
  socket: TLSSocket,
  departure: LiveDeparture,
  migrate: (sink: Writable, ran: () => Promise<void>) => Promise<LiveMigration>,
  opts: MigrationProtocolOptions = {},
): Promise<LiveMigration> {
  const deadline = cutAfter(socket, opts.timeoutMs ?? MOVE_TRANSFER_TIMEOUT_MS);
  keepErrorsFromCrashing(socket);
  const stopSending = new AbortController();
  const sink = new PassThrough();
  // Complete once the runtime ended the sink and all of it was read; destroyed first: never.
  const complete = finished(sink);
  complete.catch(() => undefined);
  let ranFailure: Error | undefined;
  try {
    const answering = readAnswer(socket).finally(() => stopSending.abort());
    // Not ended after the end frame: the target takes an end before its answer for the source gone.
    const sending = pipeline(Readable.from(framed(headed(Buffer.from(JSON.stringify(departure)), sink), complete)), socket, {
      signal: stopSending.signal,
      end: false,
    });
    // A stream nobody carries any more fails the migration at once rather than stalling it, and
    // one cut short fails the target at once (a pipeline that does not end its destination may
    // leave it open).
    sending.catch(() => {
      sink.destroy();
      socket.destroy();
    });
    const ran = async (): Promise<void> => {
      try {
        const answered = await answering;
        if ('error' in answered) throw refusal(answered.error, 'the migrated VM');
      } catch (err) {
        ranFailure = err as Error;
        throw err;
      }
    };
    const migrating = Promise.resolve()
      .then(() => migrate(sink, ran))
      .finally(() => {
        if (!sink.writableFinished) sink.destroy();
      });
    const [migrated, answered] = await Promise.allSettled([migrating, answering, sending]);
    // The target's answer says more than the broken migration it leaves.
    if (answered.status === 'fulfilled' && 'error' in answered.value) throw refusal(answered.value.error, 'the migrated VM');
    if (migrated.status === 'rejected') throw withReason(migrated.reason, ranFailure);
    return migrated.value;
  } finally {
    deadline();
    sink.destroy();
    socket.destroy();
  }
}

/**
 * The target's side: reads the departure, hands it and the stream to `target.run` (the runtime's
 * migrateIn) and answers. Once the VM runs here, `target.undo` is called when the ok cannot
 * reach the source (its side ended, the connection broke, the deadline): the source then resumes
 * the VM, which must not run in two places. Rejects with the failure it answered, or the undo's reason.
 */
export async function receiveMigration(
  socket: TLSSocket,
  target: { run: (departure: LiveDeparture, stream: Readable) => Promise<void>; undo: (reason: MoveError) => Promise<void> },
  opts: MigrationProtocolOptions = {},
): Promise<void> {
  const deadline = cutAfter(socket, opts.timeoutMs ?? MOVE_TRANSFER_TIMEOUT_MS);
  keepErrorsFromCrashing(socket);
  let stream: Readable | undefined;
  let sourceEnded = false;
  try {
    try {
      // Not destroyed when the reads stop at the end frame: the answer goes out on it.
      const { first, rest } = await firstFrame(socket.iterator({ destroyOnReturn: false }) as AsyncIterable<Buffer>, MAX_DEPARTURE_BYTES);
      stream = Readable.from(
        (async function* () {
          yield* rest;
          // Past the end frame the source only waits for the answer: its end means it has gone.
          socket.once('end', () => (sourceEnded = true));
          socket.resume();
        })(),
      );
      await target.run(parseDeparture(first), stream);
    } catch (err) {
      await answer(socket, { error: errorInfo(err, MoveErrorCode.MOVE_RECEIVE_FAILED) });
      throw err;
    }
    // The source closes once it has read the answer: only an end before it means it has gone.
    const delivered = !sourceEnded && (await answer(socket, { ok: true }));
    if (!delivered) {
      const reason = new MoveError(MoveErrorCode.MOVE_TRANSFER_FAILED, 'the source went away before it had the answer that the VM runs here');
      await target.undo(reason);
      throw reason;
    }
  } finally {
    deadline();
    stream?.destroy();
    socket.destroy();
  }
}

function parseDeparture(frame: Buffer): LiveDeparture {
  try {
    return departureSchema.parse(JSON.parse(frame.toString('utf8')));
  } catch (cause) {
    throw new MoveError(MoveErrorCode.MOVE_PROTOCOL_VIOLATION, "the source's first frame is not a departure ({state, diskBytes})", { cause });
  }
}

/** `head` as its own chunk (so its own frame), then the chunks of `rest`. */
async function* headed(head: Buffer, rest: AsyncIterable<Buffer>): AsyncGenerator<Buffer> {
  yield head;
  yield* rest;
}

/** The migration's failure, saying why the target's word that it runs the VM never came. */
function withReason(failure: unknown, ranFailure: Error | undefined): unknown {
  if (!ranFailure || !(failure instanceof Error)) return failure;
  const code = (failure as { code?: unknown }).code;
  return new MoatError(typeof code === 'string' ? code : MoveErrorCode.MOVE_TRANSFER_FAILED, `${failure.message} (${ranFailure.message})`, { cause: failure });
}
