import {
  TaskCreate,
  TaskDelete,
  TaskExecAdded,
  TaskExecStarted,
  TaskExit,
  TaskOOM,
  TaskPaused,
  TaskResumed,
  TaskStart,
  type Any,
} from '@moat/containerd-api';

/** containerd's task event topics (runtime/events.go). */
export type TaskTopic =
  | '/tasks/create'
  | '/tasks/start'
  | '/tasks/exit'
  | '/tasks/delete'
  | '/tasks/exec-added'
  | '/tasks/exec-started'
  | '/tasks/paused'
  | '/tasks/resumed'
  | '/tasks/oom';

/** A task event ready to forward: its topic and the message as an Any named as containerd's typeurl names it. */
export interface TaskEvent {
  readonly topic: TaskTopic;
  readonly event: Any;
}

interface Encoder<T> {
  encode(message: T): { finish(): Uint8Array };
}

function pack<T>(topic: TaskTopic, name: string, type: Encoder<T>, message: T): TaskEvent {
  return { topic, event: { typeUrl: `containerd.events.${name}`, value: Buffer.from(type.encode(message).finish()) } };
}

/** The events a shim publishes, one constructor per topic. */
export const taskEvents = {
  create: (event: TaskCreate) => pack('/tasks/create', 'TaskCreate', TaskCreate, event),
  start: (event: TaskStart) => pack('/tasks/start', 'TaskStart', TaskStart, event),
  exit: (event: TaskExit) => pack('/tasks/exit', 'TaskExit', TaskExit, event),
  delete: (event: TaskDelete) => pack('/tasks/delete', 'TaskDelete', TaskDelete, event),
  execAdded: (event: TaskExecAdded) => pack('/tasks/exec-added', 'TaskExecAdded', TaskExecAdded, event),
  execStarted: (event: TaskExecStarted) => pack('/tasks/exec-started', 'TaskExecStarted', TaskExecStarted, event),
  paused: (event: TaskPaused) => pack('/tasks/paused', 'TaskPaused', TaskPaused, event),
  resumed: (event: TaskResumed) => pack('/tasks/resumed', 'TaskResumed', TaskResumed, event),
  oom: (event: TaskOOM) => pack('/tasks/oom', 'TaskOOM', TaskOOM, event),
} as const;
