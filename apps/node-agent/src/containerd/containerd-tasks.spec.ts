import { execFileSync } from 'node:child_process';
import { createReadStream, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { afterEach, beforeEach, describe, expect, it } from '@jest/globals';
import { ProcessStatus } from '@moat/proto/node-tasks';
import type { ExitInfo, LogPage, LogReader, SandboxInfo, SandboxSpec } from '@moat/runtime-core';
import pino from 'pino';
import { ContainerdTasks, DEFAULT_TASK_SIZE, type TaskRuntime } from './containerd-tasks';

/** A main process's output as a runtime's log ring serves it: pages of entries, then the end. */
class FakeOutput implements LogReader {
  private readonly entries: LogPage['entries'] = [];
  private ended = false;
  private wake: () => void = () => undefined;

  push(stream: 'stdout' | 'stderr', text: string): void {
    this.entries.push({ seq: this.entries.length + 1, timeMs: Date.now(), stream, data: Buffer.from(text) });
    this.wake();
  }
  end(): void {
    this.ended = true;
    this.wake();
  }
  read({ after = 0 }: { after?: number }): LogPage {
    const entries = this.entries.filter((e) => e.seq > after);
    return { entries, cursor: entries.at(-1)?.seq ?? after, ended: this.ended };
  }
  waitForMore(after: number, _waitMs: number, signal?: AbortSignal): Promise<void> {
    if (this.ended || this.entries.length > after || signal?.aborted) return Promise.resolve();
    return new Promise((resolve) => {
      this.wake = resolve;
      signal?.addEventListener('abort', () => resolve(), { once: true });
    });
  }
}

/** The runtime as containerd's tasks use it: VMs in memory, an init whose exit the test decides. */
class FakeRuntime implements TaskRuntime {
  readonly sandboxes = new Map<string, SandboxInfo>();
  readonly specs: SandboxSpec[] = [];
  readonly calls: string[] = [];
  readonly output = new FakeOutput();
  failCreate = false;
  private exit!: (exit: ExitInfo) => void;
  private vmDied!: (error: Error) => void;
  private readonly exited = new Promise<ExitInfo>((resolve, reject) => {
    this.exit = resolve;
    this.vmDied = reject;
  });

  initExits(exit: Partial<ExitInfo>): void {
    this.output.end();
    this.exit({ exitCode: 0, signal: 0, oomKilled: false, timedOut: false, ...exit });
  }
  vmDies(): void {
    this.output.end();
    this.vmDied(Object.assign(new Error('the guest agent is not connected'), { code: 'AGENT_UNREACHABLE' }));
  }
  create(spec: SandboxSpec): Promise<SandboxInfo> {
    this.specs.push(spec);
    const info: SandboxInfo = this.failCreate
      ? { id: spec.id, state: 'failed', error: { code: 'VM_BOOT_FAILED', message: 'no kernel' }, timings: [], accel: 'tcg', transport: 'virtio-serial', rootfs: 'virtiofs' }
      : { id: spec.id, state: 'running', timings: [], accel: 'tcg', transport: 'virtio-serial', rootfs: 'virtiofs', containerd: spec.containerd, vmmPid: 4242 };
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
  startContainer(): Promise<void> {
    this.calls.push('start');
    return Promise.resolve();
  }
  waitContainer(): Promise<ExitInfo> {
    return this.exited;
  }
  signalContainer(_id: string, signal: number): Promise<void> {
    this.calls.push(`signal ${signal}`);
    return Promise.resolve();
  }
  logs(): LogReader {
    return this.output;
  }
  setPaused(_id: string, paused: boolean): Promise<void> {
    this.calls.push(paused ? 'pause' : 'resume');
    return Promise.resolve();
  }
  stats(): ReturnType<TaskRuntime['stats']> {
    return Promise.resolve({ cpu: { usageUsec: 5, userUsec: 3, systemUsec: 2 }, memory: { currentBytes: 10, maxBytes: 20, limitBytes: 30, oomKills: 0 }, pids: { current: 2, limit: 0 }, io: { readBytes: 0, writeBytes: 0 } });
  }
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

describe('ContainerdTasks', () => {
  let dir: string;
  let runtime: FakeRuntime;
  let tasks: ContainerdTasks;
  /** The FIFOs containerd's client made, with their read ends open as its client holds them. */
  let stdio: { stdin: string; stdout: string; stderr: string; terminal: boolean };
  let readers: { stdout: Promise<string>; stderr: Promise<string> };

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'tasks-'));
    writeFileSync(join(dir, 'config.json'), JSON.stringify({ process: { args: ['uname', '-r'], cwd: '/' }, linux: { resources: { memory: { limit: 512 * 1024 * 1024 } } } }));
    stdio = { stdin: '', stdout: join(dir, 'stdout'), stderr: join(dir, 'stderr'), terminal: false };
    execFileSync('mkfifo', [stdio.stdout, stdio.stderr]);
    readers = { stdout: collect(createReadStream(stdio.stdout)), stderr: collect(createReadStream(stdio.stderr)) };
    runtime = new FakeRuntime();
    tasks = new ContainerdTasks(runtime, pino({ level: 'silent' }));
  });
  afterEach(async () => {
    await tasks.deleteAll();
    // Readers still waiting for a writer (a test that never started the task) are let go.
    for (const fifo of [stdio.stdout, stdio.stderr]) execFileSync('sh', ['-c', `exec 3<>${fifo}`]);
    rmSync(dir, { recursive: true, force: true });
  });

  it("boots the task's VM from the bundle, sized as it asks, with its init held until start", async () => {
    await expect(tasks.create({ task: ref, bundle: dir, stdio })).resolves.toEqual({ pid: 4242 });
    expect(runtime.specs[0]).toMatchObject({ bundle: dir, containerd: ref, deferStart: true, memoryMiB: 512, vcpus: DEFAULT_TASK_SIZE.vcpus });
    expect(tasks.state(ref)).toMatchObject({ pid: 4242, status: ProcessStatus.PROCESS_STATUS_CREATED });
    expect(runtime.calls).toEqual([]);
  });

  it("copies the init's output to the FIFOs and answers its exit only once all of it is written", async () => {
    await tasks.create({ task: ref, bundle: dir, stdio });
    await tasks.start(ref);
    expect(tasks.state(ref).status).toBe(ProcessStatus.PROCESS_STATUS_RUNNING);
    runtime.output.push('stdout', '6.1.0-guest\n');
    runtime.output.push('stderr', 'warning\n');
    const waited = tasks.wait(ref);
    runtime.initExits({ exitCode: 3 });
    await expect(waited).resolves.toMatchObject({ pid: 4242, exitStatus: 3 });
    await expect(readers.stdout).resolves.toBe('6.1.0-guest\n');
    await expect(readers.stderr).resolves.toBe('warning\n');
    expect(tasks.state(ref)).toMatchObject({ status: ProcessStatus.PROCESS_STATUS_STOPPED, exitStatus: 3 });
    await expect(tasks.delete(ref)).resolves.toMatchObject({ exitStatus: 3 });
    expect(runtime.calls).toEqual(['start', 'delete']);
    expect(() => tasks.state(ref)).toThrow(expect.objectContaining({ code: 'NOT_FOUND' }));
  });

  it('reports a signal death as 128 + the signal, and a VM that dies as a kill', async () => {
    await tasks.create({ task: ref, bundle: dir, stdio });
    await tasks.start(ref);
    await tasks.kill(ref, 15);
    runtime.initExits({ exitCode: 0, signal: 15 });
    await expect(tasks.wait(ref)).resolves.toMatchObject({ exitStatus: 143 });
    expect(runtime.calls).toContain('signal 15');

    const other = new FakeRuntime();
    const tasks2 = new ContainerdTasks(other, pino({ level: 'silent' }));
    await tasks2.create({ task: { namespace: 'default', id: 't2' }, bundle: dir, stdio: { ...stdio, stdout: '', stderr: '' } });
    await tasks2.start({ namespace: 'default', id: 't2' });
    other.vmDies();
    await expect(tasks2.wait({ namespace: 'default', id: 't2' })).resolves.toMatchObject({ exitStatus: 137 });
    await tasks2.deleteAll();
  });

  it('refuses what containerd may not do, with the status it expects', async () => {
    await expect(tasks.start(ref)).rejects.toMatchObject({ code: 'NOT_FOUND' });
    await expect(tasks.create({ task: ref, bundle: dir, stdio: { ...stdio, terminal: true } })).rejects.toMatchObject({ code: 'UNIMPLEMENTED' });
    await tasks.create({ task: ref, bundle: dir, stdio });
    await expect(tasks.create({ task: ref, bundle: dir, stdio })).rejects.toMatchObject({ code: 'ALREADY_EXISTS' });
    await expect(tasks.wait(ref)).rejects.toMatchObject({ code: 'FAILED_PRECONDITION' });
    await expect(tasks.kill(ref, 9)).rejects.toMatchObject({ code: 'FAILED_PRECONDITION' });
    await tasks.start(ref);
    await expect(tasks.start(ref)).rejects.toMatchObject({ code: 'FAILED_PRECONDITION' });
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
    await tasks.create({ task: ref, bundle: dir, stdio });
    const restarted = new ContainerdTasks(runtime, pino({ level: 'silent' }));
    expect(restarted.state(ref)).toMatchObject({ pid: 4242, status: ProcessStatus.PROCESS_STATUS_RUNNING });
    await expect(restarted.create({ task: ref, bundle: dir, stdio })).rejects.toMatchObject({ code: 'ALREADY_EXISTS' });
    await expect(restarted.stats(ref)).resolves.toEqual({ cpuUsageNs: 5000, memoryUsageBytes: 10, memoryLimitBytes: 30, pidsCurrent: 2 });
    await restarted.delete(ref);
    expect(runtime.sandboxes.size).toBe(0);
  });
});
