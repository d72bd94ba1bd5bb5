import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { Server, ServerCredentials, type sendUnaryData, type ServerUnaryCall, type UntypedServiceImplementation } from '@grpc/grpc-js';
import {
  ConnectRequest,
  ConnectResponse,
  CreateTaskRequest,
  CreateTaskResponse,
  DeleteRequest,
  DeleteResponse,
  EventsDefinition,
  ForwardRequest,
  ShutdownRequest,
  StartRequest,
  TaskDefinition,
  TaskExit,
  WaitRequest,
  WaitResponse,
  type Envelope,
} from '@moat/containerd-api';
import { NodeTasksService } from '@moat/proto/node-tasks';
import { GRPC_STATUS_CODES, TtrpcClient, TtrpcError, TtrpcServer } from '@moat/ttrpc';
import { eventually, processesMentioning } from '@moat/test-support';
import { FakeNodeTasks } from '../../src/testing/fake-node-tasks';
import { expectShimAddress } from '../../src/testing/shim-address';
import { tempDir } from '../../src/testing/temp-dir';

const SHIM = resolve(__dirname, '../../bin/containerd-shim-moat-v2');
const TASK = TaskDefinition.fullName;

interface Run {
  code: number | null;
  stdout: Buffer;
  stderr: string;
}

/** Runs the shim binary as containerd does: in the bundle, with containerd's flags, its environment and stdin. */
function runShim(args: string[], options: { cwd: string; env: Record<string, string>; stdin?: Buffer }): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(SHIM, args, { cwd: options.cwd, env: { ...process.env, ...options.env }, stdio: ['pipe', 'pipe', 'pipe'] });
    const stdout: Buffer[] = [];
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => stdout.push(chunk));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout: Buffer.concat(stdout), stderr }));
    child.stdin.end(options.stdin ?? Buffer.alloc(0));
  });
}

/** The node agent's NodeTasks over gRPC, backed by the in-memory fake. */
async function serveNodeAgent(fake: FakeNodeTasks, socket: string): Promise<Server> {
  const calls: Record<keyof typeof NodeTasksService, (request: never) => Promise<unknown>> = {
    create: (r) => fake.create(r),
    start: (r) => fake.start(r),
    exec: (r) => fake.exec(r),
    wait: (r) => fake.wait(r),
    state: (r) => fake.state(r),
    kill: (r) => fake.kill(r),
    delete: (r) => fake.delete(r),
    resizePty: (r) => fake.resizePty(r),
    closeIo: (r) => fake.closeIO(r),
    pids: (r) => fake.pids(r),
    pause: (r) => fake.pause(r),
    resume: (r) => fake.resume(r),
    stats: () => Promise.reject(new TtrpcError('UNIMPLEMENTED', 'no stats')),
    update: (r) => fake.update(r),
  };
  const handlers: UntypedServiceImplementation = {};
  for (const [name, call] of Object.entries(calls)) {
    handlers[name] = (request: ServerUnaryCall<unknown, unknown>, callback: sendUnaryData<unknown>) => {
      call(request.request as never).then(
        (response) => callback(null, response ?? {}),
        (error: TtrpcError) => callback({ code: GRPC_STATUS_CODES[error.code], details: error.message }),
      );
    };
  }
  const server = new Server();
  server.addService(NodeTasksService, handlers);
  await new Promise<void>((resolve, reject) => server.bindAsync(`unix:${socket}`, ServerCredentials.createInsecure(), (error) => (error ? reject(error) : resolve())));
  return server;
}

