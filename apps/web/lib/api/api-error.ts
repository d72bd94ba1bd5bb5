import { MoatApiError } from '@moat/sdk';

/** The message to show a person for any error thrown while talking to the API. */
export function describeError(error: unknown): string {
  if (error instanceof MoatApiError) return error.message;
  // fetch rejects with a TypeError when the API cannot be reached at all (down, CORS, DNS).
  if (error instanceof TypeError) return 'Cannot reach the Moat API. Check that the control plane is running.';
  return error instanceof Error ? error.message : String(error);
}
