/**
 * `@moat/containerd-api`: the messages a containerd 1.6 shim (`containerd-shim-moat-v2`)
 * exchanges with containerd over ttrpc, generated at build time by ts-proto from the .proto files
 * of Debian 12's golang-github-containerd-containerd-dev (see README.md). Each message is a type
 * and a value of the same name with `encode`, `decode`, `create` and `fromPartial`; the service
 * definitions give full names and each method's request and response message, with no RPC code.
 */

// ---- the shim's service: containerd.task.v2.Task (runtime/v2/task/shim.proto) -------------
export {
  CheckpointTaskRequest,
  CloseIORequest,
  ConnectRequest,
  ConnectResponse,
  CreateTaskRequest,
  CreateTaskResponse,
  DeleteRequest,
  DeleteResponse,
  ExecProcessRequest,
  ExecProcessResponse,
  KillRequest,
  PauseRequest,
  PidsRequest,
  PidsResponse,
  ResizePtyRequest,
  ResumeRequest,
  ShutdownRequest,
  StartRequest,
  StartResponse,
  StateRequest,
  StateResponse,
  StatsRequest,
  StatsResponse,
  TaskDefinition,
  UpdateTaskRequest,
  WaitRequest,
  WaitResponse,
} from './generated/github.com/containerd/containerd/runtime/v2/task/shim';

// ---- types the task API uses (api/types/mount.proto, api/types/task/task.proto) ------------
export { Mount } from './generated/github.com/containerd/containerd/api/types/mount';
export { ProcessInfo, Status as TaskStatus } from './generated/github.com/containerd/containerd/api/types/task/task';

// ---- task events (api/events/task.proto) -------------------------------------------------
export {
  TaskCheckpointed,
  TaskCreate,
  TaskDelete,
  TaskExecAdded,
  TaskExecStarted,
  TaskExit,
  TaskIO,
  TaskOOM,
  TaskPaused,
  TaskResumed,
  TaskStart,
} from './generated/github.com/containerd/containerd/api/events/task';

// ---- publishing events: containerd.services.events.ttrpc.v1.Events/Forward ----------------
export { Envelope, EventsDefinition, ForwardRequest } from './generated/github.com/containerd/containerd/api/services/ttrpc/events/v1/events';

// ---- what Stats answers: a cgroup v1 Metrics, as containerd and the CRI decode it ------------
export { Metrics as CgroupMetrics } from './generated/github.com/containerd/cgroups/stats/v1/metrics';

// ---- well-known types in these messages ---------------------------------------------------
export { Any } from './generated/google/protobuf/any';
export { Empty } from './generated/google/protobuf/empty';
export { Timestamp } from './generated/google/protobuf/timestamp';
