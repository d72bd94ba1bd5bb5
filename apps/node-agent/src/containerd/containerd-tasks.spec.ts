import { execFileSync } from 'node:child_process';
import { constants, mkdtempSync, openSync, rmSync, writeFileSync } from 'node:fs';
import { Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { afterEach, beforeEach, describe, expect, it } from '@jest/globals';
import { ProcessStatus } from '@moat/proto/node-tasks';
import type { ExitInfo, PodContainerSpec, SandboxInfo, SandboxSpec, SessionOptions } from '@moat/runtime-core';
import { eventually } from '@moat/test-support';
import pino from 'pino';
import { ContainerdTasks, DEFAULT_TASK_SIZE, type TaskRuntime, type TaskSession } from './containerd-tasks';

/** A process in the guest as its session shows it: output the test writes, an end it decides. */
class FakeSession implements TaskSession {
  readonly stdin: string[] = [];
  readonly calls: string[] = [];
  private readonly chunks: { stream: 'stdout' | 'stderr'; data: string }[] = [];
  private wake: () => void = () => undefined;
  private ended = false;
  private exit!: (exit: ExitInfo) => void;
  private lost!: (error: Error) => void;
  private readonly exited = new Promise<ExitInfo>((resolve, reject) => {
    this.exit = resolve;
    this.lost = reject;
  });

  push(stream: 'stdout' | 'stderr', data: string): void {
    this.chunks.push({ stream, data });
    this.wake();
  }
  /** Ends the process as the guest reports an end: `exitCode` is 128 + the signal for a killed one. */
  exits(exit: Partial<ExitInfo>): void {
    this.ended = true;
    this.wake();
    this.exit({ exitCode: 0, signal: 0, oomKilled: false, timedOut: false, ...exit });
  }
  /** The VM died: every call to the guest fails. */
  vmDies(): void {
    this.ended = true;
    this.wake();
    this.lost(Object.assign(new Error('the guest agent is not connected'), { code: 'AGENT_UNREACHABLE' }));
  }
  async output(sink: (stream: 'stdout' | 'stderr', chunk: Buffer) => Promise<void> | void): Promise<void> {
    for (;;) {
      const chunk = this.chunks.shift();
      if (chunk) await sink(chunk.stream, Buffer.from(chunk.data));
      else if (this.ended) return;
      else await new Promise<void>((resolve) => (this.wake = resolve));
    }
  }
  write(data: Buffer): Promise<void> {
    this.stdin.push(data.toString());
    return Promise.resolve();
  }
  closeStdin(): Promise<void> {
    this.calls.push('closeStdin');
    return Promise.resolve();
  }
  resize(window: { rows: number; cols: number }): Promise<void> {
    this.calls.push(`resize ${window.cols}x${window.rows}`);
    return Promise.resolve();
  }
  signal(signal: number): Promise<void> {
    this.calls.push(`signal ${signal}`);
    return Promise.resolve();
  }
  wait(): Promise<ExitInfo> {
    return this.exited;
  }
  close(): Promise<void> {
    this.calls.push('close');
    if (!this.ended) this.exits({ exitCode: 137, signal: 9 });
    return Promise.resolve();
  }
}

/** The runtime as containerd's tasks use it: VMs in memory, processes the test drives. */
class FakeRuntime implements TaskRuntime {
  readonly sandboxes = new Map<string, SandboxInfo>();
  readonly specs: SandboxSpec[] = [];
  readonly calls: string[] = [];
  readonly init = new FakeSession();
  /** The inits of containers pods added, by container id. */
  readonly podInits = new Map<string, FakeSession>();
  readonly execs: { options: SessionOptions; containerId: string; session: FakeSession }[] = [];
  failCreate = false;
  private readonly started = new Set<string>();

  create(spec: SandboxSpec): Promise<SandboxInfo> {
    this.specs.push(spec);
    const info: SandboxInfo = this.failCreate
      ? { id: spec.id, state: 'failed', vcpus: spec.vcpus, memoryMiB: spec.memoryMiB, error: { code: 'VM_BOOT_FAILED', message: 'no kernel' }, timings: [], accel: 'tcg', transport: 'virtio-serial', rootfs: 'virtiofs' }
      : { id: spec.id, state: 'running', vcpus: spec.vcpus, memoryMiB: spec.memoryMiB, timings: [], accel: 'tcg', transport: 'virtio-serial', rootfs: 'virtiofs', containerd: spec.containerd, vmmPid: 4242 };
    this.sandboxes.set(spec.id, info);
    return Promise.resolve(info);
  }
  delete(id: string): Promise<void> {
    this.calls.push('delete');
    this.sandboxes.delete(id);
    return Promise.resolve();
  }
  list(): SandboxInfo[] {
    return [...this.sandboxes.values()];
  }
  addContainer(id: string, spec: PodContainerSpec): Promise<void> {
    this.calls.push(`add ${spec.containerId}`);
    const info = this.sandboxes.get(id);
    if (info) info.podContainers = [...(info.podContainers ?? []), spec.containerId];
    return Promise.resolve();
  }
  removeContainer(id: string, containerId: string): Promise<void> {
    this.calls.push(`remove ${containerId}`);
    const info = this.sandboxes.get(id);
    if (info) info.podContainers = info.podContainers?.filter((c) => c !== containerId);
    return Promise.resolve();
  }
  startContainer(id: string, containerId: string): Promise<void> {
    this.calls.push(containerId === id ? 'start' : `start ${containerId}`);
    this.started.add(containerId);
    return Promise.resolve();
  }
  initSession(id: string, containerId: string): TaskSession {
    if (!this.started.has(containerId)) throw Object.assign(new Error('not started'), { code: 'CONTAINER_WRONG_STATE' });
    if (containerId === id) return this.init;
    const session = this.podInits.get(containerId) ?? new FakeSession();
    this.podInits.set(containerId, session);
    return session;
  }
  openSession(_id: string, options: SessionOptions, containerId: string): Promise<TaskSession> {
    const session = new FakeSession();
    this.execs.push({ options, containerId, session });
    return Promise.resolve(session);
  }
  setPaused(_id: string, paused: boolean): Promise<void> {
    this.calls.push(paused ? 'pause' : 'resume');
    return Promise.resolve();
  }
  updateResources(_id: string, resources: { memoryLimitBytes: number }, containerId: string): Promise<void> {
    this.calls.push(`update ${containerId} ${resources.memoryLimitBytes}`);
    return Promise.resolve();
  }
  processes(): Promise<number[]> {
    return Promise.resolve([1, 7]);
  }
  stats(): ReturnType<TaskRuntime['stats']> {
    return Promise.resolve({ cpu: { usageUsec: 5, userUsec: 3, systemUsec: 2 }, memory: { currentBytes: 10, maxBytes: 20, limitBytes: 30, oomKills: 0 }, pids: { current: 2, limit: 0 }, io: { readBytes: 0, writeBytes: 0 } });
  }
}

/** The client's ends of the FIFOs, closed after each test. */
const clientEnds: Socket[] = [];

/** A client's read end of an output FIFO, opened as containerd's client opens it: at once, non-blocking. */
function clientOutput(path: string): Promise<string> {
  const socket = new Socket({ fd: openSync(path, constants.O_RDONLY | constants.O_NONBLOCK), readable: true, writable: false });
  clientEnds.push(socket);
  return collect(socket);
}

/** A client's write end of a stdin FIFO, once the process's reader holds the other end. */
function clientInput(path: string): Socket {
  const socket = new Socket({ fd: openSync(path, constants.O_WRONLY | constants.O_NONBLOCK), readable: false, writable: true });
  clientEnds.push(socket);
  return socket;
}

function collect(stream: Readable): Promise<string> {
  return new Promise((resolve, reject) => {
    let text = '';
    stream.on('data', (chunk: Buffer) => (text += chunk.toString()));
    stream.on('end', () => resolve(text));
    stream.on('error', reject);
  });
}

const ref = { namespace: 'default', id: 't1' };
const init = { task: ref, execId: '' };

describe('ContainerdTasks', () => {
  let dir: string;
  let runtime: FakeRuntime;
  let tasks: ContainerdTasks;
  /** FIFOs as containerd's client makes them, with its ends open: it reads the outputs and writes stdin. */
  let stdio: { stdin: string; stdout: string; stderr: string; terminal: boolean };
  let readers: { stdout: Promise<string>; stderr: Promise<string> };

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'tasks-'));
    writeFileSync(join(dir, 'config.json'), JSON.stringify({ process: { args: ['uname', '-r'], cwd: '/' }, linux: { resources: { memory: { limit: 512 * 1024 * 1024 } } } }));
    stdio = { stdin: join(dir, 'stdin'), stdout: join(dir, 'stdout'), stderr: join(dir, 'stderr'), terminal: false };
    execFileSync('mkfifo', [stdio.stdin, stdio.stdout, stdio.stderr]);
    readers = { stdout: clientOutput(stdio.stdout), stderr: clientOutput(stdio.stderr) };
    runtime = new FakeRuntime();
    tasks = new ContainerdTasks(runtime, pino({ level: 'silent' }));
  });
  afterEach(async () => {
    await tasks.deleteAll();
    for (const socket of clientEnds.splice(0)) socket.destroy();
    rmSync(dir, { recursive: true, force: true });
  });

  it("boots the task's VM from the bundle, sized as it asks, with its init held until start", async () => {
    await expect(tasks.create({ task: ref, bundle: dir, stdio })).resolves.toEqual({ pid: 4242 });
    expect(runtime.specs[0]).toMatchObject({ bundle: dir, containerd: ref, deferStart: true, tty: false, memoryMiB: 512, vcpus: DEFAULT_TASK_SIZE.vcpus });
    expect(tasks.state(init)).toMatchObject({ pid: 4242, status: ProcessStatus.PROCESS_STATUS_CREATED });
    expect(runtime.calls).toEqual([]);
  });

  it("joins the init to the FIFOs and answers its exit only once all of its output is written", async () => {
    await tasks.create({ task: ref, bundle: dir, stdio });
    await tasks.start(init);
    expect(tasks.state(init).status).toBe(ProcessStatus.PROCESS_STATUS_RUNNING);
    clientInput(stdio.stdin).end('input\n');
    await eventually(() => expect(runtime.init.calls).toContain('closeStdin'), { timeout: 2_000 });
    expect(runtime.init.stdin.join('')).toBe('input\n');
    runtime.init.push('stdout', '6.1.0-guest\n');
    runtime.init.push('stderr', 'warning\n');
    const waited = tasks.wait(init);
    runtime.init.exits({ exitCode: 3 });
    await expect(waited).resolves.toMatchObject({ pid: 4242, exitStatus: 3 });
    await expect(readers.stdout).resolves.toBe('6.1.0-guest\n');
    await expect(readers.stderr).resolves.toBe('warning\n');
    expect(tasks.state(init)).toMatchObject({ status: ProcessStatus.PROCESS_STATUS_STOPPED, exitStatus: 3 });
    await expect(tasks.delete(init)).resolves.toMatchObject({ exitStatus: 3 });
    expect(runtime.calls).toEqual(['start', 'delete']);
    expect(() => tasks.state(init)).toThrow(expect.objectContaining({ code: 'NOT_FOUND' }));
  });

  describe('pods', () => {
    const noStdio = { stdin: '', stdout: '', stderr: '', terminal: false };
    /** A bundle as CRI writes it for a pod's sandbox or one of its containers. */
    const bundle = (name: string, annotations: Record<string, string>, netns?: string) => {
      const path = join(dir, name);
      execFileSync('mkdir', [path]);
      const namespaces = netns ? [{ type: 'network', path: netns }] : [];
      writeFileSync(join(path, 'config.json'), JSON.stringify({ process: { args: ['/pause'], cwd: '/' }, hostname: 'web-0', annotations, linux: { namespaces } }));
      return path;
    };
    const pod = { namespace: 'k8s.io', id: 'p1' };
    const web = { namespace: 'k8s.io', id: 'web' };

    it("boots one VM for the pod in CRI's netns and adds its containers to it", async () => {
      const sandboxBundle = bundle('p1', { 'io.kubernetes.cri.container-type': 'sandbox', 'io.kubernetes.cri.sandbox-id': 'p1' }, '/var/run/netns/cni-1');
      await tasks.create({ task: pod, bundle: sandboxBundle, stdio: noStdio });
      expect(runtime.specs[0]).toMatchObject({ containerd: pod, pod: { netns: '/var/run/netns/cni-1', hostname: 'web-0' } });
      await tasks.start({ task: pod, execId: '' });

      const webBundle = bundle('web', { 'io.kubernetes.cri.container-type': 'container', 'io.kubernetes.cri.sandbox-id': 'p1' });
      await expect(tasks.create({ task: web, bundle: webBundle, stdio: noStdio })).resolves.toEqual({ pid: 4242 });
      expect(runtime.specs).toHaveLength(1);
      await tasks.start({ task: web, execId: '' });
      tasks.exec({ process: { task: web, execId: 'e1' }, processJson: JSON.stringify({ args: ['wget', 'localhost'] }), stdio: noStdio });
      await tasks.start({ task: web, execId: 'e1' });
      expect(runtime.execs[0].containerId).toBe('web');
      await tasks.update({ task: web, resourcesJson: JSON.stringify({ memory: { limit: 64 << 20 }, cpu: { shares: 2 } }) });
      expect(runtime.calls.pop()).toBe(`update web ${64 << 20}`);
      expect(runtime.calls).toEqual(['start', 'add web', 'start web']);

      // A restarted node agent finds the pod's container in its VM again.
      const restarted = new ContainerdTasks(runtime, pino({ level: 'silent' }));
      expect(restarted.state({ task: web, execId: '' }).pid).toBe(4242);

      runtime.podInits.get('web')?.exits({ exitCode: 0 });
      await tasks.wait({ task: web, execId: '' });
      await tasks.delete({ task: web, execId: '' });
      await tasks.delete({ task: pod, execId: '' });
      expect(runtime.calls.slice(3)).toEqual(['remove web', 'delete']);
    });

    it('refuses a container whose pod has no VM here', async () => {
      const webBundle = bundle('web', { 'io.kubernetes.cri.container-type': 'container', 'io.kubernetes.cri.sandbox-id': 'gone' });
      await expect(tasks.create({ task: web, bundle: webBundle, stdio: noStdio })).rejects.toMatchObject({ code: 'FAILED_PRECONDITION' });
      expect(runtime.calls).toEqual([]);
    });
  });

  it('runs an exec in the running task on a terminal, resizes it, and forgets it on delete', async () => {
    await tasks.create({ task: ref, bundle: dir, stdio: { ...stdio, stdin: '' } });
    await tasks.start(init);
    const ttyStdio = { stdin: '', stdout: join(dir, 'tty'), stderr: '', terminal: true };
    execFileSync('mkfifo', [ttyStdio.stdout]);
    const tty = clientOutput(ttyStdio.stdout);
    const exec = { task: ref, execId: 'e1' };
    const processJson = JSON.stringify({ args: ['sh'], env: ['TERM=xterm', '1BAD=x'], cwd: '/tmp', terminal: true, consoleSize: { height: 24, width: 80 }, user: { uid: 1000, gid: 100 } });
    tasks.exec({ process: exec, processJson, stdio: ttyStdio });
    expect(() => tasks.exec({ process: exec, processJson, stdio: ttyStdio })).toThrow(expect.objectContaining({ code: 'ALREADY_EXISTS' }));
    expect(tasks.state(exec).status).toBe(ProcessStatus.PROCESS_STATUS_CREATED);
    await tasks.start(exec);
    expect(runtime.execs[0].options).toEqual({ command: ['sh'], env: { TERM: 'xterm' }, cwd: '/tmp', tty: true, user: { uid: 1000, gid: 100 }, window: { rows: 24, cols: 80 } });
    const session = runtime.execs[0].session;
    await tasks.resize(exec, 120, 40);
    await tasks.resize(exec, 0, 0);
    expect(session.calls).toEqual(['resize 120x40']);
    await expect(tasks.resize(init, 120, 40)).rejects.toMatchObject({ code: 'FAILED_PRECONDITION' });
    session.push('stderr', '$ ');
    session.exits({ exitCode: 0 });
    await expect(tasks.wait(exec)).resolves.toMatchObject({ exitStatus: 0 });
    // On a terminal everything reaches stdout.
    await expect(tty).resolves.toBe('$ ');
    await tasks.delete(exec);
    expect(() => tasks.state(exec)).toThrow(expect.objectContaining({ code: 'NOT_FOUND' }));
    expect(tasks.state(init).status).toBe(ProcessStatus.PROCESS_STATUS_RUNNING);
  });

  it('signals one process or all of them, and passes on a signal death’s status (128 + the signal, as the guest reports it)', async () => {
    await tasks.create({ task: ref, bundle: dir, stdio });
    await tasks.start(init);
    tasks.exec({ process: { task: ref, execId: 'e1' }, processJson: JSON.stringify({ args: ['sleep', '60'] }), stdio: { stdin: '', stdout: '', stderr: '', terminal: false } });
    await tasks.start({ task: ref, execId: 'e1' });
    await tasks.kill(init, 15, false);
    expect(runtime.init.calls).toEqual(['signal 15']);
    expect(runtime.execs[0].session.calls).toEqual([]);
    await tasks.kill(init, 9, true);
    expect(runtime.init.calls).toEqual(['signal 15', 'signal 9']);
    expect(runtime.execs[0].session.calls).toEqual(['signal 9']);
    runtime.init.exits({ exitCode: 137, signal: 9 });
    await expect(tasks.wait(init)).resolves.toMatchObject({ exitStatus: 137 });
    await expect(tasks.kill(init, 9, false)).rejects.toMatchObject({ code: 'NOT_FOUND' });
  });

  it('counts the processes of a VM that died as killed, so containerd still hears of their end', async () => {
    await tasks.create({ task: ref, bundle: dir, stdio: { ...stdio, stdin: '' } });
    await tasks.start(init);
    runtime.init.vmDies();
    await expect(tasks.wait(init)).resolves.toMatchObject({ exitStatus: 137 });
  });

  it('refuses what containerd may not do, with the status it expects', async () => {
    await expect(tasks.start(init)).rejects.toMatchObject({ code: 'NOT_FOUND' });
    await tasks.create({ task: ref, bundle: dir, stdio });
    await expect(tasks.create({ task: ref, bundle: dir, stdio })).rejects.toMatchObject({ code: 'ALREADY_EXISTS' });
    await expect(tasks.wait(init)).rejects.toMatchObject({ code: 'FAILED_PRECONDITION' });
    await expect(tasks.kill(init, 9, false)).rejects.toMatchObject({ code: 'FAILED_PRECONDITION' });
    const exec = { process: { task: ref, execId: 'e1' }, processJson: '{"args":["true"]}', stdio };
    expect(() => tasks.exec(exec)).toThrow(expect.objectContaining({ code: 'FAILED_PRECONDITION' }));
    await tasks.start(init);
    await expect(tasks.start(init)).rejects.toMatchObject({ code: 'FAILED_PRECONDITION' });
    expect(() => tasks.exec({ ...exec, processJson: '{"args":[]}' })).toThrow(expect.objectContaining({ code: 'INVALID_ARGUMENT', message: expect.stringContaining('args') }));
    expect(() => tasks.exec({ ...exec, processJson: 'not json' })).toThrow(expect.objectContaining({ code: 'INVALID_ARGUMENT' }));
    expect(() => tasks.exec({ ...exec, processJson: '{"args":["sh"],"terminal":true}' })).toThrow(expect.objectContaining({ code: 'INVALID_ARGUMENT', message: expect.stringContaining('terminal') }));
    expect(() => tasks.state({ task: ref, execId: 'nope' })).toThrow(expect.objectContaining({ code: 'NOT_FOUND' }));
    await expect(tasks.create({ task: { namespace: 'default', id: 'bad' }, bundle: join(dir, 'nowhere'), stdio })).rejects.toMatchObject({
      code: 'INVALID_ARGUMENT',
      message: expect.stringContaining('INVALID_SPEC'),
    });
  });

  it('releases a VM that failed to boot and says why', async () => {
    runtime.failCreate = true;
    await expect(tasks.create({ task: ref, bundle: dir, stdio })).rejects.toMatchObject({ code: 'UNAVAILABLE', message: 'VM_BOOT_FAILED: no kernel' });
    expect(runtime.calls).toEqual(['delete']);
    expect(runtime.sandboxes.size).toBe(0);
  });

  it("finds the tasks a previous node agent started, from the runtime's sandboxes", async () => {
    await tasks.create({ task: ref, bundle: dir, stdio: { ...stdio, stdin: '' } });
    await tasks.start(init);
    const restarted = new ContainerdTasks(runtime, pino({ level: 'silent' }));
    expect(restarted.state(init)).toMatchObject({ pid: 4242, status: ProcessStatus.PROCESS_STATUS_RUNNING });
    await expect(restarted.create({ task: ref, bundle: dir, stdio })).rejects.toMatchObject({ code: 'ALREADY_EXISTS' });
    await expect(restarted.stats(ref)).resolves.toEqual({ cpuUsageNs: 5000, memoryUsageBytes: 10, memoryLimitBytes: 30, pidsCurrent: 2 });
    await expect(restarted.pids(ref)).resolves.toEqual([1, 7]);
    runtime.init.exits({ exitCode: 0 });
    await expect(restarted.wait(init)).resolves.toMatchObject({ exitStatus: 0 });
    await restarted.delete(init);
    expect(runtime.sandboxes.size).toBe(0);
  });
});
