import { Server, ServerCredentials } from '@grpc/grpc-js';
import { AgentServiceService, HealthCheckResponse_ServingStatus, HealthService, type HealthServer } from '@moat/proto';
import { mkdtempSync, rmSync } from 'node:fs';
import { connect, createServer, type Server as NetServer, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from '@jest/globals';
import { eventually } from '@moat/test-support';
import { AgentClient } from '../../src/agent/agent.client';
import { createAgentTransport } from '../../src/agent/transport/agent-transport.factory';
import { dialHybridVsock } from '../../src/agent/transport/hybrid-vsock.dialer';
import { RuntimeErrorCode } from '../../src/errors/runtime.errors';

type Behaviour = (peer: Socket, request: string) => void;

/**
 * A real unix-socket peer that speaks Firecracker's hybrid vsock: it reads `CONNECT <port>\n`
 * and then behaves as told (accepts and splices to a gRPC server, refuses, babbles, stalls).
 */
function vmmSocket(path: string, behaviour: Behaviour): Promise<NetServer> {
  const server = createServer((peer) => {
    let line = '';
    const onData = (chunk: Buffer): void => {
      line += chunk.toString('latin1');
      if (!line.includes('\n')) return;
      peer.off('data', onData);
      behaviour(peer, line);
    };
    peer.on('data', onData);
    peer.on('error', () => undefined);
  });
  return new Promise((resolve) => server.listen(path, () => resolve(server)));
}

describe('hybrid vsock against a real unix-socket peer', () => {
  let dir: string;
  const closers: Array<() => void> = [];

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'hvsock-'));
  });
  afterEach(() => {
    for (const close of closers.splice(0)) close();
    rmSync(dir, { recursive: true, force: true });
  });

  const dial = (handshakeTimeoutMs = 500) => dialHybridVsock({ udsPath: join(dir, 'vsock.sock'), port: 1024, handshakeTimeoutMs });

  it('sends CONNECT <port> and hands over a stream that starts right after OK, bytes in the same packet included', async () => {
    let request = '';
    const vmm = await vmmSocket(join(dir, 'vsock.sock'), (peer, line) => {
      request = line;
      peer.write('OK 1073741824\nfirst bytes');
      peer.on('data', (chunk) => peer.write(chunk));
    });
    closers.push(() => vmm.close());
    const stream = await dial();
    closers.push(() => stream.destroy());
    expect(request).toBe('CONNECT 1024\n');
    const received: Buffer[] = [];
    stream.on('data', (chunk: Buffer) => received.push(chunk));
    stream.resume();
    stream.write(' and an echo');
    await eventually(() => expect(Buffer.concat(received).toString()).toBe('first bytes and an echo'));
  });

  it('fails clearly when the VMM refuses (closes) or answers anything but OK', async () => {
    const refusing = await vmmSocket(join(dir, 'vsock.sock'), (peer) => peer.end());
    closers.push(() => refusing.close());
    await expect(dial()).rejects.toMatchObject({ code: RuntimeErrorCode.AGENT_UNREACHABLE, message: expect.stringContaining('closed the connection') });
    refusing.close();

    const babbling = await vmmSocket(join(dir, 'vsock.sock'), (peer) => peer.write('ERR no listener\n'));
    closers.push(() => babbling.close());
    await expect(dial()).rejects.toMatchObject({ code: RuntimeErrorCode.AGENT_UNREACHABLE, message: expect.stringContaining('refused: "ERR no listener"') });
  });

  it('fails when the answer never ends its line, or never comes', async () => {
    const flooding = await vmmSocket(join(dir, 'vsock.sock'), (peer) => peer.write('O'.repeat(500)));
    closers.push(() => flooding.close());
    await expect(dial()).rejects.toMatchObject({ message: expect.stringContaining('not a line') });
    flooding.close();

    const stalling = await vmmSocket(join(dir, 'vsock.sock'), () => undefined);
    closers.push(() => stalling.close());
    const started = Date.now();
    await expect(dial(300)).rejects.toMatchObject({ message: expect.stringContaining('no answer to CONNECT within 300 ms') });
    expect(Date.now() - started).toBeLessThan(2_000);
  });

  it('carries the agent gRPC API through the handshake (the transport a Firecracker sandbox uses)', async () => {
    const agentSocket = join(dir, 'agent.sock');
    const grpc = new Server();
    const health: HealthServer = {
      check: (_call, callback) => callback(null, { status: HealthCheckResponse_ServingStatus.SERVING, instance: 'hybrid' }),
      version: (_call, callback) => callback(null, { grpcVersion: 'moat.agent.v1', agentVersion: '9.9.9' }),
    };
    grpc.addService(HealthService, health);
    grpc.addService(AgentServiceService, {
      getGuestDetails: (_call: unknown, callback: (e: null, v: unknown) => void) =>
        callback(null, { kernelRelease: '6.1.0-fc', agentVersion: '9.9.9', memTotalBytes: 0, cpus: 1, bootTimeUnixMs: 0 }),
    });
    await new Promise<void>((resolve, reject) =>
      grpc.bindAsync(`unix://${agentSocket}`, ServerCredentials.createInsecure(), (error) => (error ? reject(error) : resolve())),
    );
    closers.push(() => grpc.forceShutdown());
    const vmm = await vmmSocket(join(dir, 'vsock.sock'), (peer) => {
      const guest = connect(agentSocket);
      guest.once('connect', () => {
        peer.write('OK 3\n');
        peer.pipe(guest).pipe(peer);
      });
      guest.on('error', () => peer.destroy());
    });
    closers.push(() => vmm.close());

    const transport = createAgentTransport('hybrid-vsock', { agentSocket: '', proxySocket: join(dir, 'proxy.sock'), vsockUds: join(dir, 'vsock.sock') });
    const client = new AgentClient(transport);
    closers.push(() => client.close());
    expect(transport.kind).toBe('hybrid-vsock');
    await client.waitReady(10_000, () => Promise.resolve(undefined));
    expect(await client.guestDetails()).toEqual({ kernelRelease: '6.1.0-fc', agentVersion: '9.9.9' });
    expect(await client.version()).toEqual({ grpcVersion: 'moat.agent.v1', agentVersion: '9.9.9' });
  });
});
