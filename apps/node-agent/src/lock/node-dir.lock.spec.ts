import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from '@jest/globals';
import { lockNodeDir } from './node-dir.lock';

describe('lockNodeDir', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'node-dir-lock-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('refuses a second agent on the same data dir, naming the first, until the first lets go', async () => {
    const first = await lockNodeDir(dir);
    await expect(lockNodeDir(dir)).rejects.toMatchObject({
      code: 'NODE_DIR_IN_USE',
      message: `another node agent (pid ${process.pid}) is running on ${dir}: one node agent per data dir (MOAT_DATA_DIR)`,
    });
    await first.release();
    await (await lockNodeDir(dir)).release();
  });

  it('lets agents on different data dirs run side by side', async () => {
    const other = mkdtempSync(join(tmpdir(), 'node-dir-lock-'));
    try {
      const locks = await Promise.all([lockNodeDir(dir), lockNodeDir(other)]);
      await Promise.all(locks.map((lock) => lock.release()));
    } finally {
      rmSync(other, { recursive: true, force: true });
    }
  });
});
