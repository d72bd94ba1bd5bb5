import type { ProcessRef, Stdio, TaskRef } from '@moat/proto/node-tasks';
import { TtrpcError } from '@moat/ttrpc';
import { ExitLatch } from './process-exit';

/** A process of a task as the shim knows it: what containerd gave it and how it ends. The node agent holds the rest. */
export class ProcessRecord {
  /** The pid containerd is shown: Create's answer for the init process, Start's after it starts. */
  pid = 0;
  started = false;
  readonly exit = new ExitLatch();
  /** Stops the watch on the node agent's Wait. */
  readonly unwatch = new AbortController();

  constructor(
    readonly ref: ProcessRef,
    readonly stdio: Stdio,
  ) {}

  /** The process's id in containerd's events: the task's for the init process, else the exec id. */
  get eventId(): string {
    return this.ref.execId === '' ? (this.ref.task?.id ?? '') : this.ref.execId;
  }
}

/** A task: its bundle, its rootfs mount and its processes, the init process under the empty exec id. */
export class TaskRecord {
  readonly ref: TaskRef;
  readonly processes = new Map<string, ProcessRecord>();
  readonly init: ProcessRecord;
  /** Where the shim mounted containerd's rootfs mounts, to unmount on delete (undefined: containerd gave none). */
  mountedRootfs: string | undefined;
  /** Set once containerd deletes the init process: the task is expected to vanish at the node agent. */
  deleting = false;

  constructor(
    namespace: string,
    readonly id: string,
    readonly bundle: string,
    stdio: Stdio,
  ) {
    this.ref = { namespace, id };
    this.init = new ProcessRecord({ task: this.ref, execId: '' }, stdio);
    this.processes.set('', this.init);
  }

  /** The process `execId` ('' for init); NOT_FOUND when the task has none of that id. */
  process(execId: string): ProcessRecord {
    const process = this.processes.get(execId);
    if (process === undefined) throw new TtrpcError('NOT_FOUND', `process ${execId} does not exist in task ${this.id}`);
    return process;
  }

  /** Adds the exec'd process `execId`; ALREADY_EXISTS when the task has one of that id. */
  addExec(execId: string, stdio: Stdio): ProcessRecord {
    if (this.processes.has(execId)) throw new TtrpcError('ALREADY_EXISTS', `id ${execId}`);
    const process = new ProcessRecord({ task: this.ref, execId }, stdio);
    this.processes.set(execId, process);
    return process;
  }

  /** The processes other than init. */
  execs(): ProcessRecord[] {
    return [...this.processes.values()].filter((process) => process !== this.init);
  }
}

/**
 * The tasks this shim serves, by containerd's task id: one, or a pod's (its sandbox and its containers,
 * sharing a shim as `start` groups them by the `io.kubernetes.cri.sandbox-id` annotation).
 */
export class TaskTable {
  private readonly tasks = new Map<string, TaskRecord>();

  get size(): number {
    return this.tasks.size;
  }

  /** The task `id`; NOT_FOUND when there is none. */
  get(id: string): TaskRecord {
    const task = this.tasks.get(id);
    if (task === undefined) throw new TtrpcError('NOT_FOUND', `task ${id} not found`);
    return task;
  }

  all(): TaskRecord[] {
    return [...this.tasks.values()];
  }

  find(id: string): TaskRecord | undefined {
    return this.tasks.get(id);
  }

  add(task: TaskRecord): void {
    if (this.tasks.has(task.id)) throw new TtrpcError('ALREADY_EXISTS', `task ${task.id} already exists`);
    this.tasks.set(task.id, task);
  }

  remove(task: TaskRecord): void {
    if (this.tasks.get(task.id) === task) this.tasks.delete(task.id);
  }
}
