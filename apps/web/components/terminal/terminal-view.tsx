'use client';

import { FitAddon } from '@xterm/addon-fit';
import { Terminal } from '@xterm/xterm';
import '@xterm/xterm/css/xterm.css';
import { useEffect, useRef } from 'react';
import { connectAttach, inputQueue, startShell } from '@/lib/attach';

export type TerminalStatus = { kind: 'connecting' } | { kind: 'open' } | { kind: 'closed'; message: string };

/**
 * An xterm.js terminal on a shell in the sandbox (socket.io `/attach`). Output is written to
 * xterm before it is acknowledged, so a flood of output slows the process, not the browser.
 * Loaded only when the operator opens a terminal: xterm.js is not in any page's first load.
 */
export default function TerminalView({
  apiBase,
  token,
  sandboxId,
  onStatus,
}: {
  apiBase: string;
  token: string;
  sandboxId: string;
  onStatus: (status: TerminalStatus) => void;
}) {
  const host = useRef<HTMLDivElement>(null);

  useEffect(() => {
    const element = host.current;
    if (!element) return;
    const term = new Terminal({ cursorBlink: true, fontSize: 13, convertEol: false, scrollback: 5000 });
    const fit = new FitAddon();
    term.loadAddon(fit);
    term.open(element);
    fit.fit();
    const socket = connectAttach(apiBase, token);
    const send = inputQueue(socket, (message) => term.write(`\r\n\x1b[31m${message}\x1b[0m\r\n`));
    let started = false;

    socket.on('attach:output', ({ data }, ack) => term.write(new Uint8Array(data), () => ack(true)));
    socket.on('attach:exit', ({ exitCode }) => onStatus({ kind: 'closed', message: `The shell exited with code ${exitCode}.` }));
    socket.on('attach:error', ({ code, message }) => onStatus({ kind: 'closed', message: `${code}: ${message}` }));
    socket.on('connect_error', (error) => onStatus({ kind: 'closed', message: `Cannot connect: ${error.message}` }));
    socket.on('disconnect', () => {
      if (started) onStatus({ kind: 'closed', message: 'The connection closed.' });
    });
    socket.once('connect', () => {
      startShell(socket, sandboxId, { rows: term.rows, cols: term.cols }).then(
        () => {
          started = true;
          onStatus({ kind: 'open' });
          term.focus();
        },
        (error: unknown) => onStatus({ kind: 'closed', message: error instanceof Error ? error.message : String(error) }),
      );
    });
    const typing = term.onData(send);
    const resizing = term.onResize(({ rows, cols }) => {
      if (started) socket.emit('attach:resize', { rows, cols });
    });
    const observer = new ResizeObserver(() => fit.fit());
    observer.observe(element);

    return () => {
      observer.disconnect();
      typing.dispose();
      resizing.dispose();
      socket.close();
      term.dispose();
    };
  }, [apiBase, token, sandboxId, onStatus]);

  return <div className="terminal" ref={host} data-testid="terminal" />;
}
