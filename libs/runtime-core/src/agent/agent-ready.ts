import { RuntimeError, RuntimeErrorCode } from '../errors/runtime.errors';
import { sleep } from '../host/process.adapter';

const RETRY_INTERVAL_MS = 200;
const VM_WATCH_INTERVAL_MS = 250;

/**
 * One call that says whether the agent is ready: it waits for the connection (grpc-js's
 * `waitForReady`) for at most `remainingMs` (the boot deadline's rest) and its own timeout,
 * gives up when `signal` aborts, and resolves true when the agent answered as a ready one does.
 */
export type ReadinessCall = (opts: { remainingMs: number; signal: AbortSignal }) => Promise<boolean>;

/**
 * Calls `attempt` until the agent is ready, or refuses with an error of its own. `vmFailure`
 * (why the VM cannot boot, or undefined while it can) is watched throughout, so a VM that died
 * or hit an emulation error fails the boot at once instead of at the deadline.
 */
export async function waitForAgent(attempt: ReadinessCall, bootTimeoutMs: number, vmFailure: () => Promise<string | undefined>): Promise<void> {
  const deadline = Date.now() + bootTimeoutMs;
  const vmGone = new AbortController();
  let failure: string | undefined;
  let probing: Promise<void> | undefined;
  const probe = () =>
    (probing ??= vmFailure()
      .then(
        (reason) => {
          if (reason === undefined) return;
          failure = reason;
          vmGone.abort();
        },
        () => undefined,
      )
      .finally(() => {
        probing = undefined;
      }));
  // A call waiting for the connection would otherwise only notice a dead VM at its own deadline.
  const watchdog = setInterval(() => void probe(), VM_WATCH_INTERVAL_MS);
  const vmFailed = () => new RuntimeError(RuntimeErrorCode.VM_BOOT_FAILED, `${failure} before its agent answered`);
  let lastError: unknown;
  try {
    // The first call goes at once, the VM watched beside it; a retry only after the VM was looked at.
    void probe();
    while (Date.now() < deadline) {
      if (failure !== undefined) throw vmFailed();
      const started = Date.now();
      try {
        if (await attempt({ remainingMs: Math.max(1, deadline - Date.now()), signal: vmGone.signal })) return;
        lastError = new Error('the agent answered that it is not ready');
      } catch (error) {
        if (failure !== undefined) throw vmFailed();
        // The agent answered with a code of its own: it serves, and refuses; it would again.
        if (error instanceof RuntimeError && error.context.guestCode !== undefined) throw error;
        lastError = error;
      }
      await sleep(Math.max(0, RETRY_INTERVAL_MS - (Date.now() - started)));
      await probe();
    }
  } finally {
    clearInterval(watchdog);
  }
  throw new RuntimeError(RuntimeErrorCode.VM_BOOT_FAILED, `the guest agent did not become ready within ${bootTimeoutMs} ms`, {
    cause: lastError,
  });
}
