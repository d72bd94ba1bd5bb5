import { once } from 'node:events';
import { Duplex } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterEach, describe, expect, it } from '@jest/globals';
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

  it('gives a host that reconnected before the disconnect was seen a fresh connection, by its HTTP/2 preface', async () => {
    const preface = 'PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n';
    const port = new FakePort();
    const connections = start(port);
    port.send(`${preface}first host`);
    await until(() => connections.length === 1);
    port.send(`${preface}second host`);
    await until(() => connections.length === 2 && connections[1].text() === `${preface}second host`);
    expect(connections[0].text()).toBe(`${preface}first host`);
    expect(connections[0].destroyed).toBe(true);
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
