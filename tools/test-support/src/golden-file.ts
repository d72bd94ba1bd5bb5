import { expect } from '@jest/globals';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';

/**
 * Asserts that `actual` is the content of the golden file `file` (relative to the test file).
 * With MOAT_UPDATE_GOLDEN=1 it (re)writes the file instead, for a reviewer to read in the diff.
 */
export function expectGoldenFile(actual: string, file: string): void {
  const { testPath } = expect.getState();
  if (!testPath) throw new Error('expectGoldenFile runs inside a Jest test only');
  const path = resolve(dirname(testPath), file);
  if (process.env.MOAT_UPDATE_GOLDEN === '1') {
    mkdirSync(dirname(path), { recursive: true });
    writeFileSync(path, actual);
    return;
  }
  if (!existsSync(path)) throw new Error(`no golden file ${path}: run the test with MOAT_UPDATE_GOLDEN=1 to write it`);
  expect(actual).toBe(readFileSync(path, 'utf8'));
}
