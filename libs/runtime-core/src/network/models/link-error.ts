import { describeError } from '../../errors';
import { NetworkError, NetworkErrorCode } from '../network.errors';

/** Runs a plumbing step, wrapping a failure with what was being done. */
export async function linkError<T>(what: string, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (cause) {
    throw new NetworkError(NetworkErrorCode.LINK_FAILED, `${what}: ${describeError(cause)}`, { cause });
  }
}
