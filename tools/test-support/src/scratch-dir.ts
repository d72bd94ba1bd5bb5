import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll } from '@jest/globals';

/** Makes fresh empty dirs under the OS temp dir (`make(prefix)`). */
export type ScratchDirs = (prefix: string) => string;

/**
 * Scratch dirs for the enclosing describe block (or spec file): call it there, where Jest takes
 * hooks, and every dir it made is removed once that block's tests are done.
 */
export function scratchDirs(): ScratchDirs {
  const made: string[] = [];
  afterAll(() => {
    for (const dir of made.splice(0)) rmSync(dir, { recursive: true, force: true });
  });
  return (prefix) => {
    const dir = mkdtempSync(join(tmpdir(), prefix));
    made.push(dir);
    return dir;
  };
}
