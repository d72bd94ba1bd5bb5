import { TaskStatus } from '@moat/containerd-api';
import { ProcessStatus } from '@moat/proto/node-tasks';

/** containerd's status of a process in the node agent's status. */
export function taskStatusOf(status: ProcessStatus): TaskStatus {
  switch (status) {
    case ProcessStatus.PROCESS_STATUS_CREATED:
      return TaskStatus.CREATED;
    case ProcessStatus.PROCESS_STATUS_RUNNING:
      return TaskStatus.RUNNING;
    case ProcessStatus.PROCESS_STATUS_STOPPED:
      return TaskStatus.STOPPED;
    case ProcessStatus.PROCESS_STATUS_PAUSED:
      return TaskStatus.PAUSED;
    case ProcessStatus.PROCESS_STATUS_UNKNOWN:
    case ProcessStatus.UNRECOGNIZED:
      return TaskStatus.UNKNOWN;
  }
}
