import { describe, expect, it } from '@jest/globals';
import { appendLog, EMPTY_LOG_VIEW, type LogView } from './log-view';

const append = (view: LogView, ...chunks: Array<[stream: 'stdout' | 'stderr', text: string]>) =>
  chunks.reduce((current, [stream, text]) => appendLog(current, { stream, text }, 10), view);

describe('appendLog', () => {
  it('joins chunks of the same stream and starts a run where the stream changes', () => {
    const view = append(EMPTY_LOG_VIEW, ['stdout', 'a'], ['stdout', 'b'], ['stderr', 'E'], ['stdout', 'c']);
    expect(view.runs).toEqual([
      { key: 0, stream: 'stdout', text: 'ab' },
      { key: 1, stream: 'stderr', text: 'E' },
      { key: 2, stream: 'stdout', text: 'c' },
    ]);
  });

  it('keeps at most the bound, trimming the oldest output first and counting what it trimmed', () => {
    const view = append(EMPTY_LOG_VIEW, ['stdout', '0123'], ['stderr', '4567'], ['stdout', '89ab']);
    expect(view.runs.map((run) => run.text).join('')).toBe('23456789ab');
    expect(view.trimmed).toBe(2);
    const later = append(view, ['stdout', 'cdefgh']);
    expect(later.runs).toEqual([{ key: 2, stream: 'stdout', text: '89abcdefgh' }]);
    expect(later.trimmed).toBe(8);
  });

  it('ignores empty chunks (a character split between chunks arrives with the next)', () => {
    expect(append(EMPTY_LOG_VIEW, ['stdout', ''])).toBe(EMPTY_LOG_VIEW);
  });
});
