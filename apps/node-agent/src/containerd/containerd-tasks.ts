import { randomUUID } from 'node:crypto';
import { MAX_VCPUS, MIN_MEMORY_MIB } from '@moat/proto';
import {
  ProcessStatus,
  type CreateTaskRequest,
  type ExecRequest,
  type ProcessExit,
  type ProcessRef,
  type ProcessState,
  type StatsResponse,
  type Stdio,
  type TaskRef,
  type UpdateRequest,
} from '@moat/proto/node-tasks';
import { bundlePodRole, bundleSize, type BundleSize, type PodOptions, type ProcessSession, type SandboxInfo, type SandboxRuntime, type SessionOptions } from '@moat/runtime-core';
import type { Logger } from 'pino';
import { execSessionOptions } from './exec-process';
import { containerLimits } from './oci-resources';
import { ProcessIo } from './process-io';
import { TaskError, taskError } from './task.errors';

/** A process in a task's VM, as its session gives it. */
export type TaskSession = Pick<ProcessSession, 'output' | 'write' | 'closeStdin' | 'resize' | 'signal' | 'wait' | 'close'>;

/** The part of the runtime containerd's tasks use (a fake implements it in unit tests). */
export type TaskRuntime = Pick<
  SandboxRuntime,
  'create' | 'delete' | 'list' | 'addContainer' | 'removeContainer' | 'startContainer' | 'setPaused' | 'stats' | 'processes' | 'updateResources'
> & {
  initSession(id: string, containerId: string): TaskSession;
  openSession(id: string, opts: SessionOptions, containerId: string): Promise<TaskSession>;
};

/** A task whose bundle limits nothing gets the smallest useful VM. */
export const DEFAULT_TASK_SIZE: BundleSize = { vcpus: 1, memoryMiB: 256 };

/** containerd's exit status of a process killed without a word of how it ended (SIGKILL). */
const KILLED_STATUS = 128 + 9;

/** The init (exec id '') or an exec'd process of a task. */
interface TaskProcess {
  execId: string;
  stdio: Stdio;
  status: ProcessStatus;
  /** What an exec runs once started. */
  options?: SessionOptions;
  session?: TaskSession;
  io?: ProcessIo;
  exit?: ProcessExit;
  /** Resolves once the process has exited and all its output is written. */
  exited?: Promise<ProcessExit>;
}

interface Task {
  ref: TaskRef;
  /** The VM it runs in: its own, or its pod's. */
  sandboxId: string;
  /** Its container in the guest: the VM's own (the sandbox id), or one its pod added (the task id). */
  containerId: string;
  /** The VMM's host pid: what containerd shows for every process of the task. */
  pid: number;
  /** False until its VM runs. */
  ready: boolean;
  processes: Map<string, TaskProcess>;
}

function keyOf(ref: TaskRef): string {
  return `${ref.namespace}/${ref.id}`;
}

function nameOf(ref: TaskRef, execId: string): string {
  return execId === '' ? `task ${keyOf(ref)}` : `process ${execId} of task ${keyOf(ref)}`;
}

function rethrow(error: unknown): never {
  throw taskError(error);
}

