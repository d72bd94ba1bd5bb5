import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { VirtioSerialTransport } from './virtio-serial.transport';

describe('VirtioSerialTransport.discardStaleOutput', () => {
  let dir: string;
  let server: Server | undefined;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'vser-'));
  });
  afterEach(async () => {
    await new Promise((resolve) => (server ? server.close(resolve) : resolve(undefined)));
    rmSync(dir, { recursive: true, force: true });
  });

  it('takes what the guest still sends for an old host on a throwaway connection, until it goes quiet', async () => {
    const path = join(dir, 'agent.sock');
    const events: string[] = [];
    // QEMU's chardev: the guest's blocked writes arrive as soon as a host connects, in bursts.
    server = createServer((socket: Socket) => {
      socket.on('error', () => undefined);
      socket.write('stale-1');
      setTimeout(() => {
        if (socket.destroyed) return;
        socket.write('stale-2');
        events.push('stale-2 sent');
      }, 100);
      socket.on('close', () => events.push('throwaway closed'));
    });
    await new Promise<void>((resolve) => server!.listen(path, resolve));
    await new VirtioSerialTransport(path).discardStaleOutput(150, 2_000);
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(events).toEqual(['stale-2 sent', 'throwaway closed']);
  });

  it('gives up after its limit when the guest never goes quiet', async () => {
    const path = join(dir, 'agent.sock');
    server = createServer((socket: Socket) => {
      // Writes racing the throwaway connection's close fail with EPIPE; QEMU just drops them.
      socket.on('error', () => undefined);
      const timer = setInterval(() => socket.write('x'), 20);
      socket.on('close', () => clearInterval(timer));
    });
    await new Promise<void>((resolve) => server!.listen(path, resolve));
    const started = Date.now();
    await new VirtioSerialTransport(path).discardStaleOutput(100, 300);
    expect(Date.now() - started).toBeLessThan(1_000);
  });

  it('returns at once when there is no socket to connect to', async () => {
    await expect(new VirtioSerialTransport(join(dir, 'missing.sock')).discardStaleOutput()).resolves.toBeUndefined();
  });
});
