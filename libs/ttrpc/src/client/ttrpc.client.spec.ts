import { afterEach, beforeEach, describe, expect, it } from '@jest/globals';
import { GRPC_STATUS_CODES, TtrpcError } from '../errors/ttrpc.error';
import { TtrpcServer } from '../server/ttrpc.server';
import { RawServer, socketDir, type RawPeer } from '../testing/raw-peer';
import { encodeFrame, MAX_MESSAGE_LENGTH, MessageType } from '../wire/frame';
import { TtrpcClient } from './ttrpc.client';

const SERVICE = 'moat.test.v1.Echo';

describe('TtrpcClient on a unix socket', () => {
  let dir: Awaited<ReturnType<typeof socketDir>>;
  let server: RawServer;
  let client: TtrpcClient;
  let peer: RawPeer;

  beforeEach(async () => {
    dir = await socketDir();
    server = await RawServer.listen(dir.path('raw.sock'));
    client = await TtrpcClient.connect(dir.path('raw.sock'));
    peer = await server.nextPeer();
  });

  afterEach(async () => {
    client.close();
    await server.close();
    await dir.remove();
  });

  it('sends a Request on odd, increasing stream ids and resolves to the payload of its Response', async () => {
    const first = client.call(SERVICE, 'Echo', Buffer.from('one'), { metadata: { 'containerd-namespace-ttrpc': ['default'] } });
    const second = client.call(SERVICE, 'Echo', new Uint8Array([1, 2]));
    const a = await peer.nextRequest();
    const b = await peer.nextRequest();
    expect(a).toEqual({
      streamId: 1,
      request: { service: SERVICE, method: 'Echo', payload: Buffer.from('one'), timeoutNano: 0n, metadata: [{ key: 'containerd-namespace-ttrpc', value: 'default' }] },
    });
    expect([b.streamId, b.request.payload]).toEqual([3, Buffer.from([1, 2])]);
    peer.sendResponse(3, { status: { code: 0, message: '' }, payload: Buffer.from('two back') });
    peer.sendResponse(1, { payload: Buffer.from('one back') });
    await expect(second).resolves.toEqual(Buffer.from('two back'));
    await expect(first).resolves.toEqual(Buffer.from('one back'));
  });

  it('rejects with a TtrpcError carrying the status code and message', async () => {
    const call = client.call(SERVICE, 'Fail', Buffer.alloc(0));
    const { streamId } = await peer.nextRequest();
    peer.sendResponse(streamId, { status: { code: GRPC_STATUS_CODES.NOT_FOUND, message: 'container c1: not found' } });
    const error = await call.catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TtrpcError);
    expect(error).toMatchObject({ code: 'NOT_FOUND', grpcCode: 5, message: 'container c1: not found' });
  });

  it('reads a status code gRPC does not define as UNKNOWN, keeping the number', async () => {
    const call = client.call(SERVICE, 'Odd', Buffer.alloc(0));
    peer.sendResponse((await peer.nextRequest()).streamId, { status: { code: 99, message: 'odd' } });
    await expect(call).rejects.toMatchObject({ code: 'UNKNOWN', message: 'odd', context: { grpcCode: 99 } });
  });

  it('tells the server its timeout and rejects with DEADLINE_EXCEEDED when it passes, ignoring a late answer', async () => {
    const started = Date.now();
    const call = client.call(SERVICE, 'Slow', Buffer.alloc(0), { timeoutMs: 60 });
    const { streamId, request } = await peer.nextRequest();
    expect(request.timeoutNano).toBe(60_000_000n);
    await expect(call).rejects.toEqual(new TtrpcError('DEADLINE_EXCEEDED', 'context deadline exceeded'));
    expect(Date.now() - started).toBeGreaterThanOrEqual(55);
    peer.sendResponse(streamId, { payload: Buffer.from('too late') });
    const next = client.call(SERVICE, 'Echo', Buffer.alloc(0));
    peer.sendResponse((await peer.nextRequest()).streamId, { payload: Buffer.from('fine') });
    await expect(next).resolves.toEqual(Buffer.from('fine'));
  });

  it('refuses a timeout a timer cannot hold', async () => {
    await expect(client.call(SERVICE, 'Echo', Buffer.alloc(0), { timeoutMs: 0 })).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
    await expect(client.call(SERVICE, 'Echo', Buffer.alloc(0), { timeoutMs: 2 ** 31 })).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
  });

  it('rejects every waiting call and every later one with UNAVAILABLE when the connection is lost', async () => {
    const calls = [client.call(SERVICE, 'A', Buffer.alloc(0)), client.call(SERVICE, 'B', Buffer.alloc(0))];
    await peer.nextRequest();
    await peer.nextRequest();
    peer.socket.destroy();
    for (const call of calls) await expect(call).rejects.toMatchObject({ code: 'UNAVAILABLE', message: 'ttrpc: closed' });
    await expect(client.call(SERVICE, 'C', Buffer.alloc(0))).rejects.toMatchObject({ code: 'UNAVAILABLE' });
  });

  it('close() rejects waiting calls and closes the connection', async () => {
    const call = client.call(SERVICE, 'A', Buffer.alloc(0));
    await peer.nextRequest();
    client.close();
    await expect(call).rejects.toEqual(new TtrpcError('UNAVAILABLE', 'ttrpc: client closed'));
    await peer.closed;
  });

  it('refuses a request over the maximum size with RESOURCE_EXHAUSTED, without sending it', async () => {
    await expect(client.call(SERVICE, 'Big', Buffer.alloc(MAX_MESSAGE_LENGTH))).rejects.toMatchObject({ code: 'RESOURCE_EXHAUSTED' });
    const next = client.call(SERVICE, 'Small', Buffer.alloc(0));
    const { streamId, request } = await peer.nextRequest();
    expect([streamId, request.method]).toEqual([1, 'Small']);
    peer.sendResponse(streamId, {});
    await expect(next).resolves.toEqual(Buffer.alloc(0));
  });

  it('fails only the call whose response is oversized, and reads on', async () => {
    const big = client.call(SERVICE, 'Big', Buffer.alloc(0));
    const small = client.call(SERVICE, 'Small', Buffer.alloc(0));
    const header = encodeFrame((await peer.nextRequest()).streamId, MessageType.Response, Buffer.alloc(0));
    header.writeUInt32BE(MAX_MESSAGE_LENGTH + 1, 0);
    peer.socket.write(Buffer.concat([header, Buffer.alloc(MAX_MESSAGE_LENGTH + 1)]));
    peer.sendResponse((await peer.nextRequest()).streamId, { payload: Buffer.from('ok') });
    await expect(big).rejects.toMatchObject({ code: 'RESOURCE_EXHAUSTED' });
    await expect(small).resolves.toEqual(Buffer.from('ok'));
  });

  it('ignores a response on a stream no call waits on, and fails a call answered with another message type or garbage', async () => {
    peer.sendResponse(41, { payload: Buffer.from('stray') });
    const wrongType = client.call(SERVICE, 'A', Buffer.alloc(0));
    const garbage = client.call(SERVICE, 'B', Buffer.alloc(0));
    peer.socket.write(encodeFrame((await peer.nextRequest()).streamId, MessageType.Request, Buffer.alloc(0)));
    peer.socket.write(encodeFrame((await peer.nextRequest()).streamId, MessageType.Response, Buffer.from([0x12, 0x09, 0x00])));
    await expect(wrongType).rejects.toMatchObject({ code: 'INTERNAL', message: 'unknown message type 1 received' });
    await expect(garbage).rejects.toMatchObject({ code: 'INTERNAL', message: expect.stringMatching(/^unmarshal response error: /) });
  });

  it('rejects with UNAVAILABLE when nothing listens on the socket', async () => {
    await expect(TtrpcClient.connect(dir.path('missing.sock'))).rejects.toMatchObject({ code: 'UNAVAILABLE', cause: { code: 'ENOENT' } });
  });
});

describe('TtrpcClient with TtrpcServer', () => {
  it('multiplexes concurrent calls over one connection, each getting its own answer', async () => {
    const dir = await socketDir();
    const server = new TtrpcServer();
    server.register(SERVICE, {
      Delay: async (payload, { metadata }) => {
        await new Promise((resolve) => setTimeout(resolve, Number(payload.toString())));
        return Buffer.from(`${payload.toString()}:${metadata['id']?.join()}`);
      },
    });
    await server.listen(dir.path('ttrpc.sock'));
    const client = await TtrpcClient.connect(dir.path('ttrpc.sock'));
    try {
      const delays = [80, 10, 40, 0, 60];
      const answers = await Promise.all(delays.map((ms, id) => client.call(SERVICE, 'Delay', Buffer.from(String(ms)), { metadata: { id: [String(id)] }, timeoutMs: 5000 })));
      expect(answers.map(String)).toEqual(delays.map((ms, id) => `${ms}:${id}`));
      await expect(client.call(SERVICE, 'Missing', Buffer.alloc(0))).rejects.toMatchObject({ code: 'UNIMPLEMENTED', grpcCode: 12, message: 'method Missing' });
    } finally {
      client.close();
      await server.close();
      await dir.remove();
    }
  });
});
