/** One server-sent event, as the WHATWG HTML standard's event stream interpretation dispatches it. */
export interface ServerSentEvent {
  /** `message` when the event names none. */
  event: string;
  /** The event's data lines, joined by `\n`. */
  data: string;
  /** The last event id the stream set, if any (it carries over to later events, as in EventSource). */
  id?: string;
}

/**
 * Parses a `text/event-stream` body into its events: lines end with CRLF, LF or CR; `:` lines
 * are comments; `data` lines accumulate; a blank line dispatches (nothing, if there was no data).
 * Written here rather than taken from a library because it is this small; it follows the
 * standard's parsing rules (§9.2.6), including a `retry` field ignored and an `id` with NUL refused.
 */
export async function* parseEventStream(body: ReadableStream<Uint8Array>): AsyncGenerator<ServerSentEvent> {
  const decoder = new TextDecoder();
  let buffer = '';
  let event = '';
  let data: string[] = [];
  let id: string | undefined;
  // A CR that ended the last chunk may be the first half of a CRLF.
  let pendingCr = false;

  const lines = function* (text: string): Generator<string> {
    let start = 0;
    for (let i = 0; i < text.length; i++) {
      const c = text[i];
      if (c !== '\n' && c !== '\r') continue;
      yield text.slice(start, i);
      if (c === '\r' && text[i + 1] === '\n') i++;
      start = i + 1;
    }
    buffer = text.slice(start);
  };

  for await (const chunk of chunksOf(body)) {
    let text = buffer + decoder.decode(chunk, { stream: true });
    if (pendingCr && buffer === '' && text.startsWith('\n')) text = text.slice(1);
    pendingCr = text.endsWith('\r');
    for (const line of lines(text)) {
      if (line === '') {
        const joined = data.join('\n');
        if (joined !== '') yield { event: event || 'message', data: joined, ...(id !== undefined && { id }) };
        event = '';
        data = [];
        continue;
      }
      if (line.startsWith(':')) continue;
      const colon = line.indexOf(':');
      const field = colon === -1 ? line : line.slice(0, colon);
      let value = colon === -1 ? '' : line.slice(colon + 1);
      if (value.startsWith(' ')) value = value.slice(1);
      switch (field) {
        case 'event':
          event = value;
          break;
        case 'data':
          data.push(value);
          break;
        case 'id':
          if (!value.includes('\0')) id = value;
          break;
      }
    }
  }
}

/**
 * The stream's chunks, read with a reader (Safari's streams are not async iterable); a consumer
 * that stops early cancels the stream, which closes the connection under it.
 */
async function* chunksOf(body: ReadableStream<Uint8Array>): AsyncGenerator<Uint8Array> {
  const reader = body.getReader();
  let done = false;
  try {
    for (;;) {
      const next = await reader.read();
      if (next.done) {
        done = true;
        return;
      }
      yield next.value;
    }
  } finally {
    if (!done) await reader.cancel().catch(() => undefined);
    reader.releaseLock();
  }
}
