import { describe, expect, it } from '@jest/globals';
import { parseEventStream, type ServerSentEvent } from './sse.parser';

/** A body that arrives in these pieces (strings as UTF-8, or raw bytes). */
function bodyOf(...pieces: Array<string | Uint8Array>): ReadableStream<Uint8Array> {
  return new ReadableStream({
    start(controller) {
      for (const piece of pieces) controller.enqueue(typeof piece === 'string' ? new TextEncoder().encode(piece) : piece);
      controller.close();
    },
  });
}

async function eventsOf(body: ReadableStream<Uint8Array>): Promise<ServerSentEvent[]> {
  const events: ServerSentEvent[] = [];
  for await (const event of parseEventStream(body)) events.push(event);
  return events;
}

describe('parseEventStream', () => {
  it('gives named events with their data and the last id, skipping comments', async () => {
    const events = await eventsOf(bodyOf(': hello\n\nid: 7\nevent: stdout\ndata: {"a":1}\n\nevent: end\ndata: {}\n\n'));
    expect(events).toEqual([
      { event: 'stdout', data: '{"a":1}', id: '7' },
      { event: 'end', data: '{}', id: '7' },
    ]);
  });

  it('joins data lines, calls an unnamed event message, and takes a field without a space or value', async () => {
    expect(await eventsOf(bodyOf('data:one\ndata: two\ndata\n\n'))).toEqual([{ event: 'message', data: 'one\ntwo\n' }]);
  });

  it('takes CRLF, LF and CR line ends, even split between chunks, and UTF-8 split between chunks', async () => {
    const euro = new TextEncoder().encode('€');
    const events = await eventsOf(bodyOf('event: a\r', '\ndata: 1\r\n\r', '\nevent: b\rdata: ', euro.subarray(0, 2), euro.subarray(2), '\r\r'));
    expect(events).toEqual([
      { event: 'a', data: '1' },
      { event: 'b', data: '€' },
    ]);
  });

  it('dispatches nothing for an event without data, nor for one cut off by the end of the stream', async () => {
    expect(await eventsOf(bodyOf('event: lonely\n\ndata:\n\ndata: unfinished\n'))).toEqual([]);
  });

  it('cancels the body when the consumer stops early', async () => {
    let cancelled = false;
    const body = new ReadableStream<Uint8Array>({
      pull(controller) {
        controller.enqueue(new TextEncoder().encode('data: x\n\n'));
      },
      cancel() {
        cancelled = true;
      },
    });
    for await (const event of parseEventStream(body)) {
      expect(event.data).toBe('x');
      break;
    }
    expect(cancelled).toBe(true);
  });
});
