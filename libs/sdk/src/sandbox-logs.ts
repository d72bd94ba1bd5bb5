import type { MoatApi } from './api.types';
import { MoatApiError, MoatClientError } from './moat.error';
import { parseEventStream } from './sse.parser';

export interface LogsOptions {
  /** Keep the iteration going as the process writes, until its output ends (or `signal` aborts). */
  follow?: boolean;
  /** Only output since then: a Date, an RFC 3339 time, or a duration back from now (`10s`, `5m`, `2h`). */
  since?: Date | string;
  /** Only the last this many lines (stdout and stderr together). */
  tail?: number;
  /** Ends the request; the iteration then rejects with the signal's reason. */
  signal?: AbortSignal;
}

/** One chunk of what the sandbox's main process wrote. */
export interface LogChunk {
  stream: 'stdout' | 'stderr';
  /** When its node read it (RFC 3339). */
  time: string;
  /** The chunk, decoded as UTF-8 (invalid bytes become U+FFFD); not necessarily whole lines. */
  text: string;
}

/**
 * The sandbox's main-process output, read as `GET /v1/sandboxes/{id}/logs` server-sent events.
 * A refusal is a MoatApiError; a followed stream that breaks off before the output ended is a
 * MoatClientError `LOGS_INTERRUPTED` (a dropped connection, the sandbox deleted meanwhile).
 */
export async function* sandboxLogs(api: MoatApi, id: string, { follow, since, tail, signal }: LogsOptions = {}): AsyncGenerator<LogChunk> {
  const query = {
    ...(follow && { follow }),
    ...(since !== undefined && { since: since instanceof Date ? since.toISOString() : since }),
    ...(tail !== undefined && { tail }),
  };
  const { data, error, response } = await api.GET('/v1/sandboxes/{id}/logs', {
    params: { path: { id }, query },
    headers: { Accept: 'text/event-stream' },
    parseAs: 'stream',
    signal,
  });
  if (!response.ok || !data) throw MoatApiError.fromResponse(response.status, response.statusText, error);
  for await (const event of parseEventStream(data)) {
    if (event.event === 'end') return;
    if (event.event !== 'stdout' && event.event !== 'stderr') continue;
    const { time, text } = JSON.parse(event.data) as { time: string; text: string };
    yield { stream: event.event, time, text };
  }
  if (follow) throw new MoatClientError('LOGS_INTERRUPTED', `the logs of sandbox ${id} broke off before its output ended`);
}
