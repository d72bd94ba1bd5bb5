import { describe, expect, it } from '@jest/globals';
import {
  CgroupMetrics,
  CreateTaskRequest,
  DeleteRequest,
  ExecProcessRequest,
  TaskCreate,
  TaskDelete,
  TaskExecStarted,
  TaskExit,
  TaskStatus,
  type Mount,
} from '@moat/containerd-api';
import { ProcessStatus } from '@moat/proto/node-tasks';
import { TtrpcError, type RequestContext } from '@moat/ttrpc';
import { SILENT_LOGGER } from '../testing/silent-logger';
import { FakeMounter } from '../testing/fake-mounter';
import { FakeNodeTasks } from '../testing/fake-node-tasks';
import { FakePublisher } from '../testing/fake-publisher';
import { TaskService } from './task.service';

const NOW = 1_700_000_555_000;
const OVERLAY: Mount = { type: 'overlay', source: 'overlay', target: '', options: ['lowerdir=/l', 'upperdir=/u', 'workdir=/w'] };

function setup() {
  const nodeTasks = new FakeNodeTasks();
  const events = new FakePublisher();
  const mounter = new FakeMounter();
  let shutdowns = 0;
  const service = new TaskService({
    namespace: 'default',
    nodeTasks,
    events,
    mounter,
    log: SILENT_LOGGER,
    shimPid: 777,
    shutdown: () => shutdowns++,
    now: () => NOW,
    waitRetryDelayMs: 1,
  });
  return { service, nodeTasks, events, mounter, shutdowns: () => shutdowns };
}

function context(signal = new AbortController().signal): RequestContext {
  return { metadata: {}, deadline: undefined, signal };
}

const createRequest = (id: string, rootfs: Mount[] = []) =>
  CreateTaskRequest.fromPartial({ id, bundle: `/run/containerd/io.containerd.runtime.v2.task/default/${id}`, rootfs, stdout: `/fifo/${id}-out` });

/** Lets queued promise callbacks (the exit watch) run. */
const settle = () => new Promise((resolve) => setImmediate(resolve));

