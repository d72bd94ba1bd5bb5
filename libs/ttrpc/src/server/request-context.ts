import { TtrpcError } from '../errors/ttrpc.error';
import type { Request } from '../generated/ttrpc';
import { fromKeyValues, type Metadata } from '../wire/metadata';

/** What a method handler knows of its request besides the payload. */
export interface RequestContext {
  /** The request's metadata. */
  readonly metadata: Metadata;
  /** When the client stops waiting (ms since the epoch, like `Date.now()`); undefined when it set no timeout. */
  readonly deadline: number | undefined;
  /**
   * Aborted at the deadline (its reason a DEADLINE_EXCEEDED TtrpcError) or when the connection
   * closes (CANCELLED). A handler that throws `signal.reason` answers with that status.
   */
  readonly signal: AbortSignal;
}

/** The longest delay a Node timer takes (about 24.8 days); a longer one would fire at once. */
const MAX_TIMER_DELAY_MS = 2 ** 31 - 1;

/**
 * The context of one request (ttrpc-go's `getRequestContext`): its metadata, and its deadline
 * from `timeout_nano` (0 is none; a negative one has passed already). `connection` aborts when
 * the connection closes. Call `release` once the handler has finished.
 */
export function openRequestContext(request: Request, connection: AbortSignal): { context: RequestContext; release: () => void } {
  const expiry = new AbortController();
  let timer: NodeJS.Timeout | undefined;
  let deadline: number | undefined;
  if (request.timeoutNano !== 0n) {
    const timeoutMs = Number(request.timeoutNano / 1_000_000n);
    deadline = Date.now() + timeoutMs;
    // A deadline beyond a timer's reach is reported but not enforced: weeks away, it never matters.
    if (timeoutMs <= MAX_TIMER_DELAY_MS) {
      timer = setTimeout(() => expiry.abort(new TtrpcError('DEADLINE_EXCEEDED', 'context deadline exceeded')), timeoutMs);
    }
  }
  const context = { metadata: fromKeyValues(request.metadata), deadline, signal: AbortSignal.any([expiry.signal, connection]) };
  return { context, release: () => clearTimeout(timer) };
}
