import { randomUUID } from 'node:crypto';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, expect, it } from '@jest/globals';
import { describeIf, eventually } from '@moat/test-support';
import { netnsName, RuntimeErrorCode, SandboxRuntime, type SandboxInfo, type SandboxSpec } from '../../src';
import { accel, dataDirOfImages, findGuestImage, processesMentioning } from './support/guest-image';
import { makeVmDirs, removeLeftovers, removeVmDirs } from './support/vm-dirs';

const image = findGuestImage();
if (!image) console.warn(`hibernate integration tests skipped: no guest image under ${dataDirOfImages}/guest-images`);

// A bridge prefix and pool of its own keep this test's networks off the host's and other tests'.
const PREFIX = `mth${process.pid % 10000}`;
const POOL = '10.251.0.0/16';

/** The container's main process: a counter ticking every second, and a TCP listener that keeps what it is sent. */
const WORKLOAD = ['sh', '-c', 'nc -l -p 7000 > /tmp/got & i=0; while true; do i=$((i+1)); echo $i > /tmp/count; sleep 1; done'];

/**
 * Hibernate and wake on real QEMU: a block-rootfs sandbox's VM is saved whole and released (no
 * VMM, no netns), and woken with its counter, its listening socket, its /tmp and its address
 * as they were; cold-booted and restored VMs alike, across a runtime restart too. A sandbox
 * that cannot be saved runs on; a hibernated one deletes without a trace.
 */
describeIf(image !== undefined)('hibernate and wake on real QEMU', () => {
  const guestImage = image!;
  let work: string;
  let runDir: string;
  let memoryDir: string;
  let runtime: SandboxRuntime;
  const ids: string[] = [];

  const open = () =>
    SandboxRuntime.open({ dataDir: join(work, 'data'), runDir, memoryDir, guestImage, accel, network: { stateDir: join(work, 'network'), bridgePrefix: PREFIX, subnetPool: POOL } });
  const create = async (overrides: Partial<SandboxSpec> = {}): Promise<SandboxInfo> => {
    const id = randomUUID();
    ids.push(id);
    const info = await runtime.create({ id, vcpus: 1, memoryMiB: 128, env: {}, tenantId: 'hibernate-test', rootfs: 'block', command: WORKLOAD, network: { model: 'tcfilter', ports: [] }, ...overrides });
    expect(info.error).toBeUndefined();
    expect(info.state).toBe('running');
    return info;
  };
  const sh = async (id: string, script: string): Promise<string> => {
    const out = await runtime.exec(id, { command: ['sh', '-c', script] });
    expect({ exitCode: out.exitCode, stderr: out.stderr.toString() }).toEqual({ exitCode: 0, stderr: '' });
    return out.stdout.toString().trim();
  };
  const count = async (id: string) => Number(await sh(id, 'cat /tmp/count'));

  beforeAll(async () => {
    ({ work, runDir, memoryDir } = makeVmDirs('hib'));
    runtime = await open();
  });

  afterAll(async () => {
    for (const id of ids) await runtime?.delete(id).catch(() => undefined);
    await runtime?.close();
    removeLeftovers([...ids, join(runDir, 'snapshot-')], PREFIX);
    removeVmDirs({ work, runDir, memoryDir });
  }, 120_000);

  /** Hibernates `id` with a marker in /tmp, checks it holds no VM and no network, and wakes it. */
  const roundTrip = async (id: string, between: () => Promise<void> = () => sleep(3_000)): Promise<{ before: number; after: number; woken: SandboxInfo }> => {
    await sh(id, 'echo kept > /tmp/marker');
    const before = await count(id);
    const hibernated = await runtime.hibernate(id);
    expect(hibernated.state).toBe('hibernated');
    expect(hibernated.savedBytes).toBeGreaterThan(1024 * 1024);
    expect(hibernated.vmmPid).toBeUndefined();
    expect(processesMentioning(id)).toEqual([]);
    expect(existsSync(`/run/netns/${netnsName(id)}`)).toBe(false);
    await expect(runtime.exec(id, { command: ['true'] })).rejects.toMatchObject({ code: RuntimeErrorCode.SANDBOX_NOT_RUNNING });
    await between();
    const woken = await runtime.wake(id);
    expect(woken.error).toBeUndefined();
    expect(woken.state).toBe('running');
    expect(woken.timings.map((t) => t.phase)).toEqual([...(woken.network ? ['network'] : []), 'wake', 'agent']);
    const after = await count(id);
    expect(await sh(id, 'cat /tmp/marker')).toBe('kept');
    return { before, after, woken };
  };

  it('wakes a cold-booted sandbox with its processes, listening socket, /tmp and address as they were', async () => {
    const peer = await create();
    const info = await create();
    const { before, after, woken } = await roundTrip(info.id);
    // The counter went on from where it was: it did not start again, nor count the hibernation.
    expect(after).toBeGreaterThanOrEqual(before);
    expect(after).toBeLessThan(before + 3);
    await eventually(async () => expect(await count(info.id)).toBeGreaterThan(after), { timeout: 10_000 });
    // Its address is the one it had, and the listener it had accepts a connection over it.
    expect(woken.network?.ip).toBe(info.network?.ip);
    // The peer's first try may land before the woken guest's link has announced itself: a few tries, each a new connection.
    await eventually(async () => expect((await runtime.exec(peer.id, { command: ['sh', '-c', `echo hello | nc -w 2 ${info.network?.ip} 7000`] })).exitCode).toBe(0), {
      timeout: 20_000,
      interval: 500,
    });
    await eventually(async () => expect(await sh(info.id, 'cat /tmp/got')).toBe('hello'), { timeout: 10_000 });
    // The clock is the host's again.
    expect(Math.abs(Number(await sh(info.id, 'date +%s')) - Date.now() / 1000)).toBeLessThan(30);
    await runtime.delete(peer.id);
  });

  it('wakes a sandbox restored from a boot snapshot, also after the runtime restarted while it was hibernated', async () => {
    await runtime.snapshotsIdle();
    const info = await create({ network: undefined });
    expect(info.timings.map((t) => t.phase)).toContain('restore');
    const { before, after } = await roundTrip(info.id, async () => {
      await runtime.close();
      runtime = await open();
      expect(runtime.get(info.id)?.state).toBe('hibernated');
    });
    expect(after).toBeGreaterThanOrEqual(before);
    expect(after).toBeLessThan(before + 3);
  });

  it('refuses a sandbox whose rootfs cannot be saved, which runs on', async () => {
    const info = await create({ rootfs: 'virtiofs', network: undefined });
    await expect(runtime.hibernate(info.id)).rejects.toMatchObject({ code: RuntimeErrorCode.HIBERNATE_UNSUPPORTED });
    expect(runtime.get(info.id)?.state).toBe('running');
    expect(await sh(info.id, 'echo alive')).toBe('alive');
    await runtime.delete(info.id);
  });

  it('deletes a hibernated sandbox without a trace: saved state, disk, dirs, netns', async () => {
    const info = await create();
    await runtime.hibernate(info.id);
    await runtime.delete(info.id);
    expect(processesMentioning(info.id)).toEqual([]);
    expect(existsSync(join(work, 'data', 'sandboxes', info.id))).toBe(false);
    expect(existsSync(join(runDir, info.id))).toBe(false);
    expect(existsSync(`/run/netns/${netnsName(info.id)}`)).toBe(false);
  });
});
