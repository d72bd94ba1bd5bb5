import { describe, expect, it } from '@jest/globals';
import { eventually } from '@moat/test-support';
import { WarmPool, type PoolVms } from './warm-pool';
import type { PoolShape } from '../model/sandbox.types';
import { parseWarmPool } from './warm-pool.config';

/** VMs as numbers: started, dead and released ones are recorded. */
class FakeVms implements PoolVms<number> {
  private next = 1;
  readonly started: number[] = [];
  readonly released: number[] = [];
  readonly dead = new Set<number>();
  failures = 0;

  start(shape: PoolShape): Promise<number> {
    if (this.failures > 0) {
      this.failures--;
      return Promise.reject(new Error(`no snapshot of ${shape.vcpus}x${shape.memoryMiB} yet`));
    }
    const vm = this.next++;
    this.started.push(vm);
    return Promise.resolve(vm);
  }
  alive(vm: number): Promise<boolean> {
    return Promise.resolve(!this.dead.has(vm));
  }
  release(vm: number): Promise<void> {
    this.released.push(vm);
    return Promise.resolve();
  }
}

const SHAPE = { vcpus: 1, memoryMiB: 256 };
const quiet = () => undefined;

function poolOf(vms: FakeVms, count = 2): WarmPool<number> {
  const pool = new WarmPool([{ ...SHAPE, count }], vms, quiet, { retryMs: 10, checkMs: 10 });
  pool.open();
  return pool;
}

describe('WarmPool', () => {
  it('fills each shape to its count, one start at a time', async () => {
    const vms = new FakeVms();
    const pool = poolOf(vms);
    await pool.full();
    expect(vms.started).toEqual([1, 2]);
    expect(pool.counts()).toEqual([{ shape: SHAPE, waiting: 2, target: 2 }]);
    await pool.drain();
  });

  it('hands each VM out once, only for its shape, and starts a new one in its place', async () => {
    const vms = new FakeVms();
    const pool = poolOf(vms);
    await pool.full();
    expect(pool.take({ vcpus: 1, memoryMiB: 512 })).toBeUndefined();
    const taken = [pool.take(SHAPE), pool.take(SHAPE)];
    expect(taken).toEqual([1, 2]);
    await pool.full();
    expect(vms.started).toEqual([1, 2, 3, 4]);
    expect([pool.take(SHAPE), pool.take(SHAPE)]).toEqual([3, 4]);
    await pool.drain();
    // What was handed out is its taker's to release; only what still waited (a refill) goes.
    expect(vms.released).toEqual(vms.started.filter((vm) => vm > 4));
  });

  it('retries a start that failed (a snapshot still saving)', async () => {
    const vms = new FakeVms();
    vms.failures = 2;
    const pool = poolOf(vms, 1);
    await pool.full();
    expect(vms.started).toEqual([1]);
    await pool.drain();
  });

  it('releases a waiting VM whose VMM died and replaces it', async () => {
    const vms = new FakeVms();
    const pool = poolOf(vms, 1);
    await pool.full();
    vms.dead.add(1);
    await eventually(() => expect(vms.released).toEqual([1]), { timeout: 2_000 });
    await pool.full();
    expect(pool.take(SHAPE)).toBe(2);
    await pool.drain();
  });

  it('drains: releases what waits, and what was starting, and starts nothing more', async () => {
    const vms = new FakeVms();
    const pool = poolOf(vms, 3);
    await pool.drain();
    await pool.full();
    expect(vms.released.sort()).toEqual(vms.started.sort());
    expect(pool.take(SHAPE)).toBeUndefined();
    await new Promise((resolve) => setTimeout(resolve, 30));
    expect(vms.released.length).toBe(vms.started.length);
  });
});

describe('parseWarmPool', () => {
  it('reads <vcpus>x<memoryMiB>:<count> entries', () => {
    expect(parseWarmPool('1x256:4, 2x1024:1')).toEqual([
      { vcpus: 1, memoryMiB: 256, count: 4 },
      { vcpus: 2, memoryMiB: 1024, count: 1 },
    ]);
    expect(parseWarmPool('')).toEqual([]);
  });

  it.each([['1x256'], ['256:4'], ['1x256:0'], ['1x256:2,1x256:1'], ['ax256:1']])('rejects %s', (text) => {
    expect(() => parseWarmPool(text)).toThrow(/warm pool entry/);
  });
});
