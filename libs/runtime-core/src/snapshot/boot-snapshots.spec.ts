import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from '@jest/globals';
import { RuntimeError, RuntimeErrorCode } from '../errors/runtime.errors';
import type { BootSnapshotFiles, SnapshotVmConfig } from '../hypervisor/hypervisor';
import { BootSnapshots, shapeKey, type BootSnapshotsOptions, type VmShape } from './boot-snapshots';

const shape: VmShape = { accel: 'tcg', vcpus: 1, memoryMiB: 416, kernel: '/img/vmlinux', initrd: '/img/initrd.img', rootfsImage: { path: '/img/rootfs.ext4', bytes: 2 << 20 }, ninep: false };

/** Saves "snapshots" as two small files, or fails, or hangs until aborted, as told. */
class FakeSaver {
  readonly saved: SnapshotVmConfig[] = [];
  mode: 'ok' | 'fail' | 'hang' = 'ok';
  aborted = 0;

  saveBootSnapshot = (config: SnapshotVmConfig, files: BootSnapshotFiles, signal: AbortSignal): Promise<void> => {
    this.saved.push(config);
    if (this.mode === 'fail') return Promise.reject(new RuntimeError(RuntimeErrorCode.SNAPSHOT_FAILED, 'the agent never served'));
    if (this.mode === 'hang') {
      return new Promise((_, reject) => {
        const cancel = () => {
          this.aborted += 1;
          reject(new RuntimeError(RuntimeErrorCode.SNAPSHOT_FAILED, 'cancelled'));
        };
        if (signal.aborted) cancel();
        else signal.addEventListener('abort', cancel);
      });
    }
    writeFileSync(files.state, 'device state');
    writeFileSync(files.memory, 'ram');
    return Promise.resolve();
  };
  isRunning = () => Promise.resolve(false);
  stop = () => Promise.resolve();
  memoryOverheadMiB = () => 100;
}

/** Jails snapshot VMs on paper: which VM holds a uid right now. */
class FakeIsolation {
  readonly held = new Set<string>();
  acquire = async (owner: string, _socketDir: string, _size: unknown, save: (state: { jailed: boolean; uid: number }) => Promise<void>) => {
    const state = { jailed: true, uid: 200_001 };
    this.held.add(owner);
    await save(state);
    return state;
  };
  release = (owner: string) => {
    this.held.delete(owner);
    return Promise.resolve();
  };
  vmm = (state: { uid?: number }) => ({ jail: { uid: state.uid ?? 0, gid: state.uid ?? 0 } });
}

describe('BootSnapshots', () => {
  let dir: string;
  let saver: FakeSaver;
  let isolation: FakeIsolation;
  let store: BootSnapshots;
  const logs: string[] = [];

  const open = async (overrides: Partial<BootSnapshotsOptions> = {}) => {
    store = new BootSnapshots({
      dir: join(dir, 'snapshots'),
      runDir: join(dir, 'run'),
      memoryDir: join(dir, 'shm'),
      maxSnapshots: 2,
      retryAfterMs: 60_000,
      hypervisor: saver,
      isolation,
      log: (_level, msg) => logs.push(msg),
      ...overrides,
    });
    await store.recover();
    return store;
  };

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'boot-snapshots-'));
    isolation = new FakeIsolation();
    saver = new FakeSaver();
    logs.length = 0;
  });
  afterEach(async () => {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('saves a requested shape in the background, then finds it', async () => {
    await open();
    expect(await store.find(shape)).toBeUndefined();
    await Promise.all([store.request(shape), store.request(shape)]);
    await store.idle();
    expect(saver.saved).toHaveLength(1);
    const files = await store.find(shape);
    expect(files).toEqual({ state: join(dir, 'snapshots', shapeKey(shape), 'state'), memory: join(dir, 'snapshots', shapeKey(shape), 'memory') });
    // Nothing half-built or from the build VM is left around, its jail included.
    expect(readdirSync(join(dir, 'snapshots'))).toEqual([shapeKey(shape)]);
    expect(readdirSync(join(dir, 'run'))).toEqual([]);
    expect(isolation.held.size).toBe(0);
    // The snapshot VM is jailed like a sandbox's.
    expect(saver.saved[0].isolation).toEqual({ jail: { uid: 200_001, gid: 200_001 } });
  });

  it('gives each shape its own key, and boots 9p into the snapshot VM only for 9p shapes', async () => {
    expect(shapeKey({ ...shape, memoryMiB: 512 })).not.toBe(shapeKey(shape));
    expect(shapeKey({ ...shape, kernel: '/other/vmlinux' })).not.toBe(shapeKey(shape));
    await open();
    await store.request({ ...shape, ninep: true });
    await store.idle();
    expect(saver.saved[0].ninepDir).toBeDefined();
    expect(saver.saved[0]).toMatchObject({ vcpus: 1, memoryMiB: 416, kernel: '/img/vmlinux' });
  });

  it('does not retry a shape whose save failed until the retry delay passes', async () => {
    saver.mode = 'fail';
    await open();
    await store.request(shape);
    await store.idle();
    expect(isolation.held.size).toBe(0);
    await store.request(shape);
    await store.idle();
    expect(saver.saved).toHaveLength(1);
    expect(await store.find(shape)).toBeUndefined();
    expect(logs).toContain('saving a boot snapshot failed; sandboxes of this shape boot cold');
    expect(readdirSync(join(dir, 'snapshots'))).toEqual([]);
  });

  it('cancels a save in progress on close and builds nothing after', async () => {
    saver.mode = 'hang';
    await open();
    await store.request(shape);
    while (saver.saved.length === 0) await new Promise((resolve) => setTimeout(resolve, 5));
    await store.close();
    expect(saver.aborted).toBe(1);
    await store.request({ ...shape, vcpus: 2 });
    expect(saver.saved).toHaveLength(1);
    expect(readdirSync(join(dir, 'snapshots'))).toEqual([]);
  });

  it('keeps the most recently used snapshots and evicts the rest', async () => {
    await open();
    for (const vcpus of [1, 2]) {
      await store.request({ ...shape, vcpus });
        await store.idle();
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    // Using the first makes the second the least recently used.
    await store.find(shape);
    await store.request({ ...shape, vcpus: 3 });
    await store.idle();
    expect(await store.find(shape)).toBeDefined();
    expect(await store.find({ ...shape, vcpus: 2 })).toBeUndefined();
    expect(await store.find({ ...shape, vcpus: 3 })).toBeDefined();
  });

  it('discards a snapshot that did not restore, and removes half-saved ones on recover', async () => {
    await open();
    await store.request(shape);
    await store.idle();
    await store.discard((await store.find(shape))!);
    expect(await store.find(shape)).toBeUndefined();

    const partial = join(dir, 'snapshots', '.build-0123');
    mkdirSync(partial, { recursive: true });
    writeFileSync(join(partial, 'state'), 'half');
    await open();
    expect(existsSync(partial)).toBe(false);
  });
});
