import { afterEach, beforeEach, describe, expect, it } from '@jest/globals';
import { join } from 'node:path';
import { Server, ServerCredentials, status, type sendUnaryData, type ServerUnaryCall, type UntypedServiceImplementation } from '@grpc/grpc-js';
import { NodeTasksService, type ProcessExit, type ProcessRef } from '@moat/proto/node-tasks';
import { TtrpcError } from '@moat/ttrpc';
import { tempDir } from '../testing/temp-dir';
import { GrpcNodeTasks } from './node-tasks.grpc';

const REF: ProcessRef = { task: { namespace: 'default', id: 'web' }, execId: '' };

describe('GrpcNodeTasks against a gRPC server on a unix socket', () => {
  let dir: Awaited<ReturnType<typeof tempDir>>;
  let server: Server;
  let nodeTasks: GrpcNodeTasks;
  let waits: ServerUnaryCall<ProcessRef, ProcessExit>[];

  beforeEach(async () => {
    dir = await tempDir();
    waits = [];
    const handlers: UntypedServiceImplementation = {
      create: (_call: ServerUnaryCall<unknown, unknown>, callback: sendUnaryData<unknown>) => callback(null, { pid: 4242 }),
      start: (call: ServerUnaryCall<ProcessRef, unknown>, callback: sendUnaryData<unknown>) =>
        callback({ code: status.NOT_FOUND, details: `task ${call.request.task?.id} not found` }),
      kill: (_call: ServerUnaryCall<unknown, unknown>, callback: sendUnaryData<unknown>) =>
        callback({ code: status.FAILED_PRECONDITION, details: 'process already finished' }),
      // Never answers: the caller has to give up.
      wait: (call: ServerUnaryCall<ProcessRef, ProcessExit>) => waits.push(call),
    };
    server = new Server();
    server.addService(NodeTasksService, handlers);
    const socket = join(dir.path, 'node-tasks.sock');
    await new Promise<void>((resolve, reject) => server.bindAsync(`unix:${socket}`, ServerCredentials.createInsecure(), (error) => (error ? reject(error) : resolve())));
    nodeTasks = new GrpcNodeTasks(socket);
  });

  afterEach(async () => {
    nodeTasks.close();
    server.forceShutdown();
    await dir.remove();
  });

  it('makes the call and answers the reply', async () => {
    expect(await nodeTasks.create({ task: REF.task, bundle: '/b', stdio: undefined })).toEqual({ pid: 4242 });
  });

  it.each([
    ['start', () => nodeTasks.start(REF), 'NOT_FOUND', 'task web not found'],
    ['kill', () => nodeTasks.kill({ process: REF, signal: 9, all: false }), 'FAILED_PRECONDITION', 'process already finished'],
    ['pause (the node agent has no such method)', () => nodeTasks.pause(REF.task!), 'UNIMPLEMENTED', expect.stringMatching(/pause/i)],
  ])('rejects %s with the node agent’s status code and message', async (_name, call, code, message) => {
    const failure = call();
    await expect(failure).rejects.toBeInstanceOf(TtrpcError);
    await expect(failure).rejects.toMatchObject({ code, message });
  });

  it('cancels a call when its caller gives up, with the caller’s reason', async () => {
    const abort = new AbortController();
    const waiting = nodeTasks.wait(REF, { signal: abort.signal });
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(waits).toHaveLength(1);
    abort.abort(new TtrpcError('DEADLINE_EXCEEDED', 'context deadline exceeded'));
    await expect(waiting).rejects.toMatchObject({ code: 'DEADLINE_EXCEEDED' });
  });

  it('passes containerd’s deadline on', async () => {
    const waiting = nodeTasks.wait(REF, { deadline: Date.now() + 100 });
    await expect(waiting).rejects.toMatchObject({ code: 'DEADLINE_EXCEEDED' });
  });

  it('answers UNAVAILABLE when no node agent listens', async () => {
    const nowhere = new GrpcNodeTasks(join(dir.path, 'missing.sock'));
    try {
      await expect(nowhere.state(REF)).rejects.toMatchObject({ code: 'UNAVAILABLE' });
    } finally {
      nowhere.close();
    }
  });
});
