import { setTimeout as sleep } from 'node:timers/promises';
import type { ProcessExit } from '@moat/proto/node-tasks';
import { TtrpcError } from '@moat/ttrpc';
import type { EventPublisher } from '../events/event-publisher';
import { taskEvents } from '../events/task-events';
import type { Logger } from '../log/logger';
import type { NodeTasks } from '../node-tasks/node-tasks';
import { timestampOfMs } from '../time/timestamp';
import { KILLED_EXIT_STATUS, LOST_EXIT_STATUS, type ProcessEnd } from './process-exit';
import type { ProcessRecord, TaskRecord, TaskTable } from './task-table';

/** How long the exit watch waits before asking the node agent again after a failed Wait; doubled on each failure up to WAIT_RETRY_MAX_DELAY_MS. */
export const WAIT_RETRY_DELAY_MS = 1_000;
export const WAIT_RETRY_MAX_DELAY_MS = 30_000;

export interface ProcessExitsDeps {
  readonly tasks: TaskTable;
  readonly nodeTasks: NodeTasks;
  readonly events: EventPublisher;
  readonly log: Logger;
  /** Ends the shim: its last task gone from the node agent. */
  readonly shutdown: () => void;
  readonly now: () => number;
  readonly waitRetryDelayMs: number;
}

/**
 * How the shim's processes end: it watches the node agent's Wait for each started process and
 * settles each end exactly once, publishing its TaskExit before anything waits on it.
 */
export class ProcessExits {
  constructor(private readonly deps: ProcessExitsDeps) {}

  /**
   * Watches the node agent's Wait for a started process until it answers, asking again after
   * failures (a restarting node agent), less often each time, and settles the process's end with it.
   */
  async watch(task: TaskRecord, process: ProcessRecord): Promise<void> {
    const signal = process.unwatch.signal;
    for (let failures = 0; !signal.aborted && !process.exit.isSettled; failures++) {
      try {
        const exit = await this.deps.nodeTasks.wait(process.ref, { signal });
        await this.settle(task, process, exit);
        return;
      } catch (error) {
        if (signal.aborted || process.exit.isSettled) return;
        if (error instanceof TtrpcError && error.code === 'NOT_FOUND') {
          await this.lost(task, process);
          return;
        }
        this.deps.log.warn('waiting for a process on the node agent failed; asking again', { id: task.id, execId: process.ref.execId, error });
        const delay = Math.min(this.deps.waitRetryDelayMs * 2 ** failures, WAIT_RETRY_MAX_DELAY_MS);
        await sleep(delay, undefined, { signal }).catch(() => undefined);
      }
    }
  }

  /**
   * The node agent no longer knows a process containerd thinks is alive. An exec'd one ends as
   * lost. The task itself: the shim forgets it, and ends when it has nothing left to serve, so
   * that containerd sees its shim gone and runs `delete` — which asks the node agent too — and
   * publishes the task's exit and delete itself.
   */
  private async lost(task: TaskRecord, process: ProcessRecord): Promise<void> {
    if (task.deleting) return;
    if (process !== task.init) {
      this.deps.log.warn('the node agent no longer knows an exec’d process', { id: task.id, execId: process.ref.execId });
      await this.settle(task, process, { pid: process.pid, exitStatus: LOST_EXIT_STATUS, exitedAtMs: 0 });
      return;
    }
    this.deps.log.warn('the node agent no longer knows the task: leaving its cleanup to containerd', { id: task.id });
    for (const each of task.processes.values()) each.unwatch.abort();
    this.deps.tasks.remove(task);
    if (this.deps.tasks.size === 0) this.deps.shutdown();
  }

  /**
   * Settles how `process` ended — the node agent's answer, or killed with its VM when there is
   * none — unless it was settled before, publishing TaskExit for a process that had started.
   * Resolves to the end that counts.
   */
  settle(task: TaskRecord, process: ProcessRecord, exit: ProcessExit | undefined): Promise<ProcessEnd> {
    process.unwatch.abort();
    const end: ProcessEnd = {
      pid: exit?.pid || process.pid,
      exitStatus: exit?.exitStatus ?? KILLED_EXIT_STATUS,
      exitedAtMs: exit?.exitedAtMs || this.deps.now(),
    };
    return process.exit.settle(end, async (settled) => {
      if (!process.started) return;
      this.deps.log.info('process exited', { id: task.id, execId: process.ref.execId, pid: settled.pid, exitStatus: settled.exitStatus });
      await this.deps.events.publish(
        taskEvents.exit({
          containerId: task.id,
          id: process.eventId,
          pid: settled.pid,
          exitStatus: settled.exitStatus,
          exitedAt: timestampOfMs(settled.exitedAtMs),
        }),
      );
    });
  }

}
