import { setTimeout as sleep } from 'node:timers/promises';
import { describeError } from '../../errors/runtime.errors';
import type { Log } from '../../log/log.types';
import type { PoolShape, PoolSize } from '../model/sandbox.types';

/** How the pool starts, checks and releases its VMs (the runtime's steps; a fake in unit tests). */
export interface PoolVms<Vm> {
  /** Starts one VM of `shape`, ready to be handed out; throws when it cannot (yet). */
  start(shape: PoolShape): Promise<Vm>;
  /** False once the VM is gone (its VMM died): it is released and replaced. */
  alive(vm: Vm): Promise<boolean>;
  /** Stops the VM and releases everything it holds. */
  release(vm: Vm): Promise<void>;
}

/** A failed start is retried after this long (a shape's boot snapshot may still be saving). */
const RETRY_MS = 5_000;
/** How often the waiting VMs are checked for a dead VMM. */
const CHECK_MS = 10_000;

function sameShape(a: PoolShape, b: PoolShape): boolean {
  return a.vcpus === b.vcpus && a.memoryMiB === b.memoryMiB;
}

/**
 * VMs started ahead of time, per shape, waiting for a sandbox (Kata's VM cache, Firecracker's
 * warm pools). A VM is taken by at most one sandbox and never comes back: the pool starts a new
 * one in its place, one start at a time so refilling never crowds out the node's own starts.
 */
export class WarmPool<Vm> {
  private readonly waiting = new Map<PoolSize, Vm[]>();
  private filling: Promise<void> | undefined;
  private readonly stopped = new AbortController();
  private checker: NodeJS.Timeout | undefined;

  constructor(
    readonly sizes: readonly PoolSize[],
    private readonly vms: PoolVms<Vm>,
    private readonly log: Log,
    private readonly timing = { retryMs: RETRY_MS, checkMs: CHECK_MS },
  ) {
    for (const size of sizes) this.waiting.set(size, []);
  }

  /** Starts filling, and checking what waits. */
  open(): void {
    this.refill();
    this.checker = setInterval(() => void this.check(), this.timing.checkMs);
    this.checker.unref();
  }

  /** A waiting VM of this shape, now the caller's; undefined when none waits. */
  take(shape: PoolShape): Vm | undefined {
    const size = this.sizes.find((candidate) => sameShape(candidate, shape));
    const vm = size && this.waiting.get(size)?.shift();
    if (vm !== undefined) this.refill();
    return vm;
  }

  /** VMs waiting now, per shape. */
  counts(): { shape: PoolShape; waiting: number; target: number }[] {
    return this.sizes.map((size) => ({ shape: { vcpus: size.vcpus, memoryMiB: size.memoryMiB }, waiting: this.waiting.get(size)?.length ?? 0, target: size.count }));
  }

  /** Resolves once every shape has its count waiting (or the pool is drained); for tests and benchmarks. */
  async full(): Promise<void> {
    while (!this.stopped.signal.aborted && this.sizes.some((size) => (this.waiting.get(size)?.length ?? 0) < size.count)) {
      await (this.filling ?? sleep(50));
    }
  }

  /** Stops refilling and releases every waiting VM; the pool is empty for good. */
  async drain(): Promise<void> {
    this.stopped.abort();
    clearInterval(this.checker);
    await this.filling;
    const vms = [...this.waiting.values()].flat();
    for (const list of this.waiting.values()) list.length = 0;
    await Promise.all(vms.map((vm) => this.releaseQuietly(vm)));
  }

  private refill(): void {
    this.filling ??= this.fill().finally(() => {
      this.filling = undefined;
    });
  }

  private async fill(): Promise<void> {
    for (;;) {
      const size = this.sizes.find((candidate) => (this.waiting.get(candidate)?.length ?? 0) < candidate.count);
      if (!size || this.stopped.signal.aborted) return;
      try {
        const vm = await this.vms.start(size);
        if (this.stopped.signal.aborted) return void (await this.releaseQuietly(vm));
        this.waiting.get(size)?.push(vm);
      } catch (error) {
        this.log('warn', 'starting a warm-pool VM failed; retrying', { vcpus: size.vcpus, memoryMiB: size.memoryMiB, error: describeError(error) });
        await sleep(this.timing.retryMs, undefined, { signal: this.stopped.signal }).catch(() => undefined);
      }
    }
  }

  /** Releases waiting VMs whose VMM is gone, and starts their replacements. */
  private async check(): Promise<void> {
    for (const list of this.waiting.values()) {
      for (const vm of [...list]) {
        if (await this.vms.alive(vm)) continue;
        const at = list.indexOf(vm);
        // Taken meanwhile: the sandbox that has it finds out itself.
        if (at < 0) continue;
        list.splice(at, 1);
        this.log('warn', 'a warm-pool VM died while it waited; replacing it');
        await this.releaseQuietly(vm);
      }
    }
    this.refill();
  }

  private async releaseQuietly(vm: Vm): Promise<void> {
    try {
      await this.vms.release(vm);
    } catch (error) {
      this.log('error', 'releasing a warm-pool VM left something behind', { error: describeError(error) });
    }
  }
}
