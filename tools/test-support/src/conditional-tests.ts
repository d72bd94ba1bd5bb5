import { describe, it } from '@jest/globals';

/** `it` when `condition` holds, else `it.skip`: for tests that need something the host may lack (root, a database, a guest image). */
export function itIf(condition: boolean): typeof it.skip {
  return condition ? it : it.skip;
}

/** `describe` when `condition` holds, else `describe.skip`. */
export function describeIf(condition: boolean): typeof describe.skip {
  return condition ? describe : describe.skip;
}
