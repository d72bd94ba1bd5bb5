import type { OutputStream, WindowSize } from '@moat/sdk';

/** The signals `moat attach` ends on, tidily, instead of dying with the terminal left raw. */
const ENDING_SIGNALS = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const;
export type EndingSignal = (typeof ENDING_SIGNALS)[number];

/** What `moat attach` takes from the process's terminal and standard streams; tests give their own. */
export interface Terminal {
  /** Whether stdin is a terminal, so that it can be put in raw mode. */
  readonly stdinIsTty: boolean;
  /** The size of the terminal stdout shows on, if it is one. */
  size(): WindowSize | undefined;
  /** Raw mode: keys reach the process as typed (^C too), nothing is echoed locally. */
  setRawMode(raw: boolean): void;
  /**
   * Hands stdin's bytes to `onData` as they come, reading on only once it resolved, and calls
   * `onEnd` at end of file. Returns the function that stops reading.
   */
  read(onData: (chunk: Uint8Array) => Promise<void>, onEnd: () => void): () => void;
  /** Writes to stdout or stderr, resolving once the stream takes more. */
  write(stream: OutputStream, data: Uint8Array): Promise<void>;
  /** Calls `listener` after the window changed size (SIGWINCH). Returns the function that stops it. */
  onResize(listener: () => void): () => void;
  /** Calls `listener` on an ending signal instead of dying of it. Returns the function that stops it. */
  onSignal(listener: (signal: EndingSignal) => void): () => void;
}

/**
 * The process's own terminal. Its streams are taken only when used: Node opens stdin on first
 * access, and every command but attach leaves it alone.
 */
export function processTerminal(): Terminal {
  const { stdout, stderr } = process;
  return {
    get stdinIsTty() {
      return process.stdin.isTTY === true;
    },
    size: () => (stdout.isTTY ? { rows: stdout.rows, cols: stdout.columns } : undefined),
    setRawMode: (raw) => {
      if (process.stdin.isTTY) process.stdin.setRawMode(raw);
    },
    read: (onData, onEnd) => {
      const { stdin } = process;
      let reading = true;
      const data = (chunk: Buffer): void => {
        stdin.pause();
        void onData(chunk).finally(() => {
          if (reading) stdin.resume();
        });
      };
      stdin.on('data', data).once('end', onEnd);
      return () => {
        reading = false;
        stdin.off('data', data).off('end', onEnd);
        // A paused stdin no longer holds the process open.
        stdin.pause();
      };
    },
    write: (stream, data) =>
      new Promise((resolve) => {
        const target = stream === 'stdout' ? stdout : stderr;
        if (target.write(data)) resolve();
        else target.once('drain', resolve);
      }),
    onResize: (listener) => {
      // stdout's `resize` comes after Node has read the new size on SIGWINCH, which a listener of the signal itself might not see yet.
      stdout.on('resize', listener);
      return () => stdout.off('resize', listener);
    },
    onSignal: (listener) => {
      for (const signal of ENDING_SIGNALS) process.on(signal, listener);
      return () => {
        for (const signal of ENDING_SIGNALS) process.off(signal, listener);
      };
    },
  };
}
