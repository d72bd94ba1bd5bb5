import { afterEach, beforeEach, describe, expect, it } from '@jest/globals';
import { existsSync } from 'node:fs';
import { connect } from 'node:net';
import { GRPC_STATUS_CODES, TtrpcError } from '../errors/ttrpc.error';
import { RawPeer, socketDir } from '../testing/raw-peer';
import { encodeFrame, MAX_MESSAGE_LENGTH, MessageType } from '../wire/frame';
import type { RequestContext } from './request-context';
import { TtrpcServer } from './ttrpc.server';

const SERVICE = 'moat.test.v1.Echo';

describe('TtrpcServer on a unix socket', () => {
  let dir: Awaited<ReturnType<typeof socketDir>>;
  let server: TtrpcServer;
  let peer: RawPeer;
  let contexts: RequestContext[];
  let release: () => void;

  beforeEach(async () => {
    dir = await socketDir();
    contexts = [];
    const released = new Promise<void>((resolve) => (release = resolve));
    server = new TtrpcServer();
    server.register(SERVICE, {
      Echo: (payload) => Promise.resolve(Buffer.concat([Buffer.from('echo:'), payload])),
      Metadata: (_payload, context) => Promise.resolve(Buffer.from(JSON.stringify(context.metadata))),
      Fail: (payload) => Promise.reject(new TtrpcError('NOT_FOUND', `task ${payload.toString()} not found`)),
      Crash: () => Promise.reject(new Error('boom')),
      Sleep: async (payload) => {
        await new Promise((resolve) => setTimeout(resolve, Number(payload.toString())));
        return payload;
      },
      WaitForAbort: async (_payload, context) => {
        contexts.push(context);
        await new Promise((resolve) => context.signal.addEventListener('abort', resolve));
        throw context.signal.reason;
      },
      WaitForRelease: async (_payload, context) => {
        contexts.push(context);
        await released;
        return Buffer.from('released');
      },
      Huge: () => Promise.resolve(Buffer.alloc(MAX_MESSAGE_LENGTH)),
    });
    await server.listen(dir.path('ttrpc.sock'));
    peer = await RawPeer.connect(dir.path('ttrpc.sock'));
  });

  afterEach(async () => {
    release();
    peer.socket.destroy();
    await server.close();
    await dir.remove();
  });

  it('answers a method on the stream id of its request, with the OK status ttrpc-go always sends', async () => {
    peer.sendRequest(1, { service: SERVICE, method: 'Echo', payload: Buffer.from('hi') });
    const frame = await peer.nextFrame();
    // Response{status: {} (field 1, empty), payload (field 2)}: exactly what ttrpc-go writes for success.
    expect(frame).toEqual({
      kind: 'message',
      header: { length: 11, streamId: 1, type: MessageType.Response, flags: 0 },
      payload: Buffer.concat([Buffer.from([0x0a, 0x00, 0x12, 0x07]), Buffer.from('echo:hi')]),
    });
  });

  it('hands the handler the request metadata, repeated keys in order', async () => {
    peer.sendRequest(1, {
      service: SERVICE,
      method: 'Metadata',
      metadata: [
        { key: 'containerd-namespace-ttrpc', value: 'k8s.io' },
        { key: 'x-trace', value: 'a' },
        { key: 'x-trace', value: 'b' },
      ],
    });
    const { response } = await peer.nextResponse();
    expect(JSON.parse(response.payload.toString())).toEqual({ 'containerd-namespace-ttrpc': ['k8s.io'], 'x-trace': ['a', 'b'] });
  });

  it('answers UNIMPLEMENTED for an unknown service or method, prototype names included', async () => {
    peer.sendRequest(1, { service: 'no.Such', method: 'Echo' });
    peer.sendRequest(3, { service: SERVICE, method: 'Nope' });
    peer.sendRequest(5, { service: SERVICE, method: 'constructor' });
    const answers = [await peer.nextResponse(), await peer.nextResponse(), await peer.nextResponse()];
    expect(answers.map(({ streamId, response }) => [streamId, response.status?.code, response.status?.message])).toEqual([
      [1, GRPC_STATUS_CODES.UNIMPLEMENTED, 'service no.Such'],
      [3, GRPC_STATUS_CODES.UNIMPLEMENTED, 'method Nope'],
      [5, GRPC_STATUS_CODES.UNIMPLEMENTED, 'method constructor'],
    ]);
  });

  it("answers with the status of a handler's TtrpcError, and UNKNOWN for any other error", async () => {
    peer.sendRequest(1, { service: SERVICE, method: 'Fail', payload: Buffer.from('t1') });
    expect((await peer.nextResponse()).response.status).toEqual({ code: GRPC_STATUS_CODES.NOT_FOUND, message: 'task t1 not found', details: [] });
    peer.sendRequest(3, { service: SERVICE, method: 'Crash' });
    expect((await peer.nextResponse()).response.status).toEqual({ code: GRPC_STATUS_CODES.UNKNOWN, message: 'boom', details: [] });
  });

  it('runs requests concurrently and answers each as it finishes', async () => {
    peer.sendRequest(1, { service: SERVICE, method: 'Sleep', payload: Buffer.from('150') });
    peer.sendRequest(3, { service: SERVICE, method: 'Sleep', payload: Buffer.from('1') });
    const first = await peer.nextResponse();
    const second = await peer.nextResponse();
    expect([first.streamId, first.response.payload.toString()]).toEqual([3, '1']);
    expect([second.streamId, second.response.payload.toString()]).toEqual([1, '150']);
  });

  it('gives the handler the deadline of timeout_nano and aborts its signal with DEADLINE_EXCEEDED', async () => {
    const sent = Date.now();
    peer.sendRequest(1, { service: SERVICE, method: 'WaitForAbort', timeoutNano: 50_000_000n });
    const { response } = await peer.nextResponse();
    expect(response.status).toEqual({ code: GRPC_STATUS_CODES.DEADLINE_EXCEEDED, message: 'context deadline exceeded', details: [] });
    expect(Date.now() - sent).toBeGreaterThanOrEqual(45);
    expect(contexts[0].deadline).toBeGreaterThanOrEqual(sent + 50);
    expect(contexts[0].deadline).toBeLessThan(sent + 1000);
  });

  it('sets no deadline without timeout_nano', async () => {
    peer.sendRequest(1, { service: SERVICE, method: 'WaitForRelease' });
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(contexts[0].deadline).toBeUndefined();
    expect(contexts[0].signal.aborted).toBe(false);
    release();
    expect((await peer.nextResponse()).response.payload.toString()).toBe('released');
  });

  it('aborts the signals of running handlers with CANCELLED when the client goes away', async () => {
    peer.sendRequest(1, { service: SERVICE, method: 'WaitForRelease' });
    await new Promise((resolve) => setTimeout(resolve, 50));
    peer.socket.destroy();
    await new Promise((resolve) => contexts[0].signal.addEventListener('abort', resolve));
    expect(contexts[0].signal.reason).toEqual(new TtrpcError('CANCELLED', 'ttrpc: connection closed'));
  });

  it('answers INVALID_ARGUMENT to an even stream id or a payload that is no Request, and serves on', async () => {
    peer.sendRequest(2, { service: SERVICE, method: 'Echo' });
    const even = await peer.nextResponse();
    expect([even.streamId, even.response.status]).toEqual([
      2,
      { code: GRPC_STATUS_CODES.INVALID_ARGUMENT, message: 'StreamID must be odd for client initiated streams', details: [] },
    ]);
    // Field 1, length 5, then one byte: a truncated string.
    peer.socket.write(encodeFrame(3, MessageType.Request, Buffer.from([0x0a, 0x05, 0x61])));
    const garbage = await peer.nextResponse();
    expect(garbage.streamId).toBe(3);
    expect(garbage.response.status?.code).toBe(GRPC_STATUS_CODES.INVALID_ARGUMENT);
    expect(garbage.response.status?.message).toMatch(/^unmarshal request error: /);
    peer.sendRequest(5, { service: SERVICE, method: 'Echo', payload: Buffer.from('still here') });
    expect((await peer.nextResponse()).response.payload.toString()).toBe('echo:still here');
  });

  it('ignores messages of a type it does not know, as ttrpc-go does', async () => {
    peer.sendRequest(1, { service: SERVICE, method: 'Echo', payload: Buffer.from('data') }, 3);
    peer.sendRequest(3, { service: SERVICE, method: 'Echo', payload: Buffer.from('request') });
    const next = await peer.nextResponse();
    expect([next.streamId, next.response.payload.toString()]).toEqual([3, 'echo:request']);
  });

  it('skips an oversized request, answers RESOURCE_EXHAUSTED on its stream and serves on', async () => {
    const header = encodeFrame(1, MessageType.Request, Buffer.alloc(0));
    header.writeUInt32BE(MAX_MESSAGE_LENGTH + 1, 0);
    peer.socket.write(Buffer.concat([header, Buffer.alloc(MAX_MESSAGE_LENGTH + 1)]));
    peer.sendRequest(3, { service: SERVICE, method: 'Echo', payload: Buffer.from('next') });
    const refused = await peer.nextResponse();
    expect([refused.streamId, refused.response.status]).toEqual([
      1,
      { code: GRPC_STATUS_CODES.RESOURCE_EXHAUSTED, message: `message length ${MAX_MESSAGE_LENGTH + 1} exceed maximum message size of ${MAX_MESSAGE_LENGTH}`, details: [] },
    ]);
    expect((await peer.nextResponse()).response.payload.toString()).toBe('echo:next');
  });

  it('answers RESOURCE_EXHAUSTED instead of sending a response over the maximum size', async () => {
    peer.sendRequest(1, { service: SERVICE, method: 'Huge' });
    const { response } = await peer.nextResponse();
    expect(response.status?.code).toBe(GRPC_STATUS_CODES.RESOURCE_EXHAUSTED);
    expect(response.payload.length).toBe(0);
  });

  it('close() stops listening, removes the socket and closes every connection', async () => {
    const path = dir.path('ttrpc.sock');
    peer.sendRequest(1, { service: SERVICE, method: 'WaitForRelease' });
    await new Promise((resolve) => setTimeout(resolve, 50));
    await server.close();
    await peer.closed;
    expect(contexts[0].signal.aborted).toBe(true);
    expect(existsSync(path)).toBe(false);
    await expect(
      new Promise((resolve, reject) => {
        const socket = connect(path, () => resolve(socket));
        socket.on('error', reject);
      }),
    ).rejects.toMatchObject({ code: 'ENOENT' });
  });

  it('refuses a service registered twice and a socket path in use', async () => {
    expect(() => server.register(SERVICE, {})).toThrow(new TtrpcError('ALREADY_EXISTS', `duplicate service ${SERVICE} registered`));
    await expect(new TtrpcServer().listen(dir.path('ttrpc.sock'))).rejects.toMatchObject({ code: 'UNAVAILABLE', cause: { code: 'EADDRINUSE' } });
  });
});
