import { afterEach, beforeEach, describe, expect, it } from '@jest/globals';
import { join } from 'node:path';
import { EventsDefinition, ForwardRequest, TaskExit, type Envelope } from '@moat/containerd-api';
import { TtrpcError, TtrpcServer } from '@moat/ttrpc';
import { SILENT_LOGGER } from '../testing/silent-logger';
import { tempDir } from '../testing/temp-dir';
import { taskEvents } from './task-events';
import { TtrpcEventPublisher } from './ttrpc.publisher';

/** containerd's events service, recording what it is forwarded; `failures` answers that many calls with an error first. */
class FakeContainerd {
  readonly envelopes: Envelope[] = [];
  readonly server = new TtrpcServer();
  failures = 0;
  delayMs = 0;
  inFlight = 0;
  maxInFlight = 0;

  constructor() {
    this.server.register(EventsDefinition.fullName, {
      Forward: async (payload) => {
        this.inFlight++;
        this.maxInFlight = Math.max(this.maxInFlight, this.inFlight);
        try {
          await new Promise((resolve) => setTimeout(resolve, this.delayMs));
          if (this.failures > 0) {
            this.failures--;
            throw new TtrpcError('UNAVAILABLE', 'exchange busy');
          }
          this.envelopes.push(ForwardRequest.decode(payload).envelope!);
          return new Uint8Array();
        } finally {
          this.inFlight--;
        }
      },
    });
  }

  topics(): string[] {
    return this.envelopes.map((envelope) => envelope.topic);
  }
}

const exitEvent = (exitStatus: number) =>
  taskEvents.exit({ containerId: 'web', id: 'web', pid: 4242, exitStatus, exitedAt: { seconds: 1_700_000_000, nanos: 0 } });

describe('TtrpcEventPublisher', () => {
  let dir: Awaited<ReturnType<typeof tempDir>>;
  let containerd: FakeContainerd;
  let publisher: TtrpcEventPublisher;
  let socket: string;

  beforeEach(async () => {
    dir = await tempDir();
    socket = join(dir.path, 'containerd.sock.ttrpc');
    containerd = new FakeContainerd();
    publisher = new TtrpcEventPublisher({ address: socket, namespace: 'k8s.io', log: SILENT_LOGGER, retryDelaysMs: [10, 10, 10], now: () => 1_700_000_123_456 });
  });

  afterEach(async () => {
    await publisher.close(1_000);
    await containerd.server.close();
    await dir.remove();
  });

  it('forwards an event in an envelope with the namespace, the topic, the time and the event as a containerd typeurl Any', async () => {
    await containerd.server.listen(socket);
    expect(await publisher.publish(exitEvent(3))).toBe(true);
    const [envelope] = containerd.envelopes;
    expect(envelope).toMatchObject({ namespace: 'k8s.io', topic: '/tasks/exit', timestamp: { seconds: 1_700_000_123, nanos: 456_000_000 } });
    expect(envelope.event?.typeUrl).toBe('containerd.events.TaskExit');
    expect(TaskExit.decode(envelope.event!.value)).toMatchObject({ containerId: 'web', exitStatus: 3 });
  });

  it('takes unix:// addresses too', async () => {
    await containerd.server.listen(socket);
    const other = new TtrpcEventPublisher({ address: `unix://${socket}`, namespace: 'default', log: SILENT_LOGGER });
    expect(await other.publish(exitEvent(0))).toBe(true);
    await other.close(1_000);
  });

  it('sends one event at a time, in the order published', async () => {
    await containerd.server.listen(socket);
    containerd.delayMs = 15;
    const delivered = await Promise.all([
      publisher.publish(taskEvents.start({ containerId: 'web', pid: 1 })),
      publisher.publish(exitEvent(0)),
      publisher.publish(taskEvents.delete({ containerId: 'web', pid: 1, exitStatus: 0, exitedAt: undefined, id: '' })),
    ]);
    expect(delivered).toEqual([true, true, true]);
    expect(containerd.topics()).toEqual(['/tasks/start', '/tasks/exit', '/tasks/delete']);
    expect(containerd.maxInFlight).toBe(1);
  });

  it('retries an event containerd refused before sending the next', async () => {
    await containerd.server.listen(socket);
    containerd.failures = 2;
    const delivered = await Promise.all([publisher.publish(exitEvent(1)), publisher.publish(taskEvents.paused({ containerId: 'web' }))]);
    expect(delivered).toEqual([true, true]);
    expect(containerd.topics()).toEqual(['/tasks/exit', '/tasks/paused']);
  });

  it('connects once containerd listens', async () => {
    const publishing = publisher.publish(exitEvent(0));
    await new Promise((resolve) => setTimeout(resolve, 5));
    await containerd.server.listen(socket);
    expect(await publishing).toBe(true);
  });

  it('drops an event after its retries and goes on with the next', async () => {
    await containerd.server.listen(socket);
    containerd.failures = 4;
    expect(await publisher.publish(exitEvent(1))).toBe(false);
    expect(await publisher.publish(exitEvent(2))).toBe(true);
    expect(containerd.envelopes.map((envelope) => TaskExit.decode(envelope.event!.value).exitStatus)).toEqual([2]);
  });

  it('delivers what is queued before it closes, and drops what comes after', async () => {
    await containerd.server.listen(socket);
    containerd.delayMs = 10;
    const queued = publisher.publish(exitEvent(0));
    await publisher.close(1_000);
    expect(await queued).toBe(true);
    expect(await publisher.publish(exitEvent(1))).toBe(false);
    expect(containerd.envelopes).toHaveLength(1);
  });
});
