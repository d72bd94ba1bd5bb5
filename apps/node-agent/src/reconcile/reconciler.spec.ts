import type { DesiredSandbox, SandboxStatus } from '@moat/proto';
import { RuntimeError, RuntimeErrorCode, type PlannedAddress, type SandboxInfo, type SandboxSpec, type TenantPeers } from '@moat/runtime-core';
import pino from 'pino';
import { describe, expect, it } from '@jest/globals';
import { IdleTracker } from '../idle/idle-tracker';
import { MoveArrivals } from '../move/move-arrivals';
import { MoveDepartures } from '../move/move-departures';
import { Reconciler, type RuntimePort } from './reconciler';

/** An in-memory runtime: creates succeed unless the id is listed in `failIds`. */
class FakeRuntime implements RuntimePort {
  readonly sandboxes = new Map<string, SandboxInfo>();
  readonly calls: string[] = [];
  readonly specs: SandboxSpec[] = [];
  readonly overlays: { underlayAddress?: string; tenants: TenantPeers[] }[] = [];
  /** Each sandbox's update callback, as the runtime keeps it to report a later failure. */
  private readonly updates = new Map<string, (info: SandboxInfo) => void>();
  constructor(private readonly failIds = new Set<string>()) {}

  /** What the VMM watchdog does when a running sandbox's VMM dies: it fails, and says so. */
  vmmDied(id: string): void {
    const info = this.sandboxes.get(id);
    if (!info) throw new Error(`no sandbox ${id}`);
    const failed: SandboxInfo = { ...info, state: 'failed', error: { code: 'VMM_EXITED', message: 'the VMM was killed by signal 9 (SIGKILL)' } };
    this.sandboxes.set(id, failed);
    this.updates.get(id)?.(failed);
  }

  list(): SandboxInfo[] {
    return [...this.sandboxes.values()];
  }
  get(id: string): SandboxInfo | undefined {
    return this.sandboxes.get(id);
  }
  async create(spec: SandboxSpec, onUpdate?: (info: SandboxInfo) => void): Promise<SandboxInfo> {
    this.calls.push(`create ${spec.id}`);
    this.specs.push(spec);
    if (onUpdate) this.updates.set(spec.id, onUpdate);
    const info: SandboxInfo = { id: spec.id, state: 'creating', vcpus: spec.vcpus, memoryMiB: spec.memoryMiB, timings: [], accel: 'tcg', transport: 'virtio-serial', rootfs: spec.rootfs ?? 'virtiofs' };
    this.sandboxes.set(spec.id, info);
    onUpdate?.(info);
    if (spec.image) onUpdate?.({ ...info, progress: { phase: 'pull', bytesDone: 50, bytesTotal: 100 } });
    await new Promise((r) => setTimeout(r, 5));
    const done: SandboxInfo = this.failIds.has(spec.id)
      ? { ...info, state: 'failed', error: { code: 'VM_BOOT_FAILED', message: 'no kernel' } }
      : { ...info, state: 'running', timings: [{ phase: 'vmm', ms: 3 }] };
    this.sandboxes.set(spec.id, done);
    return done;
  }
  /** Like the runtime: a virtio-fs sandbox cannot be saved and runs on; a block one is saved through `hibernating`. */
  hibernate(id: string): Promise<SandboxInfo> {
    this.calls.push(`hibernate ${id}`);
    const info = this.sandboxes.get(id);
    if (!info) return Promise.reject(new RuntimeError(RuntimeErrorCode.SANDBOX_NOT_FOUND, `sandbox ${id} not found`));
    if (info.rootfs !== 'block') return Promise.reject(new RuntimeError(RuntimeErrorCode.HIBERNATE_UNSUPPORTED, `sandbox ${id} cannot hibernate: its rootfs is ${info.rootfs}`));
    this.updates.get(id)?.({ ...info, state: 'hibernating' });
    const saved: SandboxInfo = { ...info, state: 'hibernated', savedBytes: 4096 };
    this.sandboxes.set(id, saved);
    return Promise.resolve(saved);
  }
  wake(id: string, planned?: PlannedAddress): Promise<SandboxInfo> {
    this.calls.push(`wake ${id}${planned ? ` on ${planned.address}` : ''}`);
    const info = this.sandboxes.get(id);
    if (!info) return Promise.reject(new RuntimeError(RuntimeErrorCode.SANDBOX_NOT_FOUND, `sandbox ${id} not found`));
    const { savedBytes: _saved, ...rest } = info;
    const running: SandboxInfo = { ...rest, state: 'running' };
    this.sandboxes.set(id, running);
    return Promise.resolve(running);
  }
  setOverlayPeers(underlayAddress: string | undefined, tenants: readonly TenantPeers[]): Promise<void> {
    this.overlays.push({ underlayAddress, tenants: tenants.map((t) => ({ tenantId: t.tenantId, ...(t.peers && { peers: [...t.peers] }) })) });
    return Promise.resolve();
  }
  async delete(id: string): Promise<void> {
    this.calls.push(`delete ${id}`);
    await new Promise((r) => setTimeout(r, 1));
    this.sandboxes.delete(id);
    this.updates.delete(id);
  }
}

