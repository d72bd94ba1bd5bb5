import { join } from 'node:path';
import { CgroupMetrics } from '@moat/containerd-api';
import type { ProcessExit } from '@moat/proto/node-tasks';
import { TtrpcError, type RequestContext } from '@moat/ttrpc';
import type { EventPublisher } from '../events/event-publisher';
import { taskEvents } from '../events/task-events';
import type { Logger } from '../log/logger';
import type { Mounter } from '../mount/mounter';
import type { NodeTasks } from '../node-tasks/node-tasks';
import { exitedAtOfMs, timestampOfMs } from '../time/timestamp';
import { ProcessExits, WAIT_RETRY_DELAY_MS } from './process-exits';
import { answer, callOf, deleteResponseOf, stdioOf, untilAborted } from './task-calls';
import { TaskRecord, TaskTable, type ProcessRecord } from './task-table';
import { taskStatusOf } from './task-status';
import type { TaskHandlers, TaskRequest, TaskResponse } from './task.ttrpc';

/** The type Stats answers with: containerd (and the CRI) decode a cgroup v1 `Metrics` from it. */
export const METRICS_TYPE_URL = 'io.containerd.cgroups.v1.Metrics';

export interface TaskServiceDeps {
  /** The containerd namespace the shim serves (`-namespace`). */
  readonly namespace: string;
  readonly nodeTasks: NodeTasks;
  readonly events: EventPublisher;
  readonly mounter: Mounter;
  readonly log: Logger;
  /** This process's pid (Connect's `shim_pid`). */
  readonly shimPid: number;
  /** Ends the shim: Shutdown with no task left, or its last task gone from the node agent. */
  readonly shutdown: () => void;
  readonly now?: () => number;
  readonly waitRetryDelayMs?: number;
}

/**
 * containerd's Task service (runtime/v2/task/shim.proto) for tasks that run as the node agent's
 * VMs: each call goes to the node agent's NodeTasks, whose gRPC status containerd gets unchanged.
 * The shim keeps only what containerd's contract needs between calls: the rootfs it mounted, the
 * processes' stdio and pids, and each process's end. Once a process starts, the shim watches the
 * node agent's Wait for it and publishes its TaskExit exactly once, before answering any Wait for
 * it and before the task's TaskDelete.
 */
export class TaskService implements TaskHandlers {
  private readonly tasks = new TaskTable();
  private readonly exits: ProcessExits;

  constructor(private readonly deps: TaskServiceDeps) {
    this.exits = new ProcessExits({
      tasks: this.tasks,
      nodeTasks: deps.nodeTasks,
      events: deps.events,
      log: deps.log,
      shutdown: deps.shutdown,
      now: deps.now ?? Date.now,
      waitRetryDelayMs: deps.waitRetryDelayMs ?? WAIT_RETRY_DELAY_MS,
    });
  }

  async create(request: TaskRequest<'create'>, context: RequestContext): Promise<TaskResponse<'create'>> {
    if (request.checkpoint !== '' || request.parentCheckpoint !== '') {
      throw new TtrpcError('UNIMPLEMENTED', 'the moat runtime cannot restore a task from a checkpoint');
    }
    const stdio = stdioOf(request);
    const task = new TaskRecord(this.deps.namespace, request.id, request.bundle, stdio);
    // Holds the id while the VM boots: a second Create of it is ALREADY_EXISTS.
    this.tasks.add(task);
    try {
      if (request.rootfs.length > 0) {
        const rootfs = join(request.bundle, 'rootfs');
        await this.deps.mounter.mount(request.rootfs, rootfs);
        task.mountedRootfs = rootfs;
      }
      const { pid } = await this.deps.nodeTasks.create({ task: task.ref, bundle: request.bundle, stdio }, callOf(context));
      task.init.pid = pid;
    } catch (error) {
      this.tasks.remove(task);
      await this.unmountRootfs(task);
      throw error;
    }
    this.deps.log.info('task created', { id: task.id, pid: task.init.pid });
    void this.deps.events.publish(
      taskEvents.create({ containerId: task.id, bundle: task.bundle, rootfs: request.rootfs, io: stdio, checkpoint: request.checkpoint, pid: task.init.pid }),
    );
    return { pid: task.init.pid };
  }

