import { once } from 'node:events';
import { Duplex } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterEach, describe, expect, it } from '@jest/globals';
import { serialSyncAnswer, serialSyncRequest } from '@moat/proto';
import type { Logger } from '../../log/logger';
import type { BytePort } from './byte-port';
import { SessionBridge } from './session-bridge';

const silent: Logger = { info: () => undefined, warn: () => undefined, error: () => undefined };

/** A virtio_console port: reads block until the host sends or disconnects; 0 while detached. */
class FakePort implements BytePort {
  readonly written: Buffer[] = [];
  reads = 0;
  private incoming: Array<Buffer | 'disconnected'> = [];
  private detached = false;
  private wake?: () => void;

  send(data: string): void {
    this.detached = false;
    this.incoming.push(Buffer.from(data));
    this.wake?.();
  }

  /** The host end closes: every read returns 0 until the host sends again. */
  disconnect(): void {
    this.detached = true;
    this.wake?.();
  }

  async read(buffer: Buffer): Promise<number> {
    this.reads += 1;
    while (this.incoming.length === 0 && !this.detached) {
      await new Promise<void>((resolve) => (this.wake = resolve));
    }
    const next = this.incoming.shift();
    if (!next || next === 'disconnected') return 0;
    next.copy(buffer);
    return next.length;
  }

  write(data: Buffer): Promise<void> {
    this.written.push(data);
    return Promise.resolve();
  }

  close(): Promise<void> {
    return Promise.resolve();
  }

  text(): string {
    return Buffer.concat(this.written).toString();
  }
}

/** The server end of one bridged connection. */
class FakeConnection extends Duplex {
  readonly received: Buffer[] = [];
  override _write(chunk: Buffer, _encoding: BufferEncoding, done: () => void): void {
    this.received.push(chunk);
    done();
  }
  override _read(): void {}
  text(): string {
    return Buffer.concat(this.received).toString();
  }
}

async function until(condition: () => boolean): Promise<void> {
  for (let i = 0; i < 200 && !condition(); i++) await sleep(5);
  expect(condition()).toBe(true);
}

