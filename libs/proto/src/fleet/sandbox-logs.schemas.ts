/**
 * `sandbox:logs`: the control plane pulls a page of a sandbox's main-process output from its
 * node (pull, not push, so any control-plane replica can serve a follower). A follower repeats
 * the request with the page's `cursor` as `after`, and `waitMs` to have the node wait for more.
 */
import { z } from 'zod';
import { MAX_LOGS_PAGE_BYTES, MAX_LOGS_TAIL_LINES, MAX_LOGS_WAIT_MS } from '../limits/logs.limits';
import { outputStreamSchema } from './session.schemas';

const seq = z.number().int().nonnegative();

export const sandboxLogsRequestSchema = z.object({
  sandboxId: z.string().uuid(),
  /** Only entries after this cursor (a previous page's `cursor`, or an entry's `seq`). */
  after: seq.optional(),
  /** Only entries the node read at or after this time (ms since the epoch). */
  sinceMs: z.number().int().nonnegative().optional(),
  /** Only the last this many lines (of what `after` and `sinceMs` leave). */
  tail: z.number().int().min(0).max(MAX_LOGS_TAIL_LINES).optional(),
  /** When there is nothing yet, wait up to this long for output before answering. */
  waitMs: z.number().int().min(0).max(MAX_LOGS_WAIT_MS).optional(),
});
export type SandboxLogsRequest = z.infer<typeof sandboxLogsRequestSchema>;

/** One chunk of output, as the control plane gets it. */
export interface LogEntryDto {
  seq: number;
  /** When the node read it (ms since the epoch). */
  timeMs: number;
  stream: z.infer<typeof outputStreamSchema>;
  data: Uint8Array;
}

/** A page of output, as the control plane gets it. */
export interface SandboxLogsPage {
  entries: LogEntryDto[];
  /** Where the next request goes on from (its `after`). */
  cursor: number;
  /** The process's output has ended and this page holds the last of it. */
  ended: boolean;
  /** Entries lost to the node's bound between the request's cursor and this page. */
  dropped?: number;
}

/**
 * A page on the wire: every entry's bytes in one buffer, each entry saying how many are its own.
 * One binary attachment per message whatever the number of entries: socket.io refuses a packet
 * of more than 10 (and drops the connection that sent it).
 */
export const sandboxLogsWireSchema = z
  .object({
    entries: z.array(z.object({ seq, timeMs: z.number().int().nonnegative(), stream: outputStreamSchema, bytes: z.number().int().nonnegative() })),
    data: z.custom<Uint8Array<ArrayBufferLike>>((value) => value instanceof Uint8Array),
    cursor: seq,
    ended: z.boolean(),
    dropped: z.number().int().positive().optional(),
  })
  .refine((page) => page.data.length <= MAX_LOGS_PAGE_BYTES, `a page may hold at most ${MAX_LOGS_PAGE_BYTES} bytes`)
  .refine((page) => page.entries.reduce((bytes, entry) => bytes + entry.bytes, 0) === page.data.length, "the entries' sizes must add up to the data");
export type SandboxLogsWire = z.infer<typeof sandboxLogsWireSchema>;

/** The page as the node sends it. */
export function packLogsPage({ entries, cursor, ended, dropped }: SandboxLogsPage): SandboxLogsWire {
  const data = new Uint8Array(entries.reduce((bytes, entry) => bytes + entry.data.length, 0));
  let at = 0;
  for (const entry of entries) {
    data.set(entry.data, at);
    at += entry.data.length;
  }
  return {
    entries: entries.map(({ seq: entrySeq, timeMs, stream, data: bytes }) => ({ seq: entrySeq, timeMs, stream, bytes: bytes.length })),
    data,
    cursor,
    ended,
    ...(dropped !== undefined && { dropped }),
  };
}

/** The page as the control plane reads it (views into the one buffer, no copies). */
export function unpackLogsPage({ entries, data, cursor, ended, dropped }: SandboxLogsWire): SandboxLogsPage {
  let at = 0;
  return {
    entries: entries.map(({ seq: entrySeq, timeMs, stream, bytes }) => {
      const entry = { seq: entrySeq, timeMs, stream, data: data.subarray(at, at + bytes) };
      at += bytes;
      return entry;
    }),
    cursor,
    ended,
    ...(dropped !== undefined && { dropped }),
  };
}
