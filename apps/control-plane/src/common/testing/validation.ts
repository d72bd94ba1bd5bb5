// Test support (not built into the app): a DTO through the app's validation pipe, as a request body would go.
import { expect } from '@jest/globals';
import { ErrorCode } from '../api.error';
import { createValidationPipe } from '../validation.pipe';

const pipe = createValidationPipe();

/** The body validated and transformed into `metatype`, as a controller would receive it. */
export function validated<T>(metatype: new () => T, body: object): Promise<T> {
  return pipe.transform(body, { type: 'body', metatype }) as Promise<T>;
}

/** The message of the 400 a body gets; fails the test if it is accepted. */
export async function refusal<T>(metatype: new () => T, body: object): Promise<string> {
  const error: unknown = await validated(metatype, body).then(
    () => undefined,
    (err: unknown) => err,
  );
  expect({ body, error }).toMatchObject({ error: { code: ErrorCode.VALIDATION_FAILED } });
  return (error as Error).message;
}
