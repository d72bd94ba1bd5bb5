import { performance } from 'node:perf_hooks';
import type { PhaseTiming } from './sandbox.types';

/**
 * `restore` replaces `vmm` when the VM comes from a boot snapshot; `plug` replaces `jail`,
 * `restore` and `agent` when it comes from the warm pool.
 */
export type StartPhase = 'rootfs' | 'jail' | 'sharefs' | 'fork' | 'network' | 'vmm' | 'restore' | 'wake' | 'plug' | 'agent' | 'identity' | 'sandbox' | 'container';

/** Times each start phase with a monotonic clock; a failed phase is recorded too, so slow failures show. */
export async function timePhase<T>(timings: PhaseTiming[], phase: StartPhase, fn: () => Promise<T>): Promise<T> {
  const started = performance.now();
  try {
    return await fn();
  } finally {
    timings.push({ phase, ms: Math.round(performance.now() - started) });
  }
}
