import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from '@jest/globals';
import { CgroupReader } from './cgroup.reader';

describe('CgroupReader', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'cgroup-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('lists the member pids ascending, at most the limit', async () => {
    writeFileSync(join(dir, 'cgroup.procs'), '812\n7\n64\n\n');
    await expect(new CgroupReader(dir).pids(10)).resolves.toEqual([7, 64, 812]);
    await expect(new CgroupReader(dir).pids(2)).resolves.toEqual([7, 64]);
  });

  it('lists none of a cgroup that is gone', async () => {
    await expect(new CgroupReader(join(dir, 'gone')).pids(10)).resolves.toEqual([]);
  });
});
