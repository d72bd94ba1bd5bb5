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

export const logEntrySchema = z.object({
  seq,
  /** When the node read it (ms since the epoch). */
  timeMs: z.number().int().nonnegative(),
  stream: outputStreamSchema,
  data: z.custom<Uint8Array<ArrayBufferLike>>((value) => value instanceof Uint8Array),
});
export type LogEntryDto = z.infer<typeof logEntrySchema>;

export const sandboxLogsPageSchema = z.object({
  entries: z
    .array(logEntrySchema)
    .refine((entries) => entries.reduce((bytes, entry) => bytes + entry.data.length, 0) <= MAX_LOGS_PAGE_BYTES, `a page may hold at most ${MAX_LOGS_PAGE_BYTES} bytes`),
  /** Where the next request goes on from (its `after`). */
  cursor: seq,
  /** The process's output has ended and this page holds the last of it. */
  ended: z.boolean(),
  /** Entries lost to the node's bound between the request's cursor and this page. */
  dropped: z.number().int().positive().optional(),
});
export type SandboxLogsPage = z.infer<typeof sandboxLogsPageSchema>;