/**
 * containerd's tasks on this node: what the node agent does for `NodeTasks` calls from the
 * containerd shim. A task is a sandbox VM of the node's runtime whose container is the task's
 * init, its execs processes in that container. A pod (CRI's annotations on the bundle) is one
 * VM: its sandbox task boots it in the netns CRI set up, and each of its other containers is a
 * task whose container is added to that VM. The sandboxes carry their containerd names, so a
 * restarted node agent finds them again.
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
    const key = keyOf(ref);
    if (this.tasks.has(key) || this.adopted(ref)) throw new TaskError('ALREADY_EXISTS', `task ${key} already exists`);
    const init: TaskProcess = { execId: '', stdio, status: ProcessStatus.PROCESS_STATUS_CREATED };
    const sandboxId = randomUUID();
    const task: Task = { ref, sandboxId, containerId: sandboxId, pid: 0, ready: false, processes: new Map([['', init]]) };
    this.tasks.set(key, task);
    let booting = false;
    try {
      const role = await bundlePodRole(bundle);
      booting = role.kind !== 'container';
      if (role.kind === 'container') await this.joinPod(task, role.sandboxId, bundle, stdio.terminal);
      else await this.boot(task, bundle, stdio.terminal, role.kind === 'sandbox' ? role.pod : undefined);
      task.ready = true;
      return { pid: task.pid };
    } catch (error) {
      this.tasks.delete(key);
      if (booting) {
        await this.runtime.delete(task.sandboxId).catch((err: unknown) => this.log.error({ err, sandboxId: task.sandboxId }, 'releasing a failed task left something behind'));
      }
      throw taskError(error);
    }
  }

  /** The task's own VM (a pod's, with `pod`), sized by its bundle. */
  private async boot(task: Task, bundle: string, tty: boolean, pod: PodOptions | undefined): Promise<void> {
    const size = await bundleSize(bundle, DEFAULT_TASK_SIZE, { minMemoryMiB: MIN_MEMORY_MIB, maxVcpus: MAX_VCPUS });
    const info = await this.runtime.create({ id: task.sandboxId, ...size, env: {}, bundle, containerd: { ...task.ref }, deferStart: true, tty, ...(pod && { pod }) });
    if (info.state !== 'running') throw new TaskError('UNAVAILABLE', `${info.error?.code ?? 'START_FAILED'}: ${info.error?.message ?? `the task's VM is ${info.state}`}`);
    task.pid = info.vmmPid ?? 0;
    this.log.info({ task: keyOf(task.ref), sandboxId: task.sandboxId, ...size, pod: pod !== undefined }, 'containerd task created');
  }

  /** A pod's container: added to the VM its sandbox task booted. */
  private async joinPod(task: Task, podId: string, bundle: string, tty: boolean): Promise<void> {
    const pod = this.tasks.get(keyOf({ namespace: task.ref.namespace, id: podId })) ?? this.adopted({ namespace: task.ref.namespace, id: podId });
    if (!pod?.ready || pod.containerId !== pod.sandboxId) throw new TaskError('FAILED_PRECONDITION', `pod sandbox ${podId} has no running VM on this node`);
    Object.assign(task, { sandboxId: pod.sandboxId, containerId: task.ref.id, pid: pod.pid });
    await this.runtime.addContainer(pod.sandboxId, { containerId: task.ref.id, bundle, tty });
    this.log.info({ task: keyOf(task.ref), sandboxId: task.sandboxId, pod: podId }, "containerd task added to its pod's VM");
  }

  /** Adds a process to a running task, to be started by {@link start}. */
  exec({ process: ref, processJson, stdio }: ExecRequest): void {
    if (!ref?.task || !stdio) throw new TaskError('INVALID_ARGUMENT', 'an exec names its process and stdio');
    if (ref.execId === '') throw new TaskError('INVALID_ARGUMENT', 'an exec needs an exec id');
    const task = this.task(ref.task);
    if (task.processes.get('')?.status !== ProcessStatus.PROCESS_STATUS_RUNNING) throw new TaskError('FAILED_PRECONDITION', `task ${keyOf(ref.task)} is not running`);
    if (task.processes.has(ref.execId)) throw new TaskError('ALREADY_EXISTS', `${nameOf(ref.task, ref.execId)} already exists`);
    const options = execSessionOptions(processJson);
    if (options.tty !== stdio.terminal) throw new TaskError('INVALID_ARGUMENT', 'the process spec and the stdio disagree on a terminal');
    task.processes.set(ref.execId, { execId: ref.execId, stdio, status: ProcessStatus.PROCESS_STATUS_CREATED, options });
  }

  /** Starts the init or an exec'd process: its stdio flows through containerd's FIFOs from here. */
  async start(ref: ProcessRef): Promise<{ pid: number }> {
    const { task, process } = this.process(ref);
    if (process.status !== ProcessStatus.PROCESS_STATUS_CREATED) throw new TaskError('FAILED_PRECONDITION', `${nameOf(task.ref, process.execId)} is not waiting to start`);
    const io = await ProcessIo.open(process.stdio).catch((error: unknown) => {
      throw new TaskError('FAILED_PRECONDITION', `open the process's FIFOs: ${taskError(error).message}`);
    });
    let session: TaskSession;
    try {
      session = await this.startSession(task, process);
    } catch (error) {
      io.close();
      throw taskError(error);
    }
    Object.assign(process, { io, session, status: ProcessStatus.PROCESS_STATUS_RUNNING });
    this.watch(task, process, io.copy(session));
    return { pid: task.pid };
  }

  /** How the process ended, once it has and its output is written. */
  async wait(ref: ProcessRef): Promise<ProcessExit> {
    const { task, process } = this.process(ref);
    if (process.exit) return process.exit;
    if (!process.exited) throw new TaskError('FAILED_PRECONDITION', `${nameOf(task.ref, process.execId)} is not started`);
    return process.exited;
  }

  state(ref: ProcessRef): ProcessState {
    const { task, process } = this.process(ref);
    return { pid: task.pid, status: process.status, stdio: process.stdio, exitStatus: process.exit?.exitStatus ?? 0, exitedAtMs: process.exit?.exitedAtMs ?? 0 };
  }

  /** Signals the process, or with `all` every process of the task (its init's end ends them all). */
  async kill(ref: ProcessRef, signal: number, all: boolean): Promise<void> {
    const { task, process } = this.process(ref);
    if (process.exit) throw new TaskError('NOT_FOUND', `${nameOf(task.ref, process.execId)} has already exited`);
    if (!process.session) throw new TaskError('FAILED_PRECONDITION', `${nameOf(task.ref, process.execId)} is not started`);
    const targets = all ? [...task.processes.values()].filter((p) => !p.exit) : [process];
    const sessions = targets.flatMap((p) => (p.session ? [p.session] : []));
    await Promise.all(sessions.map((session) => session.signal(signal))).catch(rethrow);
  }

  /** Resizes the process's terminal; a size of 0 (a client whose own terminal has none yet) changes nothing. */
  async resize(ref: ProcessRef, cols: number, rows: number): Promise<void> {
    const { task, process } = this.process(ref);
    if (!process.stdio.terminal) throw new TaskError('FAILED_PRECONDITION', `${nameOf(task.ref, process.execId)} has no terminal`);
    if (!process.session || process.exit || cols === 0 || rows === 0) return;
    await process.session.resize({ cols, rows }).catch(rethrow);
  }

  /** containerd's client closed the process's stdin: its FIFO's end says so too, so this only checks the name. */
  closeStdin(ref: ProcessRef): void {
    this.process(ref);
  }

  /**
   * An exec'd process: forgets it (killing it if it still runs). The init: stops and removes the
   * task's VM and every host resource it held. Answers how the process ended.
   */
  async delete(ref: ProcessRef): Promise<ProcessExit> {
    const { task, process } = this.process(ref);
    if (process.execId !== '') {
      await this.end(process);
      task.processes.delete(process.execId);
      return process.exit ?? { pid: task.pid, exitStatus: KILLED_STATUS, exitedAtMs: Date.now() };
    }
    await Promise.all([...task.processes.values()].map((p) => this.end(p)));
    if (task.containerId === task.sandboxId) await this.runtime.delete(task.sandboxId).catch(rethrow);
    // A pod's container whose VM went first (its pod deleted) has nothing left to remove.
    else if (this.runtime.list().some((s) => s.id === task.sandboxId)) await this.runtime.removeContainer(task.sandboxId, task.containerId).catch(rethrow);
    this.tasks.delete(keyOf(task.ref));
    this.log.info({ task: keyOf(task.ref), sandboxId: task.sandboxId }, 'containerd task deleted');
    return process.exit ?? { pid: task.pid, exitStatus: KILLED_STATUS, exitedAtMs: Date.now() };
  }

  async setPaused(ref: TaskRef, paused: boolean): Promise<void> {
    const task = this.task(ref);
    const init = task.processes.get('');
    const from = paused ? ProcessStatus.PROCESS_STATUS_RUNNING : ProcessStatus.PROCESS_STATUS_PAUSED;
    if (init?.status !== from) throw new TaskError('FAILED_PRECONDITION', `task ${keyOf(ref)} is not ${paused ? 'running' : 'paused'}`);
    await this.runtime.setPaused(task.sandboxId, paused, task.containerId).catch(rethrow);
    init.status = paused ? ProcessStatus.PROCESS_STATUS_PAUSED : ProcessStatus.PROCESS_STATUS_RUNNING;
  }

  /** The init's container's resource use, from its cgroup in the guest. */
  async stats(ref: TaskRef): Promise<StatsResponse> {
    const task = this.task(ref);
    const { cpu, memory, pids } = await this.runtime.stats(task.sandboxId, task.containerId).catch(rethrow);
    return { cpuUsageNs: cpu.usageUsec * 1000, memoryUsageBytes: memory.currentBytes, memoryLimitBytes: memory.limitBytes, pidsCurrent: pids.current };
  }

  /** New limits for the task's container (containerd's Update), within its VM's size. */
  async update({ task: ref, resourcesJson }: UpdateRequest): Promise<void> {
    if (!ref) throw new TaskError('INVALID_ARGUMENT', 'an update names its task');
    const task = this.task(ref);
    await this.runtime.updateResources(task.sandboxId, containerLimits(resourcesJson), task.containerId).catch(rethrow);
  }

  /** The task's processes by their pids in the guest: its container's cgroup members. */
  async pids(ref: TaskRef): Promise<number[]> {
    const task = this.task(ref);
    return this.runtime.processes(task.sandboxId, task.containerId).catch(rethrow);
  }

  /** Deletes every task (a node agent that stops its sandboxes on exit). */
  async deleteAll(): Promise<void> {
    await Promise.all(
      [...this.tasks.values()].map((task) =>
        this.delete({ task: task.ref, execId: '' }).catch((err: unknown) => this.log.error({ err, task: keyOf(task.ref) }, 'deleting a containerd task failed')),
      ),
    );
  }

  private async startSession(task: Task, process: TaskProcess): Promise<TaskSession> {
    if (process.options) return this.runtime.openSession(task.sandboxId, process.options, task.containerId);
    await this.runtime.startContainer(task.sandboxId, task.containerId);
    return this.runtime.initSession(task.sandboxId, task.containerId);
  }

  /** Kills a process that still runs and closes its FIFOs. */
  private async end(process: TaskProcess): Promise<void> {
    process.io?.close();
    if (!process.exit) await process.session?.close();
  }

  /**
   * Waits for the process's end in the background. A VM that dies takes its processes with it:
   * that counts as a kill, so containerd still hears of an exit.
   */
  private watch(task: Task, process: TaskProcess, copied: Promise<void>): void {
    const name = nameOf(task.ref, process.execId);
    const exited = async (): Promise<ProcessExit> => {
      let status: number;
      try {
        // The guest's status is containerd's: the code, or 128 + the signal that killed it.
        status = (await (process.session as TaskSession).wait()).exitCode;
      } catch (error) {
        this.log.warn({ err: error, process: name }, 'the process could not be waited for; counting it killed');
        status = KILLED_STATUS;
      }
      await copied.catch((err: unknown) => this.log.warn({ err, process: name }, "copying the process's output failed"));
      process.exit = { pid: task.pid, exitStatus: status, exitedAtMs: Date.now() };
      process.status = ProcessStatus.PROCESS_STATUS_STOPPED;
      return process.exit;
    };
    process.exited = exited();
  }

  private process(ref: ProcessRef): { task: Task; process: TaskProcess } {
    if (!ref.task) throw new TaskError('INVALID_ARGUMENT', 'the call names no task');
    const task = this.task(ref.task);
    const process = task.processes.get(ref.execId);
    if (!process) throw new TaskError('NOT_FOUND', `${nameOf(ref.task, ref.execId)} not found`);
    return { task, process };
  }

  private task(ref: TaskRef): Task {
    const task = this.tasks.get(keyOf(ref)) ?? this.adopted(ref);
    if (!task?.ready) throw new TaskError('NOT_FOUND', `task ${keyOf(ref)} not found`);
    return task;
  }

  /**
   * A task the runtime holds but this process does not know: one a previous node agent started.
   * Its output and its execs went with that agent; its init's end is waited for again.
   */
  private adopted(ref: TaskRef): Task | undefined {
    const inNamespace = this.runtime.list().filter((s: SandboxInfo) => s.containerd?.namespace === ref.namespace);
    const own = inNamespace.find((s) => s.containerd?.id === ref.id);
    const pod = own ? undefined : inNamespace.find((s) => s.podContainers?.includes(ref.id));
    const info = own ?? pod;
    if (!info) return undefined;
    const init: TaskProcess = { execId: '', stdio: { stdin: '', stdout: '', stderr: '', terminal: false }, status: ProcessStatus.PROCESS_STATUS_RUNNING };
    const task: Task = { ref, sandboxId: info.id, containerId: own ? info.id : ref.id, pid: info.vmmPid ?? 0, ready: true, processes: new Map([['', init]]) };
    this.tasks.set(keyOf(ref), task);
    try {
      init.session = this.runtime.initSession(task.sandboxId, task.containerId);
      this.watch(task, init, Promise.resolve());
    } catch {
      // A VM that failed meanwhile, or an init never started: either way it will not run.
      init.exit = { pid: task.pid, exitStatus: KILLED_STATUS, exitedAtMs: Date.now() };
      init.status = ProcessStatus.PROCESS_STATUS_STOPPED;
    }
    return task;
  }
}
