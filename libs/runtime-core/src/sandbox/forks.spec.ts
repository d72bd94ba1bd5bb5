import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from '@jest/globals';
import { eventually } from '@moat/test-support';
import { RuntimeErrorCode } from '../errors/runtime.errors';
import { SandboxForks } from './forks';
import type { SandboxEntry } from './model/sandbox.entry';
import { newSandboxState, sandboxPaths } from './model/sandbox.state';

const SOURCE = '0b5e7a4c-1d2f-4a3b-8c9d-0e1f2a3b4c5d';
const FORK = { sandboxId: SOURCE, forkId: '9f0c1d2e-0000-4000-8000-000000000001', count: 2 };

describe('SandboxForks', () => {
  let dir: string;
  let captures: number;
  let entries: Map<string, SandboxEntry>;
  const forks = (ttlMs?: number) =>
    new SandboxForks(
      entries,
      {
        capture: async (_vm, saved, disk) => {
          captures++;
          await writeFile(saved.state, 'state');
          await writeFile(disk.to, 'disk');
        },
      },
      { vmm: () => ({}) },
      dir,
      () => undefined,
      ttlMs,
    );

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'forks-'));
    captures = 0;
    const state = newSandboxState(
      { id: SOURCE, vcpus: 1, memoryMiB: 256, env: {}, rootfs: 'block' },
      { accel: 'tcg', transport: 'virtio-serial', sharedFsKind: 'block', paths: sandboxPaths(dir, join(dir, 'run'), SOURCE, join(dir, 'shm')) },
    );
    entries = new Map([[SOURCE, { phase: 'running', state: { ...state, vmmPid: 42, sharedFs: { kind: 'block', attachment: { kind: 'block', imagePath: join(dir, 'disk') } } } }]]);
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it("captures once for the fork's clones and removes the capture after the last", async () => {
    const taken = forks();
    const [a, b] = await Promise.all([taken.capture(FORK), taken.capture(FORK)]);
    expect(a).toBe(b);
    expect(captures).toBe(1);
    await taken.done(FORK);
    expect(existsSync(a.stateFile)).toBe(true);
    await taken.done(FORK);
    expect(existsSync(join(dir, 'forks', FORK.forkId))).toBe(false);
  });

  it('removes a capture whose clones never all came, after its time', async () => {
    const { stateFile } = await forks(20).capture(FORK);
    expect(existsSync(stateFile)).toBe(true);
    await eventually(() => expect(existsSync(join(dir, 'forks', FORK.forkId))).toBe(false), { timeout: 2_000 });
  });

  it('refuses a source that is not running, or whose VM cannot be saved', async () => {
    await expect(forks().capture({ ...FORK, sandboxId: '1b5e7a4c-1d2f-4a3b-8c9d-0e1f2a3b4c5d' })).rejects.toMatchObject({ code: RuntimeErrorCode.FORK_FAILED });
    const source = entries.get(SOURCE)!;
    source.state.sharedFsKind = 'virtiofs';
    await expect(forks().capture(FORK)).rejects.toThrow(/only a rootfs: block sandbox/);
    expect(captures).toBe(0);
  });
});
