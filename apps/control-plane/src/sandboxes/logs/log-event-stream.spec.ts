import { describe, expect, it } from '@jest/globals';
import { LogEventStream } from './log-event-stream';

const TIME = Date.parse('2026-01-02T15:04:05.006Z');

describe('LogEventStream', () => {
  it('writes an entry as an event named by its stream, with its seq as id and its time and text as JSON on one line', () => {
    const events = new LogEventStream();
    expect(events.entry({ seq: 42, timeMs: TIME, stream: 'stderr', data: Buffer.from('line one\nline "two"\r\n') })).toBe(
      'id: 42\nevent: stderr\ndata: {"time":"2026-01-02T15:04:05.006Z","text":"line one\\nline \\"two\\"\\r\\n"}\n\n',
    );
  });

  it('joins a UTF-8 character split between two chunks of the same stream, whatever the other stream wrote between', () => {
    const events = new LogEventStream();
    const euro = Buffer.from('€');
    const texts = [
      events.entry({ seq: 1, timeMs: TIME, stream: 'stdout', data: euro.subarray(0, 1) }),
      events.entry({ seq: 2, timeMs: TIME, stream: 'stderr', data: Buffer.from('x') }),
      events.entry({ seq: 3, timeMs: TIME, stream: 'stdout', data: euro.subarray(1) }),
    ].map((event) => (JSON.parse(event.split('data: ')[1]) as { text: string }).text);
    expect(texts).toEqual(['', 'x', '€']);
  });

  it('ends with an end event that carries data, so browsers dispatch it', () => {
    expect(new LogEventStream().end()).toBe('event: end\ndata: {}\n\n');
    expect(new LogEventStream().comment('3 entries dropped')).toBe(': 3 entries dropped\n\n');
  });
});
