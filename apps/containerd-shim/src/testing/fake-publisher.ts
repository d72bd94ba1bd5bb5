import type { EventPublisher } from '../events/event-publisher';
import type { TaskEvent, TaskTopic } from '../events/task-events';

/**
 * Records published events in order. `hold(topic)` keeps the delivery of that topic's events
 * pending until `release()`, to see what waits for a delivery.
 */
export class FakePublisher implements EventPublisher {
  readonly events: TaskEvent[] = [];
  private held: TaskTopic | undefined;
  private readonly pending: (() => void)[] = [];

  get topics(): TaskTopic[] {
    return this.events.map((event) => event.topic);
  }

  /** The events of `topic`, decoded with `type`. */
  decoded<T>(topic: TaskTopic, type: { decode(input: Uint8Array): T }): T[] {
    return this.events.filter((event) => event.topic === topic).map((event) => type.decode(event.event.value));
  }

  hold(topic: TaskTopic): void {
    this.held = topic;
  }

  release(): void {
    this.held = undefined;
    for (const deliver of this.pending.splice(0)) deliver();
  }

  publish(event: TaskEvent): Promise<boolean> {
    this.events.push(event);
    if (event.topic !== this.held) return Promise.resolve(true);
    return new Promise((resolve) => this.pending.push(() => resolve(true)));
  }

  close(): Promise<void> {
    return Promise.resolve();
  }
}
