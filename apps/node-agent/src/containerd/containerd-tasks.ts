import { randomUUID } from 'node:crypto';
import { MAX_VCPUS, MIN_MEMORY_MIB } from '@moat/proto';
import { ProcessStatus, type CreateTaskRequest, type ProcessExit, type ProcessState, type StatsResponse, type Stdio, type TaskRef } from '@moat/proto/node-tasks';
import { bundleSize, type BundleSize, type SandboxInfo, type SandboxRuntime } from '@moat/runtime-core';
import type { Logger } from 'pino';
import { TaskError, taskError } from './task.errors';
import { TaskOutput } from './task-io';

/** The part of the runtime containerd's tasks use (a fake implements it in unit tests). */
export type TaskRuntime = Pick<SandboxRuntime, 'create' | 'delete' | 'list' | 'startContainer' | 'waitContainer' | 'signalContainer' | 'logs' | 'setPaused' | 'stats'>;

/** A task whose bundle limits nothing gets the smallest useful VM. */
export const DEFAULT_TASK_SIZE: BundleSize = { vcpus: 1, memoryMiB: 256 };

/** What containerd reports for a process that was killed before it could say how it ended. */
const KILLED_STATUS = 128 + 9;

interface Task {
  ref: TaskRef;
  sandboxId: string;
  stdio: Stdio;
  status: 'creating' | ProcessStatus;
  /** The VMM's host pid. */
  pid: number;
  exit?: ProcessExit;
  /** Resolves once the init has exited and all its output is written. */
  exited?: Promise<ProcessExit>;
  output?: TaskOutput;
  /** Stops waiting for the init (on delete). */
  abort: AbortController;
}

function keyOf(ref: TaskRef): string {
  return `${ref.namespace}/${ref.id}`;
}

/** containerd's exit status: the code, or 128 + the signal that killed it. */
function exitStatus(exit: { exitCode: number; signal: number }): number {
  return exit.signal > 0 ? 128 + exit.signal : exit.exitCode;
}

/**
 * containerd's tasks on this node, each a sandbox VM of the node's runtime whose container is the
 * task's init: what the node agent does for `NodeTasks` calls from the containerd shim. The
 * sandboxes carry their containerd name, so a restarted node agent finds them again.
 */
export class ContainerdTasks {
  private readonly tasks = new Map<string, Task>();

  constructor(
    private readonly runtime: TaskRuntime,
    private readonly log: Logger,
  ) {}