const ID_A = '00000000-0000-4000-8000-00000000000a';
const ID_B = '00000000-0000-4000-8000-00000000000b';
const want = (id: string): DesiredSandbox => ({ id, vcpus: 1, memoryMiB: 256, env: {}, labels: {} });

function setup(failIds?: Set<string>) {
  const runtime = new FakeRuntime(failIds);
  const reports: SandboxStatus[] = [];
  const reconciler = new Reconciler(runtime, (s) => reports.push(s), pino({ level: 'silent' }));
  return { runtime, reports, reconciler };
}

describe('Reconciler', () => {
  it("asks for the tenant's network with the node's default model, or for none when network is false", async () => {
    const { runtime, reconciler } = setup();
    const tenantId = '00000000-0000-4000-8000-0000000000ff';
    reconciler.setDesired({ sandboxes: [
      { ...want(ID_A), tenantId, ports: [{ containerPort: 80, protocol: 'tcp' }] },
      { ...want(ID_B), tenantId, networkModel: 'bridge', network: false },
    ] });
    await reconciler.idle();
    const byId = new Map(runtime.specs.map((s) => [s.id, s]));
    expect(byId.get(ID_A)).toMatchObject({ tenantId, network: { model: 'tcfilter', ports: [{ containerPort: 80, protocol: 'tcp' }] } });
    expect(byId.get(ID_B)?.network).toBeUndefined();
  });

  it("gives a sandbox its place on the control plane's plan of its tenant's network, and the overlays their peers", async () => {
    const { runtime, reconciler } = setup();
    const tenantId = '00000000-0000-4000-8000-0000000000ff';
    const plan = { tenantId, vni: 7, subnet: '10.88.7.0/24', gateway: '10.88.7.1', peers: ['192.0.2.12'] };
    reconciler.setDesired({
      sandboxes: [{ ...want(ID_A), tenantId, address: '10.88.7.9' }, { ...want(ID_B), tenantId }],
      networks: [plan],
      underlayAddress: '192.0.2.11',
    });
    await reconciler.idle();
    const byId = new Map(runtime.specs.map((s) => [s.id, s]));
    expect(byId.get(ID_A)?.network?.planned).toEqual({ vni: 7, subnet: '10.88.7.0/24', gateway: '10.88.7.1', address: '10.88.7.9' });
    // No address planned (an older control plane): the node plans it.
    expect(byId.get(ID_B)?.network).toBeDefined();
    expect(byId.get(ID_B)?.network?.planned).toBeUndefined();
    expect(runtime.overlays).toEqual([{ underlayAddress: '192.0.2.11', tenants: [{ tenantId, peers: ['192.0.2.12'] }] }]);
  });

  it("brings one tenant's overlay to the peers it is told apart, leaving out its own address and the other tenants' peers, and ignores a tenant it does not hold", async () => {
    const { runtime, reconciler } = setup();
    const [alpha, beta, gamma] = ['00000000-0000-4000-8000-0000000000a1', '00000000-0000-4000-8000-0000000000b2', '00000000-0000-4000-8000-0000000000c3'];
    const planFor = (tenantId: string, vni: number) => ({ tenantId, vni, subnet: `10.88.${vni}.0/24`, gateway: `10.88.${vni}.1`, peers: ['192.0.2.12'] });
    reconciler.setDesired({
      sandboxes: [{ ...want(ID_A), tenantId: alpha, address: '10.88.1.9' }, { ...want(ID_B), tenantId: beta, address: '10.88.2.9' }],
      networks: [planFor(alpha, 1), planFor(beta, 2)],
      underlayAddress: '192.0.2.11',
    });
    reconciler.setTenantPeers({ tenantId: alpha, peers: ['192.0.2.11', '192.0.2.12', '192.0.2.13'] });
    reconciler.setTenantPeers({ tenantId: gamma, peers: ['192.0.2.14'] });
    await reconciler.idle();
    expect(runtime.overlays.slice(1)).toEqual([{ underlayAddress: '192.0.2.11', tenants: [{ tenantId: alpha, peers: ['192.0.2.12', '192.0.2.13'] }, { tenantId: beta }] }]);
  });

  it("leaves containerd's tasks alone: a desired set without them deletes nothing, nor does deleteAll", async () => {
    const { runtime, reports, reconciler } = setup();
    runtime.sandboxes.set(ID_B, { id: ID_B, state: 'running', vcpus: 1, memoryMiB: 256, timings: [], accel: 'tcg', transport: 'virtio-serial', rootfs: 'virtiofs', containerd: { namespace: 'default', id: 't1' } });
    reconciler.setDesired({ sandboxes: [want(ID_A)] });
    await reconciler.idle();
    await reconciler.deleteAll();
    expect(runtime.calls).toEqual([`create ${ID_A}`, `delete ${ID_A}`]);
    expect(reports.filter((r) => r.id === ID_B)).toEqual([]);
  });

  it('hibernates a sandbox the desired set marks hibernated, and wakes it on its planned address when it no longer does', async () => {
    const { runtime, reports, reconciler } = setup();
    const tenantId = '00000000-0000-4000-8000-0000000000ff';
    const plan = { tenantId, vni: 7, subnet: '10.88.7.0/24', gateway: '10.88.7.1' };
    const block = { ...want(ID_A), rootfs: 'block' as const, tenantId, address: '10.88.7.9' };
    reconciler.setDesired({ sandboxes: [block], networks: [plan] });
    await reconciler.idle();
    reconciler.setDesired({ sandboxes: [{ ...block, hibernated: true }], networks: [plan] });
    await reconciler.idle();
    expect(reports.map((r) => r.state)).toEqual(['creating', 'running', 'hibernating', 'hibernated']);
    expect(reports.at(-1)?.savedBytes).toBe(4096);
    // A repeated set changes nothing; the next one without the mark wakes it.
    reconciler.setDesired({ sandboxes: [{ ...block, hibernated: true }], networks: [plan] });
    await reconciler.idle();
    reconciler.setDesired({ sandboxes: [block], networks: [plan] });
    await reconciler.idle();
    expect(runtime.calls).toEqual([`create ${ID_A}`, `hibernate ${ID_A}`, `wake ${ID_A} on 10.88.7.9`]);
    expect(reports.at(-1)).toMatchObject({ id: ID_A, state: 'running' });
    expect(reports.at(-1)?.savedBytes).toBeUndefined();
  });

  it("starts a clone from its fork's source, as the desired set names it", async () => {
    const { runtime, reconciler } = setup();
    const forkOf = { sandboxId: ID_A, forkId: '00000000-0000-4000-8000-0000000000f1', count: 1 };
    reconciler.setDesired({ sandboxes: [{ ...want(ID_A), rootfs: 'block' }, { ...want(ID_B), rootfs: 'block', forkOf }] });
    await reconciler.idle();
    expect(runtime.specs.find((s) => s.id === ID_B)?.forkOf).toEqual(forkOf);
    expect(runtime.specs.find((s) => s.id === ID_A)?.forkOf).toBeUndefined();
  });

  it('reports a sandbox that cannot hibernate running, with the reason', async () => {
    const { reports, reconciler } = setup();
    reconciler.setDesired({ sandboxes: [want(ID_A)] });
    await reconciler.idle();
    reconciler.setDesired({ sandboxes: [{ ...want(ID_A), hibernated: true }] });
    await reconciler.idle();
    expect(reports.at(-1)).toMatchObject({ id: ID_A, state: 'running', error: { code: 'HIBERNATE_UNSUPPORTED', message: expect.stringContaining('virtiofs') } });
  });

  it('creates what is desired and reports its progress', async () => {
    const { runtime, reports, reconciler } = setup();
    reconciler.setDesired({ sandboxes: [want(ID_A)] });
    await reconciler.idle();
    expect(runtime.get(ID_A)?.state).toBe('running');
    expect(reports.map((r) => r.state)).toEqual(['creating', 'running']);
  });

  it('tells its observer of each finished start, with the bytes pulled for it', async () => {
    const runtime = new FakeRuntime(new Set([ID_B]));
    const started: [string, string, number | undefined][] = [];
    const reconciler = new Reconciler(runtime, () => undefined, pino({ level: 'silent' }), 'tcfilter', {
      started: (info, pulledBytes) => started.push([info.id, info.state, pulledBytes]),
    });
    reconciler.setDesired({ sandboxes: [{ ...want(ID_A), image: '127.0.0.1:5000/app:1' }, want(ID_B)] });
    await reconciler.idle();
    expect(started.sort()).toEqual([
      [ID_A, 'running', 50],
      [ID_B, 'failed', undefined],
    ]);
  });

  it('passes image, command and rootfs to the runtime and relays pull progress', async () => {
    const { runtime, reports, reconciler } = setup();
    reconciler.setDesired({ sandboxes: [{ ...want(ID_A), image: '127.0.0.1:5000/app:1', command: ['/app/run'], rootfs: '9p' }] });
    await reconciler.idle();
    expect(runtime.specs[0]).toMatchObject({ image: '127.0.0.1:5000/app:1', command: ['/app/run'], rootfs: '9p' });
    expect(reports.map((r) => r.progress)).toEqual([undefined, { phase: 'pull', bytesDone: 50, bytesTotal: 100 }, undefined]);
  });

  it('skips a create whose sandbox stopped being desired before its turn came', async () => {
    const { runtime, reports, reconciler } = setup();
    reconciler.setDesired({ sandboxes: [want(ID_A)] });
    reconciler.setDesired({ sandboxes: [] });
    await reconciler.idle();
    expect(runtime.calls).toEqual([]);
    expect(reports.at(-1)).toEqual({ id: ID_A, state: 'gone', timings: [] });
  });

  it('does not create twice when the same desired set arrives again', async () => {
    const { runtime, reconciler } = setup();
    reconciler.setDesired({ sandboxes: [want(ID_A)] });
    reconciler.setDesired({ sandboxes: [want(ID_A)] });
    await reconciler.idle();
    expect(runtime.calls).toEqual([`create ${ID_A}`]);
  });

  it('deletes a sandbox that leaves the desired set, after its create finished, and reports it gone', async () => {
    const { runtime, reports, reconciler } = setup();
    reconciler.setDesired({ sandboxes: [want(ID_A)] });
    await new Promise((r) => setTimeout(r, 1)); // A's create is now in flight
    reconciler.setDesired({ sandboxes: [want(ID_B)] });
    await reconciler.idle();
    expect(runtime.calls).toEqual([`create ${ID_A}`, `create ${ID_B}`, `delete ${ID_A}`]);
    expect(runtime.get(ID_A)).toBeUndefined();
    expect(reports.filter((r) => r.id === ID_A).at(-1)?.state).toBe('gone');
  });

  it('reports a failed create with its error and deletes it quietly once no longer desired', async () => {
    const { runtime, reports, reconciler } = setup(new Set([ID_A]));
    reconciler.setDesired({ sandboxes: [want(ID_A)] });
    await reconciler.idle();
    expect(reports.at(-1)).toMatchObject({ id: ID_A, state: 'failed', error: { code: 'VM_BOOT_FAILED' } });
    reconciler.setDesired({ sandboxes: [] });
    await reconciler.idle();
    expect(runtime.sandboxes.size).toBe(0);
    expect(reports.slice(-1).map((r) => r.state)).toEqual(['gone']);
    expect(reports.some((r) => r.state === 'stopping')).toBe(false);
  });

  it('answers gone for a sandbox the runtime no longer has, so the control plane can forget it', async () => {
    const { runtime, reports, reconciler } = setup(new Set([ID_A]));
    reconciler.setDesired({ sandboxes: [want(ID_A)] });
    await reconciler.idle();
    runtime.sandboxes.delete(ID_A); // a runtime that released the failed sandbox by itself
    reconciler.setDesired({ sandboxes: [] });
    await reconciler.idle();
    expect(reports.at(-1)).toEqual({ id: ID_A, state: 'gone', timings: [] });
  });

  it('restarts a failed sandbox under the same id with the same spec when the desired restartCount rises', async () => {
    const { runtime, reports, reconciler } = setup();
    const spec = { ...want(ID_A), image: '127.0.0.1:5000/app:1', command: ['/app/run'], ports: [{ containerPort: 80, protocol: 'tcp' as const }] };
    reconciler.setDesired({ sandboxes: [spec] });
    await reconciler.idle();
    runtime.vmmDied(ID_A);
    expect(reports.at(-1)).toMatchObject({ id: ID_A, state: 'failed', error: { code: 'VMM_EXITED' }, restartCount: 0 });

    // Kept desired while the restart is not due yet: nothing happens but a report.
    reconciler.setDesired({ sandboxes: [spec] });
    await reconciler.idle();
    expect(runtime.calls).toEqual([`create ${ID_A}`]);
    expect(reports.at(-1)).toMatchObject({ id: ID_A, state: 'failed', restartCount: 0 });

    const before = reports.length;
    reconciler.setDesired({ sandboxes: [{ ...spec, restartCount: 1 }] });
    await reconciler.idle();
    expect(runtime.calls).toEqual([`create ${ID_A}`, `delete ${ID_A}`, `create ${ID_A}`]);
    expect(runtime.specs[1]).toEqual(runtime.specs[0]);
    expect(runtime.get(ID_A)?.state).toBe('running');
    // The control plane hears of the new incarnation only, and never that it was gone.
    expect(reports.slice(before).map((r) => [r.state, r.restartCount])).toEqual([
      ['creating', 1],
      ['creating', 1],
      ['running', 1],
    ]);

    // The same count again does not restart it twice; its next failure is the new incarnation's.
    reconciler.setDesired({ sandboxes: [{ ...spec, restartCount: 1 }] });
    await reconciler.idle();
    expect(runtime.calls).toHaveLength(3);
    runtime.vmmDied(ID_A);
    expect(reports.at(-1)).toMatchObject({ id: ID_A, state: 'failed', restartCount: 1 });
  });

  it('does not restart a failed sandbox whose restart count did not rise, and deletes it once no longer desired', async () => {
    const { runtime, reports, reconciler } = setup(new Set([ID_A]));
    reconciler.setDesired({ sandboxes: [{ ...want(ID_A), restartCount: 2 }] });
    await reconciler.idle();
    expect(reports.at(-1)).toMatchObject({ state: 'failed', error: { code: 'VM_BOOT_FAILED' }, restartCount: 2 });
    reconciler.setDesired({ sandboxes: [{ ...want(ID_A), restartCount: 2 }] });
    await reconciler.idle();
    expect(runtime.calls).toEqual([`create ${ID_A}`]);
    reconciler.setDesired({ sandboxes: [] });
    await reconciler.idle();
    expect(runtime.calls).toEqual([`create ${ID_A}`, `delete ${ID_A}`]);
    expect(reports.at(-1)).toEqual({ id: ID_A, state: 'gone', timings: [] });
  });

  it('takes a running sandbox it did not start as the incarnation asked for, and leaves it running', async () => {
    const { runtime, reports, reconciler } = setup();
    // Re-adopted by the runtime after the agent restarted.
    runtime.sandboxes.set(ID_A, { id: ID_A, state: 'running', vcpus: 1, memoryMiB: 256, timings: [], accel: 'tcg', transport: 'virtio-serial', rootfs: 'virtiofs' });
    reconciler.setDesired({ sandboxes: [{ ...want(ID_A), restartCount: 3 }] });
    await reconciler.idle();
    expect(runtime.calls).toEqual([]);
    expect(reports.at(-1)).toMatchObject({ id: ID_A, state: 'running', restartCount: 3 });
  });

  it('deleteAll empties the host', async () => {
    const { runtime, reconciler } = setup();
    reconciler.setDesired({ sandboxes: [want(ID_A), want(ID_B)] });
    await reconciler.deleteAll();
    expect(runtime.list()).toEqual([]);
  });

  describe('auto-hibernate', () => {
    /** A reconciler whose idle tracker sees no NIC traffic and runs on a clock the test moves. */
    function withIdle() {
      const runtime = new FakeRuntime();
      const reports: SandboxStatus[] = [];
      const clock = { now: 0 };
      const tracker = new IdleTracker(() => Promise.resolve(undefined), () => clock.now);
      const reconciler = new Reconciler(runtime, (s) => reports.push(s), pino({ level: 'silent' }), 'tcfilter', undefined, tracker);
      /** Moves the clock on, checks, and waits for what the check queued. */
      const checkAfter = async (seconds: number) => {
        clock.now += seconds * 1000;
        await reconciler.checkIdle();
        await reconciler.idle();
      };
      return { runtime, reports, reconciler, tracker, checkAfter };
    }

    it('reports a running sandbox idle for its timeout once, then hibernates it only when the control plane asks', async () => {
      const { runtime, reports, reconciler, checkAfter } = withIdle();
      const sleepy = { ...want(ID_A), rootfs: 'block' as const, idleTimeoutSeconds: 10 };
      reconciler.setDesired({ sandboxes: [sleepy, want(ID_B)] });
      await reconciler.idle();
      await checkAfter(0);
      const before = reports.length;
      await checkAfter(9);
      expect(reports).toHaveLength(before);

      await checkAfter(1);
      expect(reports.slice(before)).toEqual([expect.objectContaining({ id: ID_A, state: 'running', idleSeconds: 10 })]);
      await checkAfter(5);
      expect(reports).toHaveLength(before + 1);
      // The node does not hibernate it by itself; every report says it is idle.
      expect(runtime.calls).not.toContain(`hibernate ${ID_A}`);
      reconciler.setDesired({ sandboxes: [sleepy, want(ID_B)] });
      await reconciler.idle();
      expect(reports.filter((r) => r.id === ID_A).at(-1)).toMatchObject({ state: 'running', idleSeconds: 15 });
      expect(reports.filter((r) => r.id === ID_B).every((r) => r.idleSeconds === undefined)).toBe(true);

      reconciler.setDesired({ sandboxes: [{ ...sleepy, hibernated: true }, want(ID_B)] });
      await reconciler.idle();
      expect(runtime.calls).toContain(`hibernate ${ID_A}`);
      expect(reports.filter((r) => r.id === ID_A).slice(-2)).toEqual([
        expect.objectContaining({ state: 'hibernating' }),
        expect.not.objectContaining({ idleSeconds: expect.anything() }),
      ]);

      // Woken, it is idle only after a whole timeout again.
      reconciler.setDesired({ sandboxes: [sleepy, want(ID_B)] });
      await reconciler.idle();
      expect(runtime.get(ID_A)?.state).toBe('running');
      const woken = reports.length;
      await checkAfter(0);
      await checkAfter(9);
      expect(reports).toHaveLength(woken);
      await checkAfter(1);
      expect(reports.slice(woken)).toEqual([expect.objectContaining({ id: ID_A, state: 'running', idleSeconds: 10 })]);
    });

    it('does not ask again at once when the node cannot hibernate the sandbox: it is idle again after another timeout', async () => {
      const { runtime, reports, reconciler, checkAfter } = withIdle();
      const shared = { ...want(ID_A), idleTimeoutSeconds: 10 };
      reconciler.setDesired({ sandboxes: [shared] });
      await reconciler.idle();
      await checkAfter(0);
      await checkAfter(10);
      expect(reports.at(-1)).toMatchObject({ state: 'running', idleSeconds: 10 });

      reconciler.setDesired({ sandboxes: [{ ...shared, hibernated: true }] });
      await reconciler.idle();
      expect(runtime.calls).toContain(`hibernate ${ID_A}`);
      const refused = reports.at(-1);
      expect(refused).toMatchObject({ state: 'running', error: { code: 'HIBERNATE_UNSUPPORTED' } });
      expect(refused).not.toHaveProperty('idleSeconds');
      // The control plane stops asking; the sandbox is not idle until another 10 s pass.
      reconciler.setDesired({ sandboxes: [shared] });
      await reconciler.idle();
      expect(reports.at(-1)).not.toHaveProperty('idleSeconds');
      await checkAfter(9);
      expect(reports.at(-1)).not.toHaveProperty('idleSeconds');
      await checkAfter(1);
      expect(reports.at(-1)).toMatchObject({ state: 'running', idleSeconds: 10 });
    });
  });
  describe('moves', () => {
    const GRACE_MS = 100;
    const hibernatedArrival = (id: string): SandboxInfo => ({ id, state: 'hibernated', vcpus: 1, memoryMiB: 256, timings: [], accel: 'tcg', transport: 'virtio-serial', rootfs: 'block' });

    function withArrivals() {
      const runtime = new FakeRuntime();
      const reports: SandboxStatus[] = [];
      const arrivals = new MoveArrivals(GRACE_MS);
      const reconciler = new Reconciler(runtime, (s) => reports.push(s), pino({ level: 'silent' }), 'tcfilter', undefined, undefined, arrivals);
      /** What a receive does: records the arrival, then the runtime holds the sandbox. */
      const arrive = (id: string) => {
        arrivals.record(id);
        runtime.sandboxes.set(id, hibernatedArrival(id));
      };
      return { runtime, reports, reconciler, arrivals, arrive };
    }

    it('leaves a sandbox taken in from another node alone while the control plane has yet to place it, and deletes it once its grace has passed', async () => {
      const { runtime, reports, reconciler, arrivals, arrive } = withArrivals();
      arrive(ID_A);
      reconciler.setDesired({ sandboxes: [want(ID_B)] });
      await reconciler.idle();
      expect(runtime.get(ID_A)?.state).toBe('hibernated');
      expect(reports.filter((r) => r.id === ID_A)).toEqual([]);
      // No desired set needed: the end of its grace makes the reconciler look again.
      await new Promise((resolve) => setTimeout(resolve, GRACE_MS + 50));
      await reconciler.idle();
      expect(runtime.calls).toEqual([`create ${ID_B}`, `delete ${ID_A}`]);
      expect(reports.at(-1)).toEqual({ id: ID_A, state: 'gone', timings: [] });
      expect(arrivals.holds(ID_A)).toBe(false);
    });

    it('forgets the arrival once the sandbox is placed here: it is then deleted as usual when no longer desired', async () => {
      const { runtime, reports, reconciler, arrivals, arrive } = withArrivals();
      arrive(ID_A);
      reconciler.setDesired({ sandboxes: [{ ...want(ID_A), rootfs: 'block', hibernated: true }] });
      await reconciler.idle();
      expect(arrivals.holds(ID_A)).toBe(false);
      expect(reports.at(-1)).toMatchObject({ id: ID_A, state: 'hibernated' });
      reconciler.setDesired({ sandboxes: [] });
      await reconciler.idle();
      expect(runtime.calls).toEqual([`delete ${ID_A}`]);
    });

    it('deleteAll deletes arrivals too', async () => {
      const { runtime, reconciler, arrive } = withArrivals();
      arrive(ID_A);
      await reconciler.deleteAll();
      expect(runtime.list()).toEqual([]);
    });

    function withDepartures() {
      const runtime = new FakeRuntime();
      const reports: SandboxStatus[] = [];
      const departures = new MoveDepartures(GRACE_MS);
      const reconciler = new Reconciler(runtime, (s) => reports.push(s), pino({ level: 'silent' }), 'tcfilter', undefined, undefined, new MoveArrivals(GRACE_MS), departures);
      /** What a migrate-out does once the target runs the sandbox: records the departure, then the runtime lets go of it. */
      const depart = (id: string) => {
        departures.record(id);
        runtime.sandboxes.delete(id);
      };
      return { runtime, reports, reconciler, departures, depart };
    }

    it('does not create again a sandbox that migrated to another node while it is still desired here, nor report it', async () => {
      const { runtime, reports, reconciler, departures, depart } = withDepartures();
      reconciler.setDesired({ sandboxes: [want(ID_A)] });
      await reconciler.idle();
      depart(ID_A);
      reports.length = 0;
      // The same desired set again: the control plane has yet to switch its placement.
      reconciler.setDesired({ sandboxes: [want(ID_A)] });
      await reconciler.idle();
      expect(runtime.calls).toEqual([`create ${ID_A}`]);
      expect(runtime.get(ID_A)).toBeUndefined();
      expect(reports).toEqual([]);
      // Placed on the target: no longer desired here, the departure is forgotten.
      reconciler.setDesired({ sandboxes: [] });
      await reconciler.idle();
      expect(departures.holds(ID_A)).toBe(false);
      expect(reports).toEqual([{ id: ID_A, state: 'gone', timings: [] }]);
      // Desired here again later (migrated back, say): created as any other.
      reconciler.setDesired({ sandboxes: [want(ID_A)] });
      await reconciler.idle();
      expect(runtime.calls).toEqual([`create ${ID_A}`, `create ${ID_A}`]);
    });

    it('creates a departed sandbox the control plane still places here once the grace has passed', async () => {
      const { runtime, reconciler, departures, depart } = withDepartures();
      reconciler.setDesired({ sandboxes: [want(ID_A)] });
      await reconciler.idle();
      depart(ID_A);
      reconciler.setDesired({ sandboxes: [want(ID_A)] });
      await reconciler.idle();
      expect(runtime.calls).toEqual([`create ${ID_A}`]);
      // No desired set needed: the end of its grace makes the reconciler look again.
      await new Promise((resolve) => setTimeout(resolve, GRACE_MS + 50));
      await reconciler.idle();
      expect(departures.holds(ID_A)).toBe(false);
      expect(runtime.calls).toEqual([`create ${ID_A}`, `create ${ID_A}`]);
      expect(runtime.get(ID_A)?.state).toBe('running');
    });
  });
});
