import { ProcessStatus, type ProcessExit, type ProcessRef, type ProcessState, type Stdio } from '@moat/proto/node-tasks';
import { TtrpcError } from '@moat/ttrpc';
import type { CallContext, NodeTasks } from '../node-tasks/node-tasks';

interface FakeProcess {
  pid: number;
  status: ProcessStatus;
  stdio: Stdio;
  exit: ProcessExit | undefined;
  waiters: { resolve: (exit: ProcessExit) => void; reject: (error: Error) => void }[];
  processJson?: string;
}

type Method = Exclude<keyof NodeTasks, 'close'>;

/**
 * The node agent's task API in memory, for unit tests: tasks and processes with their states,
 * Wait answered when the test ends a process (`exit`), and any call made to fail once with a
 * status (`failNext`). The VMM pid of every task is 4242; processes count up from 100.
 */
export class FakeNodeTasks implements NodeTasks {
  readonly calls: { method: Method; request: unknown }[] = [];
  private readonly tasks = new Map<string, Map<string, FakeProcess>>();
  private readonly failures = new Map<Method, TtrpcError[]>();
  private nextPid = 100;

  /** Makes the next call of `method` reject with `error`. */
  failNext(method: Method, error: TtrpcError): void {
    this.failures.set(method, [...(this.failures.get(method) ?? []), error]);
  }

  /** Ends a process as the node agent would see it end, answering its Waits. */
  exit(id: string, execId: string, exitStatus: number, exitedAtMs = 1_700_000_000_123): void {
    const process = this.process({ task: { namespace: 'default', id }, execId });
    process.status = ProcessStatus.PROCESS_STATUS_STOPPED;
    process.exit = { pid: process.pid, exitStatus, exitedAtMs };
    for (const waiter of process.waiters.splice(0)) waiter.resolve(process.exit);
  }

  /** Forgets a task as a node agent that lost it would: its Waits answer NOT_FOUND. */
  lose(id: string): void {
    for (const process of this.tasks.get(id)?.values() ?? []) {
      for (const waiter of process.waiters.splice(0)) waiter.reject(new TtrpcError('NOT_FOUND', `task ${id} not found`));
    }
    this.tasks.delete(id);
  }

  has(id: string): boolean {
    return this.tasks.has(id);
  }

  processJsonOf(id: string, execId: string): string | undefined {
    return this.process({ task: { namespace: 'default', id }, execId }).processJson;
  }

  create = this.method('create', ({ task, stdio }) => {
    const id = task?.id ?? '';
    if (this.tasks.has(id)) throw new TtrpcError('ALREADY_EXISTS', `task ${id} already exists`);
    this.tasks.set(id, new Map([['', this.newProcess(4242, stdio)]]));
    return { pid: 4242 };
  });

  start = this.method('start', (ref) => {
    const process = this.process(ref);
    if (process.status !== ProcessStatus.PROCESS_STATUS_CREATED) throw new TtrpcError('FAILED_PRECONDITION', 'process already started');
    process.status = ProcessStatus.PROCESS_STATUS_RUNNING;
    if (ref.execId !== '') process.pid = this.nextPid++;
    return { pid: process.pid };
  });

  exec = this.method('exec', ({ process: ref, processJson, stdio }) => {
    const processes = this.taskOf(ref?.task?.id ?? '');
    const execId = ref?.execId ?? '';
    if (processes.has(execId)) throw new TtrpcError('ALREADY_EXISTS', `process ${execId} exists`);
    processes.set(execId, { ...this.newProcess(0, stdio), processJson });
  });

  wait = (ref: ProcessRef, call?: CallContext): Promise<ProcessExit> => {
    this.calls.push({ method: 'wait', request: ref });
    const failure = this.failures.get('wait')?.shift();
    if (failure) return Promise.reject(failure);
    return new Promise((resolve, reject) => {
      const process = this.process(ref);
      if (process.exit) return resolve(process.exit);
      process.waiters.push({ resolve, reject });
      call?.signal?.addEventListener('abort', () => reject(new TtrpcError('CANCELLED', 'context canceled')), { once: true });
    });
  };

  state = this.method('state', (ref): ProcessState => {
    const process = this.process(ref);
    return { pid: process.pid, status: process.status, stdio: process.stdio, exitStatus: process.exit?.exitStatus ?? 0, exitedAtMs: process.exit?.exitedAtMs ?? 0 };
  });

  kill = this.method('kill', ({ process: ref }) => {
    this.process(ref ?? { task: undefined, execId: '' });
  });

  delete = this.method('delete', (ref): ProcessExit => {
    const process = this.process(ref);
    const exit = process.exit ?? { pid: process.pid, exitStatus: 137, exitedAtMs: 1_700_000_000_999 };
    if (ref.execId === '') this.lose(ref.task?.id ?? '');
    else this.taskOf(ref.task?.id ?? '').delete(ref.execId);
    return exit;
  });

  resizePty = this.method('resizePty', ({ process: ref }) => {
    this.process(ref ?? { task: undefined, execId: '' });
  });

  closeIO = this.method('closeIO', (ref) => {
    this.process(ref);
  });

  pids = this.method('pids', (task) => ({ pids: [...this.taskOf(task.id).keys()].map((_, i) => i + 1) }));

  pause = this.method('pause', (task) => {
    this.process({ task, execId: '' }).status = ProcessStatus.PROCESS_STATUS_PAUSED;
  });

  resume = this.method('resume', (task) => {
    this.process({ task, execId: '' }).status = ProcessStatus.PROCESS_STATUS_RUNNING;
  });

  stats = this.method('stats', (task) => {
    this.process({ task, execId: '' });
    return { cpuUsageNs: 5_000_000, memoryUsageBytes: 40 << 20, memoryLimitBytes: 256 << 20, pidsCurrent: 3 };
  });

  update = this.method('update', ({ task }) => {
    this.process({ task, execId: '' });
  });

  close(): void {
    // nothing to close
  }

  /** Sets the status the node agent reports for a process. */
  setStatus(id: string, execId: string, status: ProcessStatus): void {
    this.process({ task: { namespace: 'default', id }, execId }).status = status;
  }

  private method<M extends Method>(name: M, body: (request: Parameters<NodeTasks[M]>[0]) => Awaited<ReturnType<NodeTasks[M]>>) {
    return (request: Parameters<NodeTasks[M]>[0]): ReturnType<NodeTasks[M]> => {
      this.calls.push({ method: name, request });
      const failure = this.failures.get(name)?.shift();
      return (failure ? Promise.reject(failure) : new Promise((resolve) => resolve(body(request)))) as ReturnType<NodeTasks[M]>;
    };
  }

  private newProcess(pid: number, stdio: Stdio | undefined): FakeProcess {
    return { pid, status: ProcessStatus.PROCESS_STATUS_CREATED, stdio: stdio ?? { stdin: '', stdout: '', stderr: '', terminal: false }, exit: undefined, waiters: [] };
  }

  private taskOf(id: string): Map<string, FakeProcess> {
    const task = this.tasks.get(id);
    if (task === undefined) throw new TtrpcError('NOT_FOUND', `task ${id} not found`);
    return task;
  }

  private process(ref: ProcessRef): FakeProcess {
    const process = this.taskOf(ref.task?.id ?? '').get(ref.execId);
    if (process === undefined) throw new TtrpcError('NOT_FOUND', `process ${ref.execId} not found`);
    return process;
  }
}