  async start(request: TaskRequest<'start'>, context: RequestContext): Promise<TaskResponse<'start'>> {
    const task = this.tasks.get(request.id);
    const process = task.process(request.execId);
    const { pid } = await this.deps.nodeTasks.start(process.ref, callOf(context));
    process.pid = pid;
    // Queued before the watch begins, so containerd sees the start before the exit.
    void this.deps.events.publish(
      process === task.init
        ? taskEvents.start({ containerId: task.id, pid })
        : taskEvents.execStarted({ containerId: task.id, execId: request.execId, pid }),
    );
    if (!process.started) {
      process.started = true;
      void this.exits.watch(task, process);
    }
    return { pid };
  }

  async delete(request: TaskRequest<'delete'>, context: RequestContext): Promise<TaskResponse<'delete'>> {
    const task = this.tasks.get(request.id);
    if (request.execId !== '') {
      const process = task.process(request.execId);
      const end = await this.exits.settle(task, process, await this.deleteAtNode(process, context));
      task.processes.delete(request.execId);
      return deleteResponseOf(end);
    }

    task.deleting = true;
    let answer: ProcessExit | undefined;
    try {
      answer = await this.deleteAtNode(task.init, context);
    } catch (error) {
      task.deleting = false;
      throw error;
    }
    // The VM is gone, and every exec'd process with it.
    for (const exec of task.execs()) await this.exits.settle(task, exec, undefined);
    const end = await this.exits.settle(task, task.init, answer);
    await this.unmountRootfs(task);
    this.tasks.remove(task);
    this.deps.log.info('task deleted', { id: task.id, exitStatus: end.exitStatus });
    void this.deps.events.publish(
      taskEvents.delete({ containerId: task.id, pid: end.pid, exitStatus: end.exitStatus, exitedAt: timestampOfMs(end.exitedAtMs), id: '' }),
    );
    return deleteResponseOf(end);
  }

  async exec(request: TaskRequest<'exec'>, context: RequestContext): Promise<TaskResponse<'exec'>> {
    const task = this.tasks.get(request.id);
    if (request.execId === '') throw new TtrpcError('INVALID_ARGUMENT', 'exec id cannot be empty');
    if (request.spec === undefined) throw new TtrpcError('INVALID_ARGUMENT', `exec ${request.execId} has no process spec`);
    const stdio = stdioOf(request);
    const process = task.addExec(request.execId, stdio);
    try {
      // containerd's typeurl packs an OCI Process, not being a protobuf message, as its JSON.
      await this.deps.nodeTasks.exec({ process: process.ref, processJson: request.spec.value.toString('utf8'), stdio }, callOf(context));
    } catch (error) {
      task.processes.delete(request.execId);
      throw error;
    }
    void this.deps.events.publish(taskEvents.execAdded({ containerId: task.id, execId: request.execId }));
    return {};
  }

  async state(request: TaskRequest<'state'>, context: RequestContext): Promise<TaskResponse<'state'>> {
    const task = this.tasks.get(request.id);
    const process = task.process(request.execId);
    const state = await this.deps.nodeTasks.state(process.ref, callOf(context));
    const stdio = state.stdio ?? process.stdio;
    return {
      id: process.eventId,
      bundle: task.bundle,
      pid: state.pid,
      status: taskStatusOf(state.status),
      stdin: stdio.stdin,
      stdout: stdio.stdout,
      stderr: stdio.stderr,
      terminal: stdio.terminal,
      exitStatus: state.exitStatus,
      exitedAt: exitedAtOfMs(state.exitedAtMs),
      execId: request.execId,
    };
  }

  async wait(request: TaskRequest<'wait'>, context: RequestContext): Promise<TaskResponse<'wait'>> {
    const process = this.tasks.get(request.id).process(request.execId);
    const end = await untilAborted(process.exit.ended, context.signal);
    return { exitStatus: end.exitStatus, exitedAt: timestampOfMs(end.exitedAtMs) };
  }

  async kill(request: TaskRequest<'kill'>, context: RequestContext): Promise<TaskResponse<'kill'>> {
    const process = this.tasks.get(request.id).process(request.execId);
    await this.deps.nodeTasks.kill({ process: process.ref, signal: request.signal, all: request.all }, callOf(context));
    return {};
  }

  async resizePty(request: TaskRequest<'resizePty'>, context: RequestContext): Promise<TaskResponse<'resizePty'>> {
    const process = this.tasks.get(request.id).process(request.execId);
    await this.deps.nodeTasks.resizePty({ process: process.ref, width: request.width, height: request.height }, callOf(context));
    return {};
  }

