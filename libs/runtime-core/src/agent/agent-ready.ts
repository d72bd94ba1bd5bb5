import { HealthCheckResponse_ServingStatus, type HealthClient } from '@moat/proto';
import { RuntimeError, RuntimeErrorCode } from '../errors/runtime.errors';
import { sleep } from '../host/process.adapter';
import type { AgentChannel } from './agent.channel';

const HEALTH_CHECK_TIMEOUT_MS = 2_000;
const HEALTH_RETRY_INTERVAL_MS = 200;
const VM_WATCH_INTERVAL_MS = 250;

/**
 * Polls Health.Check until the agent is SERVING. `vmFailure` (why the VM cannot boot, or
 * undefined while it can) is watched throughout, so a VM that died or hit an emulation error
 * fails the boot at once instead of at the deadline.
 */
export async function waitForServing(
  grpc: AgentChannel,
  health: HealthClient,
  bootTimeoutMs: number,
  vmFailure: () => Promise<string | undefined>,
): Promise<void> {
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
  // A check waiting for the connection would otherwise only notice a dead VM at its own deadline.
  const watchdog = setInterval(() => void probe(), VM_WATCH_INTERVAL_MS);
  let lastError: unknown;
  try {
    while (Date.now() < deadline) {
      await probe();
      if (failure !== undefined) throw new RuntimeError(RuntimeErrorCode.VM_BOOT_FAILED, `${failure} before its agent answered`);
      const started = Date.now();
      try {
        const reply = await grpc.unary(health.check.bind(health), { service: '' }, 'Health.Check', {
          timeoutMs: Math.min(HEALTH_CHECK_TIMEOUT_MS, Math.max(1, deadline - Date.now())),
          // Queue behind the connection attempt instead of failing fast while QEMU or the guest is not up yet.
          waitForReady: true,
          signal: vmGone.signal,
        });
        if (reply.status === HealthCheckResponse_ServingStatus.SERVING) return;
        lastError = new Error(`health status ${reply.status}`);
      } catch (error) {
        lastError = error;
      }
      await sleep(Math.max(0, HEALTH_RETRY_INTERVAL_MS - (Date.now() - started)));
    }
  } finally {
    clearInterval(watchdog);
  }
  throw new RuntimeError(RuntimeErrorCode.VM_BOOT_FAILED, `the guest agent did not become ready within ${bootTimeoutMs} ms`, {
    cause: lastError,
  });
}
