import { createLogger, type Logger } from '../log/logger';

/** A logger that drops everything, for tests. */
export const SILENT_LOGGER: Logger = createLogger({ write: () => undefined, debug: false });
