import type { TaskEvent } from './task-events';

/** Sends task events to containerd, in the order they are published. */
export interface EventPublisher {
  /**
   * Queues `event` behind every event published before it. Resolves once it is delivered (true)
   * or given up after retries (false); never rejects.
   */
  publish(event: TaskEvent): Promise<boolean>;
  /** Waits up to `timeoutMs` for the queue to empty, then closes the connection; later events are dropped. */
  close(timeoutMs: number): Promise<void>;
}
