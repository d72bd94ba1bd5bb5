import type { AttachExit, AttachSession } from '@moat/sdk';
import { DetachKeyScanner } from './detach-keys';
import type { EndingSignal, Terminal } from './terminal';

/** How an attachment ended: the process exited, the user detached, or moat itself was signalled. */
export type RelayEnd = { exit: AttachExit } | { detached: true } | { signal: EndingSignal };

export interface RelayOptions {
  /** A TTY session on a terminal stdin: raw mode, window size, detach keys. */
  raw: boolean;
  /** The detach sequence (empty: none); watched for in raw mode only, piped bytes being data. */
  detachKeys: Uint8Array;
}

/**
 * Joins the terminal to a started session until it ends: stdin to the process (and its end of
 * file), the process's output to stdout and stderr (each chunk written before the next is taken,
 * so a slow terminal slows the process), the window size in raw mode. Whatever ends it, the
 * terminal leaves raw mode and the session is closed (which kills a process still running).
 */
export async function relay(session: AttachSession, terminal: Terminal, { raw, detachKeys }: RelayOptions): Promise<RelayEnd> {
  const stops: Array<() => void> = [];
  try {
    if (raw) {
      terminal.setRawMode(true);
      stops.push(() => terminal.setRawMode(false));
    }
    return await new Promise<RelayEnd>((resolve, reject) => {
      const printed = (async () => {
        for await (const { stream, data } of session.output) await terminal.write(stream, data);
      })();
      // The exit comes once the last output was taken; waiting for `printed` too lets it reach the terminal.
      Promise.all([session.exit, printed]).then(([exit]) => resolve({ exit }), reject);
      stops.push(terminal.onSignal((signal) => resolve({ signal })));
      if (raw) stops.push(terminal.onResize(() => resizeTo(session, terminal)));
      const scanner = new DetachKeyScanner(raw ? detachKeys : new Uint8Array());
      const stopReading = terminal.read(
        async (chunk) => {
          const { forward, detach } = scanner.scan(chunk);
          if (detach) return resolve({ detached: true });
          // Input the session no longer takes is dropped: its end (an exit, or an error) is what the user needs to hear of.
          if (forward.length > 0) await session.write(forward).catch(() => stopReading());
        },
        () => void session.end().catch(() => undefined),
      );
      stops.push(() => stopReading());
    });
  } finally {
    for (const stop of stops.reverse()) stop();
    session.close();
  }
}

/** Tells the session the terminal's size, if stdout is a terminal. */
function resizeTo(session: AttachSession, terminal: Terminal): void {
  const size = terminal.size();
  if (size) session.resize(size);
}
