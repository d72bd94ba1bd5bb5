import { MAX_LOGS_PAGE_BYTES, packLogsPage, type SandboxLogsRequest, type SandboxLogsWire } from '@moat/proto';
import type { LogPage, LogReader } from '@moat/runtime-core';

/** A sandbox's logs on this node (`SandboxRuntime.logs`): throws SANDBOX_NOT_FOUND or SANDBOX_NOT_RUNNING. */
export type LogSource = (sandboxId: string) => LogReader;

/**
 * Answers `sandbox:logs`: a page of the sandbox's main-process output after the request's
 * cursor. When there is nothing yet and the request may wait, it waits (at most `waitMs`) for
 * the first output or the end, so a follower's requests are long polls rather than a busy loop.
 */
export async function readSandboxLogs(source: LogSource, req: SandboxLogsRequest): Promise<SandboxLogsWire> {
  const logs = source(req.sandboxId);
  const query = { sinceMs: req.sinceMs, maxBytes: MAX_LOGS_PAGE_BYTES };
  const first = logs.read({ ...query, after: req.after, tail: req.tail });
  if (first.entries.length > 0 || first.ended || !req.waitMs) return toWire(first);
  await logs.waitForMore(first.cursor, req.waitMs);
  // `tail` chose among what was there; what arrived since comes in full.
  const next = logs.read({ ...query, after: first.cursor });
  return toWire({ ...next, dropped: (first.dropped ?? 0) + (next.dropped ?? 0) });
}

function toWire({ entries, cursor, ended, dropped }: LogPage): SandboxLogsWire {
  return packLogsPage({ entries, cursor, ended, ...(dropped !== undefined && dropped > 0 && { dropped }) });
}