  async closeIO(request: TaskRequest<'closeIO'>, context: RequestContext): Promise<TaskResponse<'closeIO'>> {
    const process = this.tasks.get(request.id).process(request.execId);
    // Closing stdin is the only thing CloseIO does (containerd always asks for it).
    if (request.stdin) await this.deps.nodeTasks.closeIO(process.ref, callOf(context));
    return {};
  }

  async pids(request: TaskRequest<'pids'>, context: RequestContext): Promise<TaskResponse<'pids'>> {
    const task = this.tasks.get(request.id);
    const { pids } = await this.deps.nodeTasks.pids(task.ref, callOf(context));
    return { processes: pids.map((pid) => ({ pid, info: undefined })) };
  }

  async pause(request: TaskRequest<'pause'>, context: RequestContext): Promise<TaskResponse<'pause'>> {
    const task = this.tasks.get(request.id);
    await this.deps.nodeTasks.pause(task.ref, callOf(context));
    void this.deps.events.publish(taskEvents.paused({ containerId: task.id }));
    return {};
  }

  async resume(request: TaskRequest<'resume'>, context: RequestContext): Promise<TaskResponse<'resume'>> {
    const task = this.tasks.get(request.id);
    await this.deps.nodeTasks.resume(task.ref, callOf(context));
    void this.deps.events.publish(taskEvents.resumed({ containerId: task.id }));
    return {};
  }

  /** The task's container's use (its cgroup in the guest) as the cgroup v1 Metrics containerd decodes. */
  async stats(request: TaskRequest<'stats'>, context: RequestContext): Promise<TaskResponse<'stats'>> {
    const task = this.tasks.get(request.id);
    const use = await this.deps.nodeTasks.stats(task.ref, callOf(context));
    const metrics = CgroupMetrics.fromPartial({
      cpu: { usage: { total: use.cpuUsageNs } },
      memory: { usage: { usage: use.memoryUsageBytes, limit: use.memoryLimitBytes } },
      pids: { current: use.pidsCurrent },
    });
    return { stats: { typeUrl: METRICS_TYPE_URL, value: Buffer.from(CgroupMetrics.encode(metrics).finish()) } };
  }

  /** New limits for the task's container; the VM's own size stays as its start made it. */
  async update(request: TaskRequest<'update'>, context: RequestContext): Promise<TaskResponse<'update'>> {
    const task = this.tasks.get(request.id);
    if (request.resources === undefined) throw new TtrpcError('INVALID_ARGUMENT', `update of task ${request.id} names no resources`);
    // Like an exec's Process, containerd's typeurl packs the OCI LinuxResources as its JSON.
    await this.deps.nodeTasks.update({ task: task.ref, resourcesJson: request.resources.value.toString('utf8') }, callOf(context));
    return {};
  }

  checkpoint(request: TaskRequest<'checkpoint'>): Promise<TaskResponse<'checkpoint'>> {
    return answer(() => {
      this.tasks.get(request.id);
      throw new TtrpcError('UNIMPLEMENTED', 'the moat runtime cannot checkpoint a task');
    });
  }

  connect(request: TaskRequest<'connect'>): Promise<TaskResponse<'connect'>> {
    return answer(() => ({ shimPid: this.deps.shimPid, taskPid: this.tasks.find(request.id)?.init.pid ?? 0, version: '' }));
  }

  shutdown(): Promise<TaskResponse<'shutdown'>> {
    return answer(() => {
      // containerd asks after every task delete; a shim still serving a task stays.
      if (this.tasks.size === 0) this.deps.shutdown();
      return {};
    });
  }

  /** Stops watching every process (the shim is going away). */
  close(): void {
    for (const task of this.tasks.all()) for (const process of task.processes.values()) process.unwatch.abort();
  }

  /** The node agent's Delete of `process`; undefined when it no longer knows it (nothing left to remove). */
  private async deleteAtNode(process: ProcessRecord, context: RequestContext): Promise<ProcessExit | undefined> {
    try {
      return await this.deps.nodeTasks.delete(process.ref, callOf(context));
    } catch (error) {
      if (error instanceof TtrpcError && error.code === 'NOT_FOUND') return undefined;
      throw error;
    }
  }

  private async unmountRootfs(task: TaskRecord): Promise<void> {
    if (task.mountedRootfs === undefined) return;
    try {
      await this.deps.mounter.unmountAll(task.mountedRootfs);
      task.mountedRootfs = undefined;
    } catch (error) {
      // containerd unmounts the bundle's rootfs again before it removes the bundle.
      this.deps.log.warn('unmounting the task rootfs failed', { id: task.id, error });
    }
  }
}
