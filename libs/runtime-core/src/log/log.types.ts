export type LogLevel = 'debug' | 'info' | 'warn' | 'error';

/** Where the runtime's diagnostics go (the node agent's logger); structured fields ride along. */
export type Log = (level: LogLevel, msg: string, fields?: Record<string, unknown>) => void;
