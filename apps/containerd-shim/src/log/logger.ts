export type LogFields = Readonly<Record<string, unknown>>;

export interface Logger {
  debug(message: string, fields?: LogFields): void;
  info(message: string, fields?: LogFields): void;
  warn(message: string, fields?: LogFields): void;
  error(message: string, fields?: LogFields): void;
  /** A logger that adds `fields` to every line. */
  with(fields: LogFields): Logger;
}

type Level = 'debug' | 'info' | 'warn' | 'error';

export interface LoggerOptions {
  /** Where each line goes (the daemon's stderr: containerd's `log` FIFO in the bundle, or a file). */
  write: (line: string) => void;
  /** Whether debug lines are written (containerd passes `-debug` when it logs at debug level). */
  debug: boolean;
}

/**
 * One logrus-style text line per entry (`time="…" level=info msg="…" key=value`), the format of
 * containerd's own shims: containerd copies the shim's log into its own.
 */
export function createLogger(options: LoggerOptions, base: LogFields = {}): Logger {
  const emit = (level: Level, message: string, fields: LogFields = {}): void => {
    if (level === 'debug' && !options.debug) return;
    const parts = [`time=${quote(new Date().toISOString())}`, `level=${level === 'warn' ? 'warning' : level}`, `msg=${quote(message)}`];
    for (const [key, value] of Object.entries({ ...base, ...fields })) {
      if (value !== undefined) parts.push(`${key}=${quote(render(value))}`);
    }
    options.write(`${parts.join(' ')}\n`);
  };
  return {
    debug: (message, fields) => emit('debug', message, fields),
    info: (message, fields) => emit('info', message, fields),
    warn: (message, fields) => emit('warn', message, fields),
    error: (message, fields) => emit('error', message, fields),
    with: (fields) => createLogger(options, { ...base, ...fields }),
  };
}

function render(value: unknown): string {
  if (value instanceof Error) {
    const code = (value as { code?: unknown }).code;
    return typeof code === 'string' ? `${code}: ${value.message}` : value.message;
  }
  return typeof value === 'string' ? value : JSON.stringify(value) ?? String(value);
}

function quote(text: string): string {
  return /^[\w./:@+-]+$/.test(text) ? text : JSON.stringify(text);
}
