import { PassThrough } from 'node:stream';
import { describe, expect, it } from '@jest/globals';
import { AgentErrorCode } from '../errors/agent.error';
import { StreamBuffer } from './stream-buffer';

const tick = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

describe('StreamBuffer', () => {
  it('returns at most len bytes and keeps the rest in order', async () => {
    const source = new PassThrough();
    const buffer = new StreamBuffer(source, 1024);
    source.write('hello world');
    await tick();
    expect((await buffer.read(5)).toString()).toBe('hello');
    expect((await buffer.read(100)).toString()).toBe(' world');
  });

  it('blocks a read until data arrives', async () => {
    const source = new PassThrough();
    const buffer = new StreamBuffer(source, 1024);
    const pending = buffer.read(10);
    let settled = false;
    void pending.then(() => (settled = true));
    await tick();
    expect(settled).toBe(false);
    source.write('late');
    expect((await pending).toString()).toBe('late');
  });

  it('gives up a read whose call was abandoned without taking the data that comes later', async () => {
    const source = new PassThrough();
    const buffer = new StreamBuffer(source, 1024);
    const abandoned = new AbortController();
    const pending = buffer.read(10, abandoned.signal);
    abandoned.abort();
    await expect(pending).rejects.toMatchObject({ code: AgentErrorCode.NOT_YET });
    source.write('kept');
    await tick();
    expect((await buffer.read(10)).toString()).toBe('kept');
  });

  it('drains buffered data before reporting EOF as an empty read', async () => {
    const source = new PassThrough();
    const buffer = new StreamBuffer(source, 1024);
    source.end('tail');
    await tick();
    expect(buffer.eofDelivered).toBe(false);
    expect((await buffer.read(10)).toString()).toBe('tail');
    expect((await buffer.read(10)).length).toBe(0);
    expect(buffer.eofDelivered).toBe(true);
  });

  it('stops reading the pipe when full and resumes once the host reads', async () => {
    const source = new PassThrough({ highWaterMark: 16 });
    const buffer = new StreamBuffer(source, 32);
    // A writer that respects back-pressure, like a child blocked on a full pipe.
    let written = 0;
    const chunk = Buffer.alloc(16, 'x');
    const writeUntilBlocked = (): void => {
      while (written < 1024 && source.write(chunk)) written += chunk.length;
    };
    source.on('drain', () => {
      written += chunk.length;
      writeUntilBlocked();
    });
    writeUntilBlocked();
    for (let i = 0; i < 10; i++) await tick();

    expect(source.isPaused()).toBe(true);
    expect(buffer.size).toBeGreaterThanOrEqual(32);
    expect(buffer.size).toBeLessThanOrEqual(48);
    const blockedAt = written;
    expect(blockedAt).toBeLessThan(1024);

    await buffer.read(64);
    for (let i = 0; i < 10; i++) await tick();
    expect(source.isPaused()).toBe(true);
    expect(written).toBeGreaterThan(blockedAt);
  });

  it('treats a pipe error as the end of the stream', async () => {
    const source = new PassThrough();
    const buffer = new StreamBuffer(source, 1024);
    const pending = buffer.read(10);
    source.destroy(new Error('EPIPE'));
    expect((await pending).length).toBe(0);
  });
});
