import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from '@jest/globals';
import { FileLock, FileLockErrorCode } from './file-lock';

describe('FileLock', () => {
  let dir: string;
  let file: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'file-lock-'));
    file = join(dir, 'agent.lock');
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('lets one holder in at a time, names it to the one refused, and lets the next in once it is released', async () => {
    const first = await FileLock.acquire(file);
    expect(readFileSync(file, 'utf8')).toBe(`${process.pid}\n`);
    await expect(FileLock.acquire(file)).rejects.toMatchObject({ code: FileLockErrorCode.LOCK_HELD, context: { path: file, holderPid: process.pid } });
    await first.release();
    const second = await FileLock.acquire(file);
    await second.release();
  });

  it('takes over a lock file whose holder died, even one naming a pid that is alive again', async () => {
    // What a killed agent leaves: the file with its pid, no lock. Pid 1 is always alive.
    writeFileSync(file, '1\n');
    const lock = await FileLock.acquire(file);
    expect(readFileSync(file, 'utf8')).toBe(`${process.pid}\n`);
    await lock.release();
  });

  it('is refused while another process holds the lock, and free once that process is killed', async () => {
    // One process holding the same flock(2) lock (util-linux flock(1) on a descriptor the shell then
    // hands to sleep). It waits for the lock, since our probes below hold it for a moment each.
    const holder = spawn('sh', ['-c', 'exec 9<>"$0" && flock 9 && exec sleep 60', file], { stdio: 'ignore' });
    const exited = new Promise((resolve) => holder.once('exit', resolve));
    try {
      await waitFor(async () => {
        const attempt = await FileLock.acquire(file).catch((error: unknown) => error);
        if (attempt instanceof FileLock) await attempt.release();
        return !(attempt instanceof FileLock);
      });
      await expect(FileLock.acquire(file)).rejects.toMatchObject({ code: FileLockErrorCode.LOCK_HELD });
    } finally {
      holder.kill('SIGKILL');
      await exited;
    }
    const lock = await FileLock.acquire(file);
    await lock.release();
  }, 15_000);
});

async function waitFor(done: () => Promise<boolean>, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await done())) {
    if (Date.now() > deadline) throw new Error('timed out');
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}