describe('SessionBridge', () => {
  let bridge: SessionBridge | undefined;
  afterEach(() => bridge?.stop());

  function start(port: FakePort, backoffMs = 20): FakeConnection[] {
    const connections: FakeConnection[] = [];
    bridge = new SessionBridge(
      port,
      () => {
        const connection = new FakeConnection();
        connections.push(connection);
        return Promise.resolve(connection);
      },
      silent,
      { disconnectedBackoffMs: backoffMs, readBufferBytes: 1024 },
    );
    void bridge.run();
    return connections;
  }

  it('carries bytes both ways over one connection while the host stays', async () => {
    const port = new FakePort();
    const connections = start(port);
    port.send('PRI * HTTP/2.0');
    port.send(' more');
    await until(() => connections[0]?.text() === 'PRI * HTTP/2.0 more');
    connections[0].push('answer');
    await until(() => port.text() === 'answer');
    expect(connections).toHaveLength(1);
  });

  it('gives a reconnecting host a fresh connection and closes the old one', async () => {
    const port = new FakePort();
    const connections = start(port);
    port.send('first host');
    await until(() => connections.length === 1);
    port.disconnect();
    await until(() => connections[0].destroyed);

    port.send('second host');
    await until(() => connections.length === 2 && connections[1].text() === 'second host');
    expect(connections[0].text()).toBe('first host');
  });

  const nonceA = 'a'.repeat(32);
  const nonceB = 'b'.repeat(32);

  it('answers a sync request and gives what follows it a connection of its own, ending the one before', async () => {
    const port = new FakePort();
    const connections = start(port);
    port.send(`${serialSyncRequest(nonceA)}first host`);
    await until(() => connections.length === 1 && connections[0].text() === 'first host');
    expect(port.text()).toBe(serialSyncAnswer(nonceA));
    // A host back before the guest saw the first one go (a paused guest): no 0-byte read in between.
    port.send(serialSyncRequest(nonceB));
    port.send('second host');
    await until(() => connections.length === 2 && connections[1].text() === 'second host');
    expect(connections[0].destroyed).toBe(true);
    expect(port.text()).toBe(serialSyncAnswer(nonceA) + serialSyncAnswer(nonceB));
  });

  it('writes what the old session had sent before the answer and nothing it says after, so the host can drop it all', async () => {
    const port = new FakePort();
    const connections = start(port);
    port.send(`${serialSyncRequest(nonceA)}long poll`);
    await until(() => connections.length === 1);
    connections[0].push('early answer');
    await until(() => port.text().endsWith('early answer'));
    port.send(`${serialSyncRequest(nonceB)}new call`);
    await until(() => connections.length === 2);
    connections[0].push('late answer');
    connections[1].push('fresh answer');
    await until(() => port.text().endsWith('fresh answer'));
    expect(port.text()).toBe(`${serialSyncAnswer(nonceA)}early answer${serialSyncAnswer(nonceB)}fresh answer`);
  });

  it('takes a sync request only at the start of a read, as QEMU delivers a new connection, and a malformed one as data', async () => {
    const port = new FakePort();
    const connections = start(port);
    port.send(`data ${serialSyncRequest(nonceA)}`);
    await until(() => connections.length === 1 && connections[0].text() === `data ${serialSyncRequest(nonceA)}`);
    port.send(serialSyncRequest('not hex'.padEnd(32, '!')));
    await until(() => connections[0].text().endsWith('!!\n'));
    expect(connections).toHaveLength(1);
    expect(port.text()).toBe('');
  });

  it('drops what the server says after the host left instead of handing it to the next host', async () => {
    const port = new FakePort();
    const connections = start(port);
    port.send('hello');
    await until(() => connections.length === 1);
    port.disconnect();
    await until(() => connections[0].destroyed);
    connections[0].push('stale answer');
    port.send('new host');
    await until(() => connections.length === 2);
    connections[1].push('fresh answer');
    await until(() => port.text() === 'fresh answer');
  });

  it('backs off instead of spinning while no host is attached', async () => {
    const port = new FakePort();
    start(port, 20);
    port.disconnect();
    await sleep(200);
    // About 10 reads in 200 ms at a 20 ms backoff; a spinning loop would do thousands.
    expect(port.reads).toBeGreaterThan(3);
    expect(port.reads).toBeLessThan(20);
  });

  it('opens a new connection when the server closed the previous one', async () => {
    const port = new FakePort();
    const connections = start(port);
    port.send('a');
    await until(() => connections.length === 1);
    const closed = once(connections[0], 'close');
    connections[0].destroy();
    await closed;
    port.send('b');
    await until(() => connections.length === 2 && connections[1].text() === 'b');
  });

  it('survives a server connection that fails while the bridge waits for it to drain', async () => {
    const port = new FakePort();
    /** A server that stops reading, then breaks (EPIPE): once() on 'drain' rejects with its error. */
    class StuckConnection extends FakeConnection {
      constructor() {
        super({ highWaterMark: 1 });
      }
      override _write(): void {
        // Never completes: the write buffer stays full.
      }
    }
    const connections: FakeConnection[] = [];
    let stuck = true;
    bridge = new SessionBridge(
      port,
      () => {
        const connection = stuck ? new StuckConnection() : new FakeConnection();
        stuck = false;
        connections.push(connection);
        return Promise.resolve(connection);
      },
      silent,
      { disconnectedBackoffMs: 20, readBufferBytes: 1024 },
    );
    let failed: unknown;
    void bridge.run().catch((error: unknown) => (failed = error));
    port.send('first host');
    await until(() => connections.length === 1);
    connections[0].destroy(Object.assign(new Error('write EPIPE'), { code: 'EPIPE' }));
    port.disconnect();
    port.send('second host');
    await until(() => connections.length === 2 && connections[1].text() === 'second host');
    expect(failed).toBeUndefined();
  });
});