  /** Boots the task's VM with the bundle's rootfs and process; the init waits for {@link start}. */
  async create({ task: ref, bundle, stdio }: CreateTaskRequest): Promise<{ pid: number }> {
    if (!ref || !stdio) throw new TaskError('INVALID_ARGUMENT', 'a create names its task and stdio');
    if (stdio.terminal) throw new TaskError('UNIMPLEMENTED', 'a task whose init runs on a terminal is not supported yet');
    const key = keyOf(ref);
    if (this.tasks.has(key) || this.adopted(ref)) throw new TaskError('ALREADY_EXISTS', `task ${key} already exists`);
    const task: Task = { ref, sandboxId: randomUUID(), stdio, status: 'creating', pid: 0, abort: new AbortController() };
    this.tasks.set(key, task);
    try {
      const size = await bundleSize(bundle, DEFAULT_TASK_SIZE, { minMemoryMiB: MIN_MEMORY_MIB, maxVcpus: MAX_VCPUS });
      const info = await this.runtime.create({ id: task.sandboxId, ...size, env: {}, bundle, containerd: { ...ref }, deferStart: true });
      if (info.state !== 'running') throw new TaskError('UNAVAILABLE', `${info.error?.code ?? 'START_FAILED'}: ${info.error?.message ?? `the task's VM is ${info.state}`}`);
      task.pid = info.vmmPid ?? 0;
      task.status = ProcessStatus.PROCESS_STATUS_CREATED;
      this.log.info({ task: key, sandboxId: task.sandboxId, ...size }, 'containerd task created');
      return { pid: task.pid };
    } catch (error) {
      this.tasks.delete(key);
      await this.runtime.delete(task.sandboxId).catch((err: unknown) => this.log.error({ err, sandboxId: task.sandboxId }, 'releasing a failed task left something behind'));
      throw taskError(error);
    }
  }

  /** Starts the init: its output flows to the task's FIFOs from here. */
  async start(ref: TaskRef): Promise<{ pid: number }> {
    const task = this.get(ref);
    if (task.status !== ProcessStatus.PROCESS_STATUS_CREATED) throw new TaskError('FAILED_PRECONDITION', `task ${keyOf(ref)} is not waiting to start`);
    const output = await TaskOutput.open(task.stdio).catch((error: unknown) => {
      throw new TaskError('FAILED_PRECONDITION', `open the task's output FIFOs: ${taskError(error).message}`);
    });
    try {
      await this.runtime.startContainer(task.sandboxId);
    } catch (error) {
      output.close();
      throw taskError(error);
    }
    task.output = output;
    task.status = ProcessStatus.PROCESS_STATUS_RUNNING;
    this.watch(task, output.copy(this.runtime.logs(task.sandboxId)));
    return { pid: task.pid };
  }

  /** How the init ended, once it has and its output is written. */
  async wait(ref: TaskRef): Promise<ProcessExit> {
    const task = this.get(ref);
    if (task.exit) return task.exit;
    if (!task.exited) throw new TaskError('FAILED_PRECONDITION', `task ${keyOf(ref)} is not started`);
    return task.exited;
  }

  state(ref: TaskRef): ProcessState {
    const task = this.get(ref);
    const status = task.status === 'creating' ? ProcessStatus.PROCESS_STATUS_UNKNOWN : task.status;
    return { pid: task.pid, status, stdio: task.stdio, exitStatus: task.exit?.exitStatus ?? 0, exitedAtMs: task.exit?.exitedAtMs ?? 0 };
  }

  async kill(ref: TaskRef, signal: number): Promise<void> {
    const task = this.get(ref);
    if (task.exit) throw new TaskError('NOT_FOUND', `task ${keyOf(ref)}'s process has already exited`);
    if (task.status !== ProcessStatus.PROCESS_STATUS_RUNNING && task.status !== ProcessStatus.PROCESS_STATUS_PAUSED) {
      throw new TaskError('FAILED_PRECONDITION', `task ${keyOf(ref)} is not running`);
    }
    await this.runtime.signalContainer(task.sandboxId, signal).catch((error: unknown) => {
      throw taskError(error);
    });
  }

  async setPaused(ref: TaskRef, paused: boolean): Promise<void> {
    const task = this.get(ref);
    await this.runtime.setPaused(task.sandboxId, paused).catch((error: unknown) => {
      throw taskError(error);
    });
    task.status = paused ? ProcessStatus.PROCESS_STATUS_PAUSED : ProcessStatus.PROCESS_STATUS_RUNNING;
  }

  /** The init's container's resource use, from its cgroup in the guest. */
  async stats(ref: TaskRef): Promise<StatsResponse> {
    const task = this.get(ref);
    const { cpu, memory, pids } = await this.runtime.stats(task.sandboxId).catch((error: unknown) => {
      throw taskError(error);
    });
    return { cpuUsageNs: cpu.usageUsec * 1000, memoryUsageBytes: memory.currentBytes, memoryLimitBytes: memory.limitBytes, pidsCurrent: pids.current };
  }

  /** Stops and removes the task's VM and every host resource it held; answers how the init ended. */
  async delete(ref: TaskRef): Promise<ProcessExit> {
    const task = this.get(ref);
    task.abort.abort();
    task.output?.close();
    try {
      await this.runtime.delete(task.sandboxId);
    } catch (error) {
      throw taskError(error);
    }
    this.tasks.delete(keyOf(ref));
    this.log.info({ task: keyOf(ref), sandboxId: task.sandboxId }, 'containerd task deleted');
    return task.exit ?? { pid: task.pid, exitStatus: KILLED_STATUS, exitedAtMs: Date.now() };
  }

  /** Deletes every task (a node agent that stops its sandboxes on exit). */
  async deleteAll(): Promise<void> {
    await Promise.all([...this.tasks.values()].map((task) => this.delete(task.ref).catch((err: unknown) => this.log.error({ err, task: keyOf(task.ref) }, 'deleting a containerd task failed'))));
  }

  /**
   * Waits for the init's end in the background. A VM that dies takes its init with it: that
   * counts as a kill, so containerd still hears of an exit.
   */
  private watch(task: Task, copied: Promise<void>): void {
    const exited = async (): Promise<ProcessExit> => {
      let status: number;
      try {
        status = exitStatus(await this.runtime.waitContainer(task.sandboxId, task.abort.signal));
      } catch (error) {
        if (task.abort.signal.aborted) throw taskError(error);
        this.log.warn({ err: error, task: keyOf(task.ref) }, "the task's init could not be waited for; counting it killed");
        status = KILLED_STATUS;
      }
      await copied.catch((err: unknown) => this.log.warn({ err, task: keyOf(task.ref) }, "copying the task's output failed"));
      task.exit = { pid: task.pid, exitStatus: status, exitedAtMs: Date.now() };
      task.status = ProcessStatus.PROCESS_STATUS_STOPPED;
      return task.exit;
    };
    task.exited = exited();
    // A wait nobody asks for must not end as an unhandled rejection.
    task.exited.catch(() => undefined);
  }

  private get(ref: TaskRef | undefined): Task {
    if (!ref) throw new TaskError('INVALID_ARGUMENT', 'the call names no task');
    const task = this.tasks.get(keyOf(ref)) ?? this.adopted(ref);
    if (!task || task.status === 'creating') throw new TaskError('NOT_FOUND', `task ${keyOf(ref)} not found`);
    return task;
  }

  /**
   * A task the runtime holds but this process does not know: one a previous node agent started.
   * Its output went with that agent; its exit is waited for again.
   */
  private adopted(ref: TaskRef): Task | undefined {
    const info = this.runtime.list().find((s: SandboxInfo) => s.containerd?.namespace === ref.namespace && s.containerd.id === ref.id);
    if (!info) return undefined;
    const task: Task = { ref, sandboxId: info.id, stdio: { stdin: '', stdout: '', stderr: '', terminal: false }, status: ProcessStatus.PROCESS_STATUS_RUNNING, pid: info.vmmPid ?? 0, abort: new AbortController() };
    this.tasks.set(keyOf(ref), task);
    if (info.state === 'running') this.watch(task, Promise.resolve());
    else task.exit = { pid: task.pid, exitStatus: KILLED_STATUS, exitedAtMs: Date.now() };
    return task;
  }
}