describe('containerd-shim-moat-v2, run as containerd runs it', () => {
  let dir: Awaited<ReturnType<typeof tempDir>>;
  let env: Record<string, string>;
  let nodeTasks: FakeNodeTasks;
  let nodeAgent: Server;
  let containerd: TtrpcServer;
  const envelopes: Envelope[] = [];

  beforeAll(async () => {
    dir = await tempDir();
    const runDir = join(dir.path, 'run');
    await mkdir(runDir);
    env = { MOAT_RUN_DIR: runDir, TTRPC_ADDRESS: join(dir.path, 'containerd.sock.ttrpc') };
    nodeTasks = new FakeNodeTasks();
    nodeAgent = await serveNodeAgent(nodeTasks, join(runDir, 'node-tasks.sock'));
    containerd = new TtrpcServer();
    containerd.register(EventsDefinition.fullName, {
      Forward: (payload) => {
        envelopes.push(ForwardRequest.decode(payload).envelope!);
        return Promise.resolve(new Uint8Array());
      },
    });
    await containerd.listen(env.TTRPC_ADDRESS);
  });

  afterAll(async () => {
    // A test that failed midway leaves its detached daemon running: none outlives the suite.
    for (const line of processesMentioning(dir.path)) process.kill(Number(line.split(':')[0]), 'SIGKILL');
    nodeAgent.forceShutdown();
    await containerd.close();
    await dir.remove();
  });

  const flags = (id: string) => ['-namespace', 'default', '-address', join(dir.path, 'containerd.sock'), '-publish-binary', '/usr/bin/containerd', '-id', id];

  async function bundleOf(id: string): Promise<string> {
    const bundle = join(dir.path, 'bundles', id);
    await mkdir(join(bundle, 'rootfs'), { recursive: true });
    return bundle;
  }

  async function startShim(id: string): Promise<{ address: string; client: TtrpcClient }> {
    const bundle = await bundleOf(id);
    // containerd writes the runtime's options (an Any) to start's stdin when its config has any.
    const run = await runShim([...flags(id), 'start'], { cwd: bundle, env, stdin: Buffer.from([0x0a, 0x03, 0x61, 0x62, 0x63]) });
    expect({ code: run.code, stderr: run.stderr }).toEqual({ code: 0, stderr: '' });
    const address = run.stdout.toString();
    return { address, client: await TtrpcClient.connect(address.slice('unix://'.length)) };
  }

  it('start prints only the address, and the daemon runs a task through create, start, exit and delete, then shuts down', async () => {
    const { address, client } = await startShim('web');
    const bundle = join(dir.path, 'bundles', 'web');
    expectShimAddress(address, env.MOAT_RUN_DIR);
    expect(readFileSync(join(bundle, 'address'), 'utf8')).toBe(address);

    const created = CreateTaskResponse.decode(await client.call(TASK, 'Create', CreateTaskRequest.encode(CreateTaskRequest.fromPartial({ id: 'web', bundle })).finish()));
    expect(created.pid).toBe(4242);
    const waiting = client.call(TASK, 'Wait', WaitRequest.encode({ id: 'web', execId: '' }).finish());
    await client.call(TASK, 'Start', StartRequest.encode({ id: 'web', execId: '' }).finish());
    nodeTasks.exit('web', '', 7);
    expect(WaitResponse.decode(await waiting)).toMatchObject({ exitStatus: 7 });
    expect(DeleteResponse.decode(await client.call(TASK, 'Delete', DeleteRequest.encode({ id: 'web', execId: '' }).finish()))).toMatchObject({ pid: 4242, exitStatus: 7 });

    const { shimPid } = ConnectResponse.decode(await client.call(TASK, 'Connect', ConnectRequest.encode({ id: 'web' }).finish()));
    await client.call(TASK, 'Shutdown', ShutdownRequest.encode({ id: 'web', now: false }).finish());
    client.close();

    await eventually(() => expect(envelopes.map((envelope) => envelope.topic)).toEqual(['/tasks/create', '/tasks/start', '/tasks/exit', '/tasks/delete']));
    expect(envelopes.every((envelope) => envelope.namespace === 'default')).toBe(true);
    expect(TaskExit.decode(envelopes[2].event!.value)).toMatchObject({ containerId: 'web', exitStatus: 7 });
    await eventually(() => expect(isAlive(shimPid)).toBe(false));
    expect(existsSync(address.slice('unix://'.length))).toBe(false);
    expect(readFileSync(join(bundle, 'shim.log'), 'utf8')).toContain('msg="shim serving"');
  });

  it('delete after a shim killed with -9 asks the node agent to delete the task, removes the dead socket and prints a DeleteResponse', async () => {
    const { address, client } = await startShim('db');
    const bundle = join(dir.path, 'bundles', 'db');
    await client.call(TASK, 'Create', CreateTaskRequest.encode(CreateTaskRequest.fromPartial({ id: 'db', bundle })).finish());
    const { shimPid } = ConnectResponse.decode(await client.call(TASK, 'Connect', ConnectRequest.encode({ id: 'db' }).finish()));
    process.kill(shimPid, 'SIGKILL');
    client.close();
    expect(nodeTasks.has('db')).toBe(true);

    const run = await runShim([...flags('db'), '-bundle', bundle, 'delete'], { cwd: bundle, env });

    expect({ code: run.code, stderr: run.stderr }).toEqual({ code: 0, stderr: '' });
    expect(DeleteResponse.decode(run.stdout)).toEqual({ pid: 4242, exitStatus: 137, exitedAt: { seconds: 1_700_000_000, nanos: 999_000_000 } });
    expect(nodeTasks.has('db')).toBe(false);
    // The killed daemon could not remove its socket: delete does.
    expect(existsSync(address.slice('unix://'.length))).toBe(false);
  });

  it('delete of a task the node agent never had answers 137', async () => {
    const bundle = await bundleOf('ghost');
    const run = await runShim([...flags('ghost'), '-bundle', bundle, 'delete'], { cwd: bundle, env });
    expect(run.code).toBe(0);
    expect(DeleteResponse.decode(run.stdout)).toMatchObject({ pid: 0, exitStatus: 137 });
  });

  it('fails start with its reason on stderr when the flags are wrong', async () => {
    const run = await runShim(['-namespace', 'default', 'start'], { cwd: dir.path, env });
    expect(run.code).toBe(1);
    expect(run.stdout.length).toBe(0);
    expect(run.stderr).toBe('containerd-shim-moat-v2: shim id cannot be empty (-id)\n');
  });
});

/** Whether `pid` runs; a zombie has ended (whoever adopted the detached daemon may reap it late). */
function isAlive(pid: number): boolean {
  try {
    return !/^State:\s+Z/m.test(readFileSync(`/proc/${pid}/status`, 'utf8'));
  } catch {
    return false;
  }
}

