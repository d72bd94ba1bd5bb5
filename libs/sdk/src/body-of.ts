import { MoatApiError } from './moat.error';

/** What every call of the generated client resolves to. */
export interface Answer<T> {
  data?: T;
  error?: unknown;
  response: Response;
}

/**
 * The body of a 2xx answer to `call`, a call of the generated client; any other answer is
 * thrown as a MoatApiError: `const nodes = await bodyOf(moat.api.GET('/v1/nodes'))`.
 */
export async function bodyOf<T>(call: Promise<Answer<T>>): Promise<T> {
  const { data, error, response } = await call;
  if (!response.ok) throw MoatApiError.fromResponse(response.status, response.statusText, error);
  return data as T;
}
