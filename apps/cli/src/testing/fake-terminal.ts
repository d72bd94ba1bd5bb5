import type { OutputStream, WindowSize } from '@moat/sdk';
import type { EndingSignal, Terminal } from '../attach/terminal';

export interface FakeTerminalOptions {
  /** Whether stdin is a terminal (default false: piped). */
  stdinIsTty?: boolean;
  /** stdout's window size; undefined when stdout is not a terminal. */
  size?: WindowSize;
}

/**
 * A terminal for tests of moat attach: the test types (or pipes) input, resizes the window and
 * sends signals; output goes where the test's CLI run collects it; raw mode is recorded.
 */
export class FakeTerminal implements Terminal {
  readonly stdinIsTty: boolean;
  /** Every change of raw mode, in order. */
  readonly rawModes: boolean[] = [];
  private window?: WindowSize;
  private reader?: { onData: (chunk: Uint8Array) => Promise<void>; onEnd: () => void };
  private readonly resizeListeners = new Set<() => void>();
  private readonly signalListeners = new Set<(signal: EndingSignal) => void>();
  private written: (stream: OutputStream, text: string) => void = () => undefined;

  constructor({ stdinIsTty = false, size }: FakeTerminalOptions = {}) {
    this.stdinIsTty = stdinIsTty;
    this.window = size;
  }

  /** Where output goes: runMoat collects it with what the CLI prints as text. */
  writeTo(written: (stream: OutputStream, text: string) => void): void {
    this.written = written;
  }

  /** Whether moat is reading stdin now. */
  get reading(): boolean {
    return this.reader !== undefined;
  }

  /** Types or pipes `text`, resolving once moat has taken it (sent it on). */
  async type(text: string): Promise<void> {
    await this.reader?.onData(new TextEncoder().encode(text));
  }

  /** End of file on stdin. */
  endInput(): void {
    this.reader?.onEnd();
  }

  resize(size: WindowSize): void {
    this.window = size;
    for (const listener of this.resizeListeners) listener();
  }

  signal(signal: EndingSignal): void {
    for (const listener of this.signalListeners) listener(signal);
  }

  size(): WindowSize | undefined {
    return this.window;
  }

  setRawMode(raw: boolean): void {
    this.rawModes.push(raw);
  }

  read(onData: (chunk: Uint8Array) => Promise<void>, onEnd: () => void): () => void {
    this.reader = { onData, onEnd };
    return () => (this.reader = undefined);
  }

  write(stream: OutputStream, data: Uint8Array): Promise<void> {
    this.written(stream, Buffer.from(data).toString());
    return Promise.resolve();
  }

  onResize(listener: () => void): () => void {
    this.resizeListeners.add(listener);
    return () => this.resizeListeners.delete(listener);
  }

  onSignal(listener: (signal: EndingSignal) => void): () => void {
    this.signalListeners.add(listener);
    return () => this.signalListeners.delete(listener);
  }
}
