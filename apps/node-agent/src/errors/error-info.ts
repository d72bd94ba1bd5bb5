import type { ErrorInfo } from '@moat/proto';

/** The longest message an ErrorInfo carries over the fleet channel. */
const MAX_MESSAGE_CHARS = 4096;

/**
 * Any failure as the fleet protocol's ErrorInfo: an error's own string `code` travels with it
 * (a RuntimeError's, say), anything else gets `fallbackCode`.
 */
export function errorInfo(err: unknown, fallbackCode = 'EXEC_FAILED'): ErrorInfo {
  if (err instanceof Error) {
    const code = (err as { code?: unknown }).code;
    return { code: typeof code === 'string' ? code : fallbackCode, message: err.message.slice(0, MAX_MESSAGE_CHARS) };
  }
  return { code: fallbackCode, message: String(err).slice(0, MAX_MESSAGE_CHARS) };
}
