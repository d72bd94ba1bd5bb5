import { setTimeout as sleep } from 'node:timers/promises';

/**
 * Calls `attempt` every `intervalMs` until it returns a value, for at most `waitMs`; undefined
 * if it never did. Devices probe asynchronously in a guest without udev, and hot-plugged ones
 * (a VM restored from a boot snapshot) appear a moment after the host plugged them.
 */
export async function pollFor<T>(attempt: () => Promise<T | undefined>, waitMs: number, intervalMs: number): Promise<T | undefined> {
  const deadline = Date.now() + waitMs;
  for (;;) {
    const value = await attempt();
    if (value !== undefined) return value;
    if (Date.now() >= deadline) return undefined;
    await sleep(intervalMs);
  }
}