describe('TaskService', () => {
  it('publishes create, start, exit and delete in that order, the exit once, and answers Wait with it', async () => {
    const { service, nodeTasks, events } = setup();
    expect(await service.create(createRequest('web'), context())).toEqual({ pid: 4242 });
    const waiting = service.wait({ id: 'web', execId: '' }, context());
    expect(await service.start({ id: 'web', execId: '' }, context())).toEqual({ pid: 4242 });

    nodeTasks.exit('web', '', 3, 1_700_000_001_500);
    expect(await waiting).toEqual({ exitStatus: 3, exitedAt: { seconds: 1_700_000_001, nanos: 500_000_000 } });
    const deleted = await service.delete(DeleteRequest.fromPartial({ id: 'web' }), context());

    expect(deleted).toEqual({ pid: 4242, exitStatus: 3, exitedAt: { seconds: 1_700_000_001, nanos: 500_000_000 } });
    expect(events.topics).toEqual(['/tasks/create', '/tasks/start', '/tasks/exit', '/tasks/delete']);
    expect(events.decoded('/tasks/exit', TaskExit)).toEqual([
      { containerId: 'web', id: 'web', pid: 4242, exitStatus: 3, exitedAt: { seconds: 1_700_000_001, nanos: 500_000_000 } },
    ]);
    expect(events.decoded('/tasks/delete', TaskDelete)[0]).toMatchObject({ containerId: 'web', pid: 4242, exitStatus: 3 });
    expect(events.decoded('/tasks/create', TaskCreate)[0]).toMatchObject({
      containerId: 'web',
      bundle: '/run/containerd/io.containerd.runtime.v2.task/default/web',
      io: { stdin: '', stdout: '/fifo/web-out', stderr: '', terminal: false },
      pid: 4242,
    });
    expect(nodeTasks.has('web')).toBe(false);
  });

  it('answers Wait only once TaskExit has reached containerd', async () => {
    const { service, nodeTasks, events } = setup();
    await service.create(createRequest('web'), context());
    await service.start({ id: 'web', execId: '' }, context());
    events.hold('/tasks/exit');
    let answered = false;
    const waiting = service.wait({ id: 'web', execId: '' }, context()).then(() => (answered = true));

    nodeTasks.exit('web', '', 0);
    await settle();
    expect(events.topics).toContain('/tasks/exit');
    expect(answered).toBe(false);

    events.release();
    await waiting;
    expect(answered).toBe(true);
  });

  it('deleting a running task publishes its exit (from the node agent) before TaskDelete, and only once', async () => {
    const { service, events, shutdowns } = setup();
    await service.create(createRequest('web'), context());
    await service.start({ id: 'web', execId: '' }, context());
    events.hold('/tasks/exit');

    const deleting = service.delete(DeleteRequest.fromPartial({ id: 'web' }), context());
    await settle();
    // TaskDelete waits for the exit to be delivered.
    expect(events.topics).toEqual(['/tasks/create', '/tasks/start', '/tasks/exit']);
    events.release();
    expect(await deleting).toMatchObject({ pid: 4242, exitStatus: 137 });
    await settle();

    expect(events.topics).toEqual(['/tasks/create', '/tasks/start', '/tasks/exit', '/tasks/delete']);
    expect(events.decoded('/tasks/exit', TaskExit)).toHaveLength(1);
    // The watch saw the task vanish because of the delete: that is no reason to go.
    expect(shutdowns()).toBe(0);
  });

  it('publishes no exit for a task deleted before it started, and releases its waiters', async () => {
    const { service, events } = setup();
    await service.create(createRequest('web'), context());
    const waiting = service.wait({ id: 'web', execId: '' }, context());
    await service.delete(DeleteRequest.fromPartial({ id: 'web' }), context());
    expect(await waiting).toMatchObject({ exitStatus: 137 });
    expect(events.topics).toEqual(['/tasks/create', '/tasks/delete']);
  });

  it('mounts containerd’s rootfs on <bundle>/rootfs before the node agent creates the task, and unmounts it on delete', async () => {
    const { service, mounter, nodeTasks } = setup();
    await service.create(createRequest('web', [OVERLAY]), context());
    const rootfs = '/run/containerd/io.containerd.runtime.v2.task/default/web/rootfs';
    expect(mounter.mounted.get(rootfs)).toEqual([OVERLAY]);
    expect(nodeTasks.calls[0]).toEqual({
      method: 'create',
      request: {
        task: { namespace: 'default', id: 'web' },
        bundle: '/run/containerd/io.containerd.runtime.v2.task/default/web',
        stdio: { stdin: '', stdout: '/fifo/web-out', stderr: '', terminal: false },
      },
    });

    await service.delete(DeleteRequest.fromPartial({ id: 'web' }), context());
    expect(mounter.unmounted).toEqual([rootfs]);
  });

  it('keeps the node agent’s status code and message, unmounts again, and frees the id when Create fails', async () => {
    const { service, nodeTasks, mounter, events } = setup();
    nodeTasks.failNext('create', new TtrpcError('RESOURCE_EXHAUSTED', 'node has no memory left for 512 MiB'));
    const failure = service.create(createRequest('web', [OVERLAY]), context());
    await expect(failure).rejects.toBeInstanceOf(TtrpcError);
    await expect(failure).rejects.toMatchObject({ code: 'RESOURCE_EXHAUSTED', message: 'node has no memory left for 512 MiB' });
    expect(mounter.mounted.size).toBe(0);
    expect(events.topics).toEqual([]);

    await expect(service.create(createRequest('web'), context())).resolves.toEqual({ pid: 4242 });
  });

  it('answers ALREADY_EXISTS to a second Create of a task', async () => {
    const { service } = setup();
    await service.create(createRequest('web'), context());
    await expect(service.create(createRequest('web'), context())).rejects.toMatchObject({ code: 'ALREADY_EXISTS' });
  });

  it.each([
    [ProcessStatus.PROCESS_STATUS_CREATED, TaskStatus.CREATED],
    [ProcessStatus.PROCESS_STATUS_RUNNING, TaskStatus.RUNNING],
    [ProcessStatus.PROCESS_STATUS_STOPPED, TaskStatus.STOPPED],
    [ProcessStatus.PROCESS_STATUS_PAUSED, TaskStatus.PAUSED],
    [ProcessStatus.PROCESS_STATUS_UNKNOWN, TaskStatus.UNKNOWN],
  ])('State shows the node agent’s status %s as containerd’s %s', async (nodeStatus, containerdStatus) => {
    const { service, nodeTasks } = setup();
    await service.create(createRequest('web'), context());
    nodeTasks.setStatus('web', '', nodeStatus);
    const state = await service.state({ id: 'web', execId: '' }, context());
    expect(state).toEqual({
      id: 'web',
      bundle: '/run/containerd/io.containerd.runtime.v2.task/default/web',
      pid: 4242,
      status: containerdStatus,
      stdin: '',
      stdout: '/fifo/web-out',
      stderr: '',
      terminal: false,
      exitStatus: 0,
      exitedAt: undefined,
      execId: '',
    });
  });

  it('State of an exited process carries its exit status and time', async () => {
    const { service, nodeTasks } = setup();
    await service.create(createRequest('web'), context());
    await service.start({ id: 'web', execId: '' }, context());
    nodeTasks.exit('web', '', 9, 1_700_000_002_000);
    expect(await service.state({ id: 'web', execId: '' }, context())).toMatchObject({
      status: TaskStatus.STOPPED,
      exitStatus: 9,
      exitedAt: { seconds: 1_700_000_002, nanos: 0 },
    });
  });

  it('runs an exec’d process: its spec as JSON, exec-added, exec-started, its own exit, and forgets it on delete', async () => {
    const { service, nodeTasks, events } = setup();
    await service.create(createRequest('web'), context());
    await service.start({ id: 'web', execId: '' }, context());
    const processJson = JSON.stringify({ args: ['sh', '-c', 'exit 4'], cwd: '/' });
    await service.exec(
      ExecProcessRequest.fromPartial({ id: 'web', execId: 'sh1', stdout: '/fifo/sh1', spec: { typeUrl: 'types.containerd.io/opencontainers/runtime-spec/1/Process', value: Buffer.from(processJson) } }),
      context(),
    );
    expect(nodeTasks.processJsonOf('web', 'sh1')).toBe(processJson);
    const { pid } = await service.start({ id: 'web', execId: 'sh1' }, context());
    nodeTasks.exit('web', 'sh1', 4);
    expect(await service.wait({ id: 'web', execId: 'sh1' }, context())).toMatchObject({ exitStatus: 4 });
    await service.delete(DeleteRequest.fromPartial({ id: 'web', execId: 'sh1' }), context());

    expect(events.topics).toEqual(['/tasks/create', '/tasks/start', '/tasks/exec-added', '/tasks/exec-started', '/tasks/exit']);
    expect(events.decoded('/tasks/exec-started', TaskExecStarted)).toEqual([{ containerId: 'web', execId: 'sh1', pid }]);
    expect(events.decoded('/tasks/exit', TaskExit)[0]).toMatchObject({ containerId: 'web', id: 'sh1', pid, exitStatus: 4 });
    await expect(service.state({ id: 'web', execId: 'sh1' }, context())).rejects.toMatchObject({ code: 'NOT_FOUND' });
  });

  it('answers ALREADY_EXISTS to an exec id in use', async () => {
    const { service } = setup();
    await service.create(createRequest('web'), context());
    const exec = ExecProcessRequest.fromPartial({ id: 'web', execId: 'sh1', spec: { typeUrl: 'x', value: Buffer.from('{}') } });
    await service.exec(exec, context());
    await expect(service.exec(exec, context())).rejects.toMatchObject({ code: 'ALREADY_EXISTS' });
  });

  it('answers NOT_FOUND for a task it does not serve, whatever the call', async () => {
    const { service } = setup();
    await expect(service.state({ id: 'nope', execId: '' }, context())).rejects.toMatchObject({ code: 'NOT_FOUND' });
    await expect(service.kill({ id: 'nope', execId: '', signal: 9, all: false }, context())).rejects.toMatchObject({ code: 'NOT_FOUND' });
    await expect(service.delete(DeleteRequest.fromPartial({ id: 'nope' }), context())).rejects.toMatchObject({ code: 'NOT_FOUND' });
    await expect(service.stats({ id: 'nope' }, context())).rejects.toMatchObject({ code: 'NOT_FOUND' });
  });

  it("passes Update's OCI resources on to the node agent as their JSON", async () => {
    const { service, nodeTasks } = setup();
    await service.create(createRequest('web'), context());
    const resources = { typeUrl: 'types.containerd.io/opencontainers/runtime-spec/1/LinuxResources', value: Buffer.from('{"memory":{"limit":67108864}}') };
    await expect(service.update({ id: 'web', resources, annotations: {} }, context())).resolves.toEqual({});
    expect(nodeTasks.calls.at(-1)).toEqual({ method: 'update', request: { task: { namespace: 'default', id: 'web' }, resourcesJson: '{"memory":{"limit":67108864}}' } });
    await expect(service.update({ id: 'web', resources: undefined, annotations: {} }, context())).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
  });

  it('answers UNIMPLEMENTED to Checkpoint and a Create from a checkpoint', async () => {
    const { service } = setup();
    await service.create(createRequest('web'), context());
    await expect(service.checkpoint({ id: 'web', path: '/tmp/cp', options: undefined })).rejects.toMatchObject({ code: 'UNIMPLEMENTED' });
    await expect(service.create(CreateTaskRequest.fromPartial({ id: 'restored', bundle: '/b', checkpoint: '/cp' }), context())).rejects.toMatchObject({
      code: 'UNIMPLEMENTED',
    });
  });

  it('passes Kill, ResizePty and CloseIO on to the node agent for the right process', async () => {
    const { service, nodeTasks } = setup();
    await service.create(createRequest('web'), context());
    await service.kill({ id: 'web', execId: '', signal: 15, all: true }, context());
    await service.resizePty({ id: 'web', execId: '', width: 120, height: 40 }, context());
    await service.closeIO({ id: 'web', execId: '', stdin: true }, context());
    expect(nodeTasks.calls.slice(1)).toEqual([
      { method: 'kill', request: { process: { task: { namespace: 'default', id: 'web' }, execId: '' }, signal: 15, all: true } },
      { method: 'resizePty', request: { process: { task: { namespace: 'default', id: 'web' }, execId: '' }, width: 120, height: 40 } },
      { method: 'closeIO', request: { task: { namespace: 'default', id: 'web' }, execId: '' } },
    ]);
  });

  it('publishes paused and resumed', async () => {
    const { service, events } = setup();
    await service.create(createRequest('web'), context());
    await service.pause({ id: 'web' }, context());
    await service.resume({ id: 'web' }, context());
    expect(events.topics).toEqual(['/tasks/create', '/tasks/paused', '/tasks/resumed']);
  });

  it('answers Stats with an empty cgroup v1 Metrics', async () => {
    const { service } = setup();
    await service.create(createRequest('web'), context());
    const { stats } = await service.stats({ id: 'web' }, context());
    expect(stats?.typeUrl).toBe('io.containerd.cgroups.v1.Metrics');
    expect(CgroupMetrics.decode(stats?.value ?? Buffer.alloc(0))).toMatchObject({
      cpu: { usage: { total: 5_000_000 } },
      memory: { usage: { usage: 40 << 20, limit: 256 << 20 } },
      pids: { current: 3 },
    });
  });

  it('Connect answers the shim’s pid and the task’s VMM pid', async () => {
    const { service } = setup();
    await service.create(createRequest('web'), context());
    expect(await service.connect({ id: 'web' })).toEqual({ shimPid: 777, taskPid: 4242, version: '' });
  });

  it('shuts down on Shutdown only once no task is left', async () => {
    const { service, shutdowns } = setup();
    await service.create(createRequest('web'), context());
    await service.shutdown();
    expect(shutdowns()).toBe(0);
    await service.delete(DeleteRequest.fromPartial({ id: 'web' }), context());
    await service.shutdown();
    expect(shutdowns()).toBe(1);
  });

  it('goes away without publishing an exit when the node agent loses its task, leaving the cleanup to containerd', async () => {
    const { service, nodeTasks, events, shutdowns } = setup();
    await service.create(createRequest('web'), context());
    await service.start({ id: 'web', execId: '' }, context());
    nodeTasks.lose('web');
    await settle();
    expect(shutdowns()).toBe(1);
    expect(events.topics).toEqual(['/tasks/create', '/tasks/start']);
    await expect(service.state({ id: 'web', execId: '' }, context())).rejects.toMatchObject({ code: 'NOT_FOUND' });
  });

  it('asks the node agent again when its Wait fails for another reason', async () => {
    const { service, nodeTasks, events } = setup();
    await service.create(createRequest('web'), context());
    nodeTasks.failNext('wait', new TtrpcError('UNAVAILABLE', 'connect ENOENT /run/moat/node-tasks.sock'));
    await service.start({ id: 'web', execId: '' }, context());
    await new Promise((resolve) => setTimeout(resolve, 20));
    nodeTasks.exit('web', '', 0);
    expect(await service.wait({ id: 'web', execId: '' }, context())).toMatchObject({ exitStatus: 0 });
    expect(nodeTasks.calls.filter((call) => call.method === 'wait').length).toBeGreaterThanOrEqual(2);
    expect(events.decoded('/tasks/exit', TaskExit)).toHaveLength(1);
  });

  it('gives up a Wait when containerd cancels it, with its reason', async () => {
    const { service } = setup();
    await service.create(createRequest('web'), context());
    const abort = new AbortController();
    const waiting = service.wait({ id: 'web', execId: '' }, context(abort.signal));
    abort.abort(new TtrpcError('DEADLINE_EXCEEDED', 'context deadline exceeded'));
    await expect(waiting).rejects.toMatchObject({ code: 'DEADLINE_EXCEEDED' });
  });
});
