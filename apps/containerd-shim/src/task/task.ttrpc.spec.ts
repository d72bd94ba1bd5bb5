import { afterEach, beforeEach, describe, expect, it } from '@jest/globals';
import { join } from 'node:path';
import {
  CheckpointTaskRequest,
  ConnectRequest,
  ConnectResponse,
  CreateTaskRequest,
  CreateTaskResponse,
  StartRequest,
  StateRequest,
  StateResponse,
  TaskDefinition,
  TaskStatus,
} from '@moat/containerd-api';
import { TtrpcClient, TtrpcError, TtrpcServer } from '@moat/ttrpc';
import { ShimError, ShimErrorCode } from '../errors/shim.error';
import { SILENT_LOGGER } from '../testing/silent-logger';
import { FakeMounter } from '../testing/fake-mounter';
import { FakeNodeTasks } from '../testing/fake-node-tasks';
import { FakePublisher } from '../testing/fake-publisher';
import { tempDir } from '../testing/temp-dir';
import { TaskService } from './task.service';
import { registerTaskService } from './task.ttrpc';

const TASK = TaskDefinition.fullName;

describe('the Task service over ttrpc on a unix socket', () => {
  let dir: Awaited<ReturnType<typeof tempDir>>;
  let server: TtrpcServer;
  let client: TtrpcClient;
  let nodeTasks: FakeNodeTasks;
  let mounter: FakeMounter;

  beforeEach(async () => {
    dir = await tempDir();
    nodeTasks = new FakeNodeTasks();
    mounter = new FakeMounter();
    const service = new TaskService({ namespace: 'k8s.io', nodeTasks, events: new FakePublisher(), mounter, log: SILENT_LOGGER, shimPid: 99, shutdown: () => undefined });
    server = new TtrpcServer();
    registerTaskService(server, service, SILENT_LOGGER);
    await server.listen(join(dir.path, 'shim.sock'));
    client = await TtrpcClient.connect(join(dir.path, 'shim.sock'));
  });

  afterEach(async () => {
    client.close();
    await server.close();
    await dir.remove();
  });

  const create = (id: string) =>
    client.call(TASK, 'Create', CreateTaskRequest.encode(CreateTaskRequest.fromPartial({ id, bundle: `/bundles/${id}`, stdin: '/fifo/in', terminal: true })).finish());

  it('creates a task and reports its state, as containerd would see them', async () => {
    expect(CreateTaskResponse.decode(await create('web'))).toEqual({ pid: 4242 });
    const state = StateResponse.decode(await client.call(TASK, 'State', StateRequest.encode({ id: 'web', execId: '' }).finish()));
    expect(state).toEqual({
      id: 'web',
      bundle: '/bundles/web',
      pid: 4242,
      status: TaskStatus.CREATED,
      stdin: '/fifo/in',
      stdout: '',
      stderr: '',
      terminal: true,
      exitStatus: 0,
      exitedAt: undefined,
      execId: '',
    });
  });

  it('hands containerd the node agent’s status code and message', async () => {
    await create('web');
    nodeTasks.failNext('start', new TtrpcError('FAILED_PRECONDITION', 'the guest agent did not answer'));
    const call = client.call(TASK, 'Start', StartRequest.encode({ id: 'web', execId: '' }).finish());
    await expect(call).rejects.toMatchObject({ code: 'FAILED_PRECONDITION', message: 'the guest agent did not answer' });
  });

  it('answers NOT_FOUND for an unknown task and UNIMPLEMENTED for Checkpoint', async () => {
    await expect(client.call(TASK, 'State', StateRequest.encode({ id: 'nope', execId: '' }).finish())).rejects.toMatchObject({ code: 'NOT_FOUND' });
    await create('web');
    const checkpoint = client.call(TASK, 'Checkpoint', CheckpointTaskRequest.encode({ id: 'web', path: '/cp', options: undefined }).finish());
    await expect(checkpoint).rejects.toMatchObject({ code: 'UNIMPLEMENTED' });
  });

  it('answers a failed rootfs mount with INTERNAL and its message', async () => {
    mounter.failMount = new ShimError(ShimErrorCode.MOUNT_FAILED, 'mount rootfs on /bundles/web/rootfs: mount: wrong fs type');
    const request = CreateTaskRequest.fromPartial({ id: 'web', bundle: '/bundles/web', rootfs: [{ type: 'ext4', source: '/dev/nope', target: '', options: [] }] });
    await expect(client.call(TASK, 'Create', CreateTaskRequest.encode(request).finish())).rejects.toMatchObject({
      code: 'INTERNAL',
      message: 'mount rootfs on /bundles/web/rootfs: mount: wrong fs type',
    });
  });

  it('answers INVALID_ARGUMENT to a request it cannot decode, and serves on', async () => {
    await expect(client.call(TASK, 'Create', Buffer.from([0x0a, 0xff, 0xff, 0xff]))).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
    const connected = ConnectResponse.decode(await client.call(TASK, 'Connect', ConnectRequest.encode({ id: 'web' }).finish()));
    expect(connected).toEqual({ shimPid: 99, taskPid: 0, version: '' });
  });
});
