import { createServer, type Socket } from 'node:net';
import { describe, expect, it } from '@jest/globals';
import { unixSocketServers } from '../../testing/unix-socket-servers';
import { VirtioSerialTransport } from './virtio-serial.transport';

describe('VirtioSerialTransport.discardStaleOutput', () => {
  const sockets = unixSocketServers('vser-');

  it('takes what the guest still sends for an old host on a throwaway connection, until it goes quiet', async () => {
    const path = sockets.path('agent.sock');
    const events: string[] = [];
    // QEMU's chardev: the guest's blocked writes arrive as soon as a host connects, in bursts.
    const server = createServer((socket: Socket) => {
      socket.on('error', () => undefined);
      socket.write('stale-1');
      setTimeout(() => {
        if (socket.destroyed) return;
        socket.write('stale-2');
        events.push('stale-2 sent');
      }, 100);
      socket.on('close', () => events.push('throwaway closed'));
    });
    await sockets.listen('agent.sock', server);
    await new VirtioSerialTransport(path).discardStaleOutput(150, 2_000);
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(events).toEqual(['stale-2 sent', 'throwaway closed']);
  });

  it('gives up after its limit when the guest never goes quiet', async () => {
    const path = sockets.path('agent.sock');
    const server = createServer((socket: Socket) => {
      // Writes racing the throwaway connection's close fail with EPIPE; QEMU just drops them.
      socket.on('error', () => undefined);
      const timer = setInterval(() => socket.write('x'), 20);
      socket.on('close', () => clearInterval(timer));
    });
    await sockets.listen('agent.sock', server);
    const started = Date.now();
    await new VirtioSerialTransport(path).discardStaleOutput(100, 300);
    expect(Date.now() - started).toBeLessThan(1_000);
  });

  it('returns at once when there is no socket to connect to', async () => {
    await expect(new VirtioSerialTransport(sockets.path('missing.sock')).discardStaleOutput()).resolves.toBeUndefined();
  });
});
