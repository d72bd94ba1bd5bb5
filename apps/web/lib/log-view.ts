import type { LogChunk } from '@moat/sdk';

/** One run of output of one stream, as the logs panel shows it. */
export interface LogRun {
  /** Stable across appends, for React's keys. */
  key: number;
  stream: LogChunk['stream'];
  text: string;
}

/** What the logs panel holds: its runs, and the key the next one gets. */
export interface LogView {
  runs: LogRun[];
  nextKey: number;
  /** Characters dropped from the start to stay within the bound. */
  trimmed: number;
}

export const EMPTY_LOG_VIEW: LogView = { runs: [], nextKey: 0, trimmed: 0 };

/**
 * The panel's bound: characters of output kept in the DOM. A chatty process would otherwise
 * grow the page without limit; the start is trimmed, as the node's ring trims its own.
 */
export const MAX_LOG_VIEW_CHARS = 200_000;

/**
 * Adds `chunk` to the view: joined to the last run when it is of the same stream (so the DOM
 * holds one element per change of stream, not per chunk), then trimmed from the start to `maxChars`.
 */
export function appendLog(view: LogView, chunk: Pick<LogChunk, 'stream' | 'text'>, maxChars = MAX_LOG_VIEW_CHARS): LogView {
  if (chunk.text === '') return view;
  const last = view.runs.at(-1);
  const runs =
    last && last.stream === chunk.stream
      ? [...view.runs.slice(0, -1), { ...last, text: last.text + chunk.text }]
      : [...view.runs, { key: view.nextKey, stream: chunk.stream, text: chunk.text }];
  let excess = runs.reduce((chars, run) => chars + run.text.length, 0) - maxChars;
  let trimmed = view.trimmed;
  while (excess > 0 && runs.length > 0) {
    const first = runs[0];
    if (first.text.length <= excess) {
      runs.shift();
      excess -= first.text.length;
      trimmed += first.text.length;
    } else {
      runs[0] = { ...first, text: first.text.slice(excess) };
      trimmed += excess;
      excess = 0;
    }
  }
  return { runs, nextKey: last && last.stream === chunk.stream ? view.nextKey : view.nextKey + 1, trimmed };
}
