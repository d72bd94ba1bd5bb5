import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from '@jest/globals';
import { exitStatus } from './process-launcher';

describe('exitStatus', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'status-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it("reads bubblewrap's report of how the jailed process ended", async () => {
    const file = join(dir, 'vmm.status');
    await expect(exitStatus(file)).resolves.toBeUndefined();
    writeFileSync(file, '{ "child-pid": 4242 }\n');
    await expect(exitStatus(file)).resolves.toBeUndefined();
    writeFileSync(file, '{ "child-pid": 4242 }\n{ "exit-code": 137 }\n');
    await expect(exitStatus(file)).resolves.toBe('was killed by signal 9 (SIGKILL)');
    writeFileSync(file, '{ "exit-code": 1 }\n');
    await expect(exitStatus(file)).resolves.toBe('exited with status 1');
  });
});
