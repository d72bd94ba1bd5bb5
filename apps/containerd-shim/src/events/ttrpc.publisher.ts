import { setTimeout as sleep } from 'node:timers/promises';
import { EventsDefinition, ForwardRequest } from '@moat/containerd-api';
import { TtrpcClient, TtrpcError } from '@moat/ttrpc';
import type { Logger } from '../log/logger';
import { timestampOfMs } from '../time/timestamp';
import type { EventPublisher } from './event-publisher';
import type { TaskEvent } from './task-events';

/** The pauses between attempts to forward one event: six attempts in about 8 s, then it is dropped. */
export const FORWARD_RETRY_DELAYS_MS: readonly number[] = [250, 500, 1_000, 2_000, 4_000];
/** How long one Forward call may take (containerd's own shims allow 5 s). */
export const FORWARD_TIMEOUT_MS = 5_000;

export interface TtrpcEventPublisherOptions {
  /** containerd's ttrpc socket (`TTRPC_ADDRESS`): a path, or `unix://` and a path. */
  readonly address: string;
  /** The containerd namespace the events belong to. */
  readonly namespace: string;
  readonly log: Logger;
  readonly retryDelaysMs?: readonly number[];
  readonly callTimeoutMs?: number;
  readonly connect?: (path: string) => Promise<TtrpcClient>;
  readonly now?: () => number;
}

/**
 * Publishes task events to containerd with ttrpc `containerd.services.events.ttrpc.v1.Events/Forward`
 * over one connection, opened on first use and again after it is lost. Events go one at a time
 * in publishing order: an event is retried (FORWARD_RETRY_DELAYS_MS) before the next one is
 * sent, so containerd never sees a TaskDelete ahead of its TaskExit.
 */
export class TtrpcEventPublisher implements EventPublisher {
  private readonly path: string;
  private readonly retryDelaysMs: readonly number[];
  private readonly callTimeoutMs: number;
  private readonly connect: (path: string) => Promise<TtrpcClient>;
  private readonly now: () => number;
  private readonly closing = new AbortController();
  private tail: Promise<unknown> = Promise.resolve();
  private client: Promise<TtrpcClient> | undefined;

  constructor(private readonly options: TtrpcEventPublisherOptions) {
    this.path = options.address.replace(/^unix:\/\//, '');
    this.retryDelaysMs = options.retryDelaysMs ?? FORWARD_RETRY_DELAYS_MS;
    this.callTimeoutMs = options.callTimeoutMs ?? FORWARD_TIMEOUT_MS;
    this.connect = options.connect ?? ((path) => TtrpcClient.connect(path));
    this.now = options.now ?? Date.now;
  }

  publish(event: TaskEvent): Promise<boolean> {
    if (this.closing.signal.aborted) {
      this.options.log.warn('event dropped: the publisher is closed', { topic: event.topic });
      return Promise.resolve(false);
    }
    // Stamped now, not when its turn comes: containerd orders and shows events by this time.
    const request = ForwardRequest.encode({
      envelope: { timestamp: timestampOfMs(this.now()), namespace: this.options.namespace, topic: event.topic, event: event.event },
    }).finish();
    const delivered = this.tail.then(() => this.deliver(event.topic, request));
    this.tail = delivered;
    return delivered;
  }

  async close(timeoutMs: number): Promise<void> {
    const timer = sleep(timeoutMs, undefined, { ref: false });
    await Promise.race([this.tail, timer]);
    this.closing.abort();
    const client = this.client;
    this.client = undefined;
    await client?.then((c) => c.close(), () => undefined);
  }

  private async deliver(topic: string, request: Uint8Array): Promise<boolean> {
    for (let attempt = 1; ; attempt++) {
      try {
        const client = await this.connection();
        await client.call(EventsDefinition.fullName, EventsDefinition.methods.forward.name, request, { timeoutMs: this.callTimeoutMs });
        this.options.log.debug('event forwarded', { topic });
        return true;
      } catch (error) {
        // A lost connection (or none yet) is opened again on the next attempt.
        if (!(error instanceof TtrpcError) || error.code === 'UNAVAILABLE') this.dropConnection();
        const delay = this.retryDelaysMs[attempt - 1];
        if (delay !== undefined && !this.closing.signal.aborted) {
          this.options.log.warn('forwarding an event failed; retrying', { topic, attempt, error });
          await sleep(delay, undefined, { signal: this.closing.signal }).catch(() => undefined);
        }
        if (delay === undefined || this.closing.signal.aborted) {
          this.options.log.error('event dropped: containerd did not take it', { topic, attempts: attempt, error });
          return false;
        }
      }
    }
  }

  private connection(): Promise<TtrpcClient> {
    this.client ??= this.connect(this.path);
    return this.client;
  }

  private dropConnection(): void {
    const client = this.client;
    this.client = undefined;
    void client?.then((c) => c.close(), () => undefined);
  }
}
