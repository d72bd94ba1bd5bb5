import { describeError, RuntimeError, RuntimeErrorCode } from '../errors/runtime.errors';
import { readTail } from '../host/fs.helpers';
import type { SandboxEntry } from './model/sandbox.entry';
import type { RuntimeDeps } from './runtime.deps';
import { StepFailure } from './steps/start-step';

const CONSOLE_TAIL_BYTES = 2048;

/** Why a running sandbox's VMM is gone: the OOM killer, or how it exited and what the guest printed last. */
export async function vmmExitError(entry: SandboxEntry, deps: Pick<RuntimeDeps, 'hypervisor' | 'isolation'>): Promise<RuntimeError> {
  const { state } = entry;
  const oomKills = state.isolation ? await deps.isolation.oomKills(state.isolation).catch(() => 0) : 0;
  const tail = (await readTail(state.paths.consoleLog, CONSOLE_TAIL_BYTES)).trim();
  const how = await deps.hypervisor.exitReason(state.paths).catch(() => undefined);
  const context = { sandboxId: state.spec.id, ...(how && { exit: how }) };
  if (oomKills > 0) {
    return new RuntimeError(RuntimeErrorCode.VMM_OUT_OF_MEMORY, `the VMM outgrew its host cgroup's memory limit and the kernel's OOM killer killed it${how ? ` (${how})` : ''}`, { context });
  }
  const console = tail ? `\n--- console (last ${CONSOLE_TAIL_BYTES} bytes) ---\n${tail}` : '';
  return new RuntimeError(RuntimeErrorCode.VMM_EXITED, `the VMM ${how ?? 'exited'}${console}`, { context });
}

/** Names the failed step and, for boot failures, adds what the guest printed. */
export async function startError(entry: SandboxEntry, error: unknown): Promise<RuntimeError> {
  const failure = error instanceof StepFailure ? error : undefined;
  const cause = failure ? failure.cause : error;
  const phase = failure?.step.phase ?? 'start';
  const code = cause instanceof RuntimeError ? cause.code : (failure?.step.failureCode ?? RuntimeErrorCode.PROCESS_FAILED);
  let message = `${phase}: ${describeError(cause)}`;
  if (code === RuntimeErrorCode.VM_BOOT_FAILED || code === RuntimeErrorCode.VMM_START_FAILED) {
    const tail = (await readTail(entry.state.paths.consoleLog, CONSOLE_TAIL_BYTES)).trim();
    if (tail && !message.includes(tail)) message += `\n--- console (last ${CONSOLE_TAIL_BYTES} bytes) ---\n${tail}`;
  }
  return new RuntimeError(code, message, { cause, context: { sandboxId: entry.state.spec.id, phase } });
}
