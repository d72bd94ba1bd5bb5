import type { LogEntryDto } from '@moat/proto';

/**
 * The `text/event-stream` representation of a sandbox's logs: one event per entry, named by its
 * stream, `id` its seq (so a reconnecting EventSource resumes with `Last-Event-ID`), `data` a
 * JSON object `{time, text}`; and a last `end` event once the process's output has ended.
 */
export class LogEventStream {
  // One decoder per stream, so a UTF-8 character split between two chunks comes out whole.
  private readonly decoders = { stdout: new TextDecoder(), stderr: new TextDecoder() };

  entry({ seq, timeMs, stream, data }: LogEntryDto): string {
    const text = this.decoders[stream].decode(data, { stream: true });
    return `id: ${seq}\nevent: ${stream}\ndata: ${JSON.stringify({ time: new Date(timeMs).toISOString(), text })}\n\n`;
  }

  /** A browser dispatches no event without data, hence the empty object. */
  end(): string {
    return 'event: end\ndata: {}\n\n';
  }

  /** Ignored by clients: tells what was lost, or keeps an idle connection alive through proxies. */
  comment(text: string): string {
    return `: ${text}\n\n`;
  }
}
