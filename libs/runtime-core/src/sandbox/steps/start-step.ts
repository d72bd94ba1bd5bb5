import { mkdir } from 'node:fs/promises';
import { RuntimeError, RuntimeErrorCode } from '../../errors/runtime.errors';
import type { SandboxEntry } from '../model/sandbox.entry';
import type { StartPhase } from '../model/timings';

/** What every step of one sandbox's start and release works on. */
export interface StepContext {
  readonly entry: SandboxEntry;
  /** Persists the entry's state (`state.json`), so a crash from here on is cleaned up by the next runtime. */
  save(): Promise<void>;
  /** Tells the caller of `create` what changed (pull progress, a finished phase). */
  notify(): void;
  /** True once the start was abandoned: it stops at the next step, and waits end early. */
  cancelled(): boolean;
}

/**
 * One resource a sandbox's start acquires (Kata's resource manager): a start runs the steps in
 * order, and a failed start, a delete and a crash recovery all release them in reverse.
 */
export interface StartStep {
  /** The phase its acquisition is timed as (the timings travel with the sandbox's status). */
  readonly phase: StartPhase;
  /** The code a failure of this step gets when what it threw carries none. */
  readonly failureCode: RuntimeErrorCode;
  /** False: nothing to acquire for this sandbox (and no timing). Absent: always. */
  applies?(ctx: StepContext): boolean | Promise<boolean>;
  acquire(ctx: StepContext): Promise<void>;
  /** Once every step is acquired: lets go of what was held only to hand to a later step. */
  settle?(ctx: StepContext): void;
  /**
   * Undoes `acquire` from what the persisted state says was acquired, so it also works after a
   * crash, when nothing but `state.json` is left; idempotent, and a no-op when nothing was.
   * Absent: what it acquires goes with another step's release (the VM with the VMM step's).
   */
  release?(ctx: StepContext): Promise<void>;
}

/**
 * Persists the state, then makes the run dir: before anything is acquired, so a crash from here
 * on is cleaned up by the next runtime's `open`. The first thing every start does.
 */
export async function persistBeforeAcquiring(ctx: StepContext): Promise<void> {
  await ctx.save();
  await mkdir(ctx.entry.state.paths.runDir, { recursive: true, mode: 0o700 });
}

/** A step's acquisition failed; `step` names it so the error can say which phase broke. */
export class StepFailure extends Error {
  constructor(
    readonly step: StartStep,
    override readonly cause: unknown,
  ) {
    super(`${step.phase} failed`, { cause });
  }
}

/** Acquires every applicable step in order, timing each; the first failure stops it. */
export async function acquireSteps(
  steps: readonly StartStep[],
  ctx: StepContext,
  timed: (phase: StartPhase, fn: () => Promise<void>) => Promise<void>,
): Promise<void> {
  const cancelled = () => new RuntimeError(RuntimeErrorCode.START_CANCELLED, 'the start was cancelled: the node agent is stopping');
  for (const step of steps) {
    try {
      if (ctx.cancelled()) throw cancelled();
      if (step.applies && !(await step.applies(ctx))) continue;
      await timed(step.phase, () => step.acquire(ctx));
    } catch (error) {
      // Whatever a cancelled step ran into (a wait cut short), the reason is the cancellation.
      throw new StepFailure(step, ctx.cancelled() ? cancelled() : error);
    }
  }
}

/**
 * Releases every step in reverse, each even if an earlier one failed; returns what failed.
 * Steps that were never acquired release nothing.
 */
export async function releaseSteps(
  steps: readonly StartStep[],
  ctx: StepContext,
  /** Told before each step is released (a debug log line per step). */
  releasing: (step: StartStep) => void = () => undefined,
): Promise<{ step: StartStep; error: unknown }[]> {
  const failures: { step: StartStep; error: unknown }[] = [];
  for (const step of [...steps].reverse()) {
    releasing(step);
    try {
      await step.release?.(ctx);
    } catch (error) {
      failures.push({ step, error });
    }
  }
  return failures;
}
