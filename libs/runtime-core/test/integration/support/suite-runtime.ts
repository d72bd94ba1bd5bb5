// Test support: one real-VM runtime a suite shares, the sandboxes it made, and its cleanup.
import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import { expect } from '@jest/globals';
import { SandboxRuntime, type GuestImage, type RuntimeOptions, type SandboxInfo, type SandboxSpec } from '../../../src';
import type { RuntimeDeps } from '../../../src/sandbox/runtime.deps';
import { vmIdOf } from '../../../src/testing/vm-id';
import { accel } from './guest-image';
import { makeVmDirs, removeLeftovers, removeVmDirs, type VmDirs } from './vm-dirs';

/**
 * A container's main process with state to keep: a counter in /tmp/count ticking every second
 * (read with `SuiteRuntime.count`), and a TCP listener on 7000 writing what it is sent to
 * /tmp/got. The count is written beside and renamed into place: `echo > /tmp/count` truncates
 * before it writes, and a read between the two (a slow guest under load) found the file empty.
 */
export const COUNTER_AND_LISTENER = ['sh', '-c', 'nc -l -p 7000 > /tmp/got & i=0; while true; do i=$((i+1)); echo $i > /tmp/count.next; mv /tmp/count.next /tmp/count; sleep 1; done'];

/**
 * The runtime a suite's tests share: `start` (in `beforeAll`) makes its host dirs and opens it with
 * `guestImage`, data under `<work>/data` and the options `optionsFor` gives for those dirs;
 * `create` and `sh` are the checked steps the tests are made of; `stop` (in `afterAll`) deletes
 * every sandbox `create` made, closes the runtime and removes what is left on the host.
 */
export class SuiteRuntime {
  /** Set by `start`. */
  dirs!: VmDirs;
  /** Set by `start`, replaced by `reopen`. */
  runtime!: SandboxRuntime;
  /** Every sandbox `create` made, for `stop` to delete (a test may take them off to delete them itself). */
  readonly ids: string[] = [];
  /** What the runtime logged as a warning or an error, newest last: a test that expects none says why it failed. */
  readonly warnings: string[] = [];

  constructor(
    /** Names the host dirs (see `makeVmDirs`). */
    private readonly name: string,
    private readonly guestImage: GuestImage,
    /** What `create` asks for unless its overrides say otherwise. */
    private readonly sandbox: Omit<SandboxSpec, 'id'>,
    private readonly optionsFor: (dirs: VmDirs) => Partial<RuntimeOptions> = () => ({}),
  ) {}

  async start(): Promise<void> {
    this.dirs = makeVmDirs(this.name);
    this.runtime = await this.open();
  }

  /** Closes the runtime and opens a new one on the same dirs (a node agent's restart), with `deps` in place of its own. */
  async reopen(deps: Partial<RuntimeDeps> = {}): Promise<void> {
    await this.runtime.close();
    this.runtime = await this.open(deps);
  }

  /** Creates a sandbox under a new id and checks it is running without an error. */
  async create(overrides: Partial<SandboxSpec> = {}): Promise<SandboxInfo> {
    const id = randomUUID();
    this.ids.push(id);
    const info = await this.runtime.create({ id, ...this.sandbox, ...overrides });
    expect(info.error).toBeUndefined();
    expect(info.state).toBe('running');
    return info;
  }

  /** Runs `script` with `sh -c` in sandbox `id`, checks it exits 0 with nothing on stderr, and returns its stdout trimmed. */
  async sh(id: string, script: string): Promise<string> {
    const out = await this.runtime.exec(id, { command: ['sh', '-c', script] });
    expect({ exitCode: out.exitCode, stderr: out.stderr.toString() }).toEqual({ exitCode: 0, stderr: '' });
    return out.stdout.toString().trim();
  }

  /** The COUNTER_AND_LISTENER counter of a sandbox; anything but a count fails the test. */
  async count(id: string): Promise<number> {
    const text = await this.sh(id, 'cat /tmp/count');
    expect(text).toMatch(/^\d+$/);
    return Number(text);
  }

  /**
   * Deletes every sandbox the runtime holds — what `create` made and what came to it otherwise (a
   * sandbox moved or migrated in, under a VM id of its own) — closes the runtime, then kills what
   * is left of those sandboxes and their VMs, of snapshot VMs and of `processesOf`, removes the
   * network `networkPrefix` made, and the dirs.
   */
  async stop(leftovers: { networkPrefix?: string; processesOf?: Iterable<string> } = {}): Promise<void> {
    const held = this.runtime?.list() ?? [];
    const ids = new Set([...this.ids, ...held.map((info) => info.id)]);
    const vmIds = held.map(vmIdOf).filter(Boolean);
    for (const id of ids) await this.runtime?.delete(id).catch(() => undefined);
    await this.runtime?.close();
    if (this.dirs === undefined) return;
    removeLeftovers([...ids, ...vmIds, ...(leftovers.processesOf ?? []), join(this.dirs.runDir, 'snapshot-')], leftovers.networkPrefix);
    removeVmDirs(this.dirs);
  }

  private open(deps: Partial<RuntimeDeps> = {}): Promise<SandboxRuntime> {
    const { work, runDir, memoryDir } = this.dirs;
    return SandboxRuntime.open({
      dataDir: join(work, 'data'),
      runDir,
      memoryDir,
      guestImage: this.guestImage,
      accel,
      log: (level, message, context) => {
        if (level === 'warn' || level === 'error') this.warnings.push(`${message} ${JSON.stringify(context ?? {})}`);
      },
      ...this.optionsFor(this.dirs),
    }, deps);
  }
}
