import type {
  CreateTaskRequest,
  CreateTaskResponse,
  ExecRequest,
  KillRequest,
  PidsResponse,
  ProcessExit,
  ProcessRef,
  ProcessState,
  ResizeRequest,
  StartResponse,
  StatsResponse,
  TaskRef,
  UpdateRequest,
} from '@moat/proto/node-tasks';

/** What the shim's caller (containerd over ttrpc) lets a forwarded call run for. */
export interface CallContext {
  /** Aborts the call (containerd went away, or its deadline passed). */
  readonly signal?: AbortSignal;
  /** When the caller stops waiting, in ms since the epoch. */
  readonly deadline?: number;
}

/**
 * The node agent's task API (`moat.node.v1.NodeTasks`, node-tasks.proto), as the shim uses it.
 * A failure rejects with a TtrpcError whose code is the node agent's gRPC status code and whose
 * message is the node agent's: the shim hands it to containerd unchanged.
 */
export interface NodeTasks {
  create(request: CreateTaskRequest, call?: CallContext): Promise<CreateTaskResponse>;
  start(process: ProcessRef, call?: CallContext): Promise<StartResponse>;
  exec(request: ExecRequest, call?: CallContext): Promise<void>;
  /** Answers once the process has exited; waits as long as it takes. */
  wait(process: ProcessRef, call?: CallContext): Promise<ProcessExit>;
  state(process: ProcessRef, call?: CallContext): Promise<ProcessState>;
  kill(request: KillRequest, call?: CallContext): Promise<void>;
  delete(process: ProcessRef, call?: CallContext): Promise<ProcessExit>;
  resizePty(request: ResizeRequest, call?: CallContext): Promise<void>;
  closeIO(process: ProcessRef, call?: CallContext): Promise<void>;
  pids(task: TaskRef, call?: CallContext): Promise<PidsResponse>;
  pause(task: TaskRef, call?: CallContext): Promise<void>;
  resume(task: TaskRef, call?: CallContext): Promise<void>;
  stats(task: TaskRef, call?: CallContext): Promise<StatsResponse>;
  update(request: UpdateRequest, call?: CallContext): Promise<void>;
  close(): void;
}
