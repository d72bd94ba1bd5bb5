import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, expect, it } from '@jest/globals';
import { describeIf, eventually, processesMentioning } from '@moat/test-support';
import { netnsName, RuntimeError, RuntimeErrorCode, type SandboxInfo } from '../../src';
import { AgentClient } from '../../src/agent/agent.client';
import { dataDirOfImages, findGuestImage } from './support/guest-image';
import { COUNTER_AND_LISTENER, SuiteRuntime } from './support/suite-runtime';

const image = findGuestImage();
if (!image) console.warn(`hibernate integration tests skipped: no guest image under ${dataDirOfImages}/guest-images`);

// A bridge prefix and pool of its own keep this test's networks off the host's and other tests'.
const PREFIX = `mth${process.pid % 10000}`;
const POOL = '10.251.0.0/16';

/**
 * Hibernate and wake on real QEMU: a block-rootfs sandbox's VM is saved whole and released (no
 * VMM, no netns), and woken with its counter, its listening socket, its /tmp and its address
 * as they were; cold-booted and restored VMs alike, across a runtime restart too. A sandbox
 * that cannot be saved runs on; a hibernated one deletes without a trace.
 */
describeIf(image !== undefined)('hibernate and wake on real QEMU', () => {
  const vm = new SuiteRuntime(
    'hib',
    image!,
    { vcpus: 1, memoryMiB: 128, env: {}, tenantId: 'hibernate-test', rootfs: 'block', command: COUNTER_AND_LISTENER, network: { model: 'tcfilter', ports: [] } },
    ({ work }) => ({ network: { stateDir: join(work, 'network'), bridgePrefix: PREFIX, subnetPool: POOL } }),
  );

  beforeAll(() => vm.start());

  afterAll(() => vm.stop({ networkPrefix: PREFIX }), 120_000);

  /** Hibernates `id` with a marker in /tmp, checks it holds no VM and no network, and wakes it. */
  const roundTrip = async (id: string, between: () => Promise<void> = () => sleep(3_000)): Promise<{ before: number; after: number; woken: SandboxInfo }> => {
    await vm.sh(id, 'echo kept > /tmp/marker');
    const before = await vm.count(id);
    const hibernated = await vm.runtime.hibernate(id);
    expect(hibernated.state).toBe('hibernated');
    expect(hibernated.savedBytes).toBeGreaterThan(1024 * 1024);
    expect(hibernated.vmmPid).toBeUndefined();
    expect(processesMentioning(id)).toEqual([]);
    expect(existsSync(`/run/netns/${netnsName(id)}`)).toBe(false);
    await expect(vm.runtime.exec(id, { command: ['true'] })).rejects.toMatchObject({ code: RuntimeErrorCode.SANDBOX_NOT_RUNNING });
    await between();
    const woken = await vm.runtime.wake(id);
    expect(woken.error).toBeUndefined();
    expect(woken.state).toBe('running');
    expect(woken.timings.map((t) => t.phase)).toEqual([...(woken.network ? ['network'] : []), 'wake', 'agent']);
    const after = await vm.count(id);
    expect(await vm.sh(id, 'cat /tmp/marker')).toBe('kept');
    return { before, after, woken };
  };

  it('wakes a cold-booted sandbox with its processes, listening socket, /tmp and address as they were', async () => {
    const peer = await vm.create();
    const info = await vm.create();
    const { before, after, woken } = await roundTrip(info.id);
    // The counter went on from where it was: it did not start again, nor count the hibernation.
    expect(after).toBeGreaterThanOrEqual(before);
    expect(after).toBeLessThan(before + 3);
    await eventually(async () => expect(await vm.count(info.id)).toBeGreaterThan(after), { timeout: 10_000 });
    // Its address is the one it had, and the listener it had accepts a connection over it.
    expect(woken.network?.ip).toBe(info.network?.ip);
    // The peer's first try may land before the woken guest's link has announced itself: a few tries, each a new connection.
    await eventually(async () => expect((await vm.runtime.exec(peer.id, { command: ['sh', '-c', `echo hello | nc -w 2 ${info.network?.ip} 7000`] })).exitCode).toBe(0), {
      timeout: 20_000,
      interval: 500,
    });
    await eventually(async () => expect(await vm.sh(info.id, 'cat /tmp/got')).toBe('hello'), { timeout: 10_000 });
    // The clock is the host's again.
    expect(Math.abs(Number(await vm.sh(info.id, 'date +%s')) - Date.now() / 1000)).toBeLessThan(30);
    await vm.runtime.delete(peer.id);
  });

  it('wakes a sandbox restored from a boot snapshot, also after the runtime restarted while it was hibernated', async () => {
    await vm.runtime.snapshotsIdle();
    const info = await vm.create({ network: undefined });
    expect(info.timings.map((t) => t.phase)).toContain('restore');
    const { before, after } = await roundTrip(info.id, async () => {
      await vm.reopen();
      expect(vm.runtime.get(info.id)?.state).toBe('hibernated');
    });
    expect(after).toBeGreaterThanOrEqual(before);
    expect(after).toBeLessThan(before + 3);
  });

  it('saves a woken VM again when its agent is not reached, so the next wake runs on from what it was then', async () => {
    await vm.runtime.snapshotsIdle();
    const info = await vm.create({ network: undefined });
    await vm.runtime.hibernate(info.id);
    const sandboxDir = join(vm.dirs.work, 'data', 'sandboxes', info.id);
    // The woken guest runs, but the host never reaches its agent (once): the wake fails after the guest ran.
    let refuse = true;
    await vm.reopen({
      connectAgent: (transport) => {
        const agent = new AgentClient(transport);
        if (!refuse || !transport.grpcTarget.includes(info.id)) return agent;
        refuse = false;
        agent.waitReady = () => Promise.reject(new RuntimeError(RuntimeErrorCode.AGENT_UNREACHABLE, 'refused by the test'));
        return agent;
      },
    });
    const refused = await vm.runtime.wake(info.id);
    expect(refused).toMatchObject({ state: 'hibernated', error: { code: RuntimeErrorCode.AGENT_UNREACHABLE } });
    expect(processesMentioning(info.id)).toEqual([]);
    // Saved again under the other name, its RAM beside it; the files it woke from are gone.
    expect(existsSync(join(sandboxDir, 'hibernated-again.state')) && existsSync(join(sandboxDir, 'hibernated-again.ram'))).toBe(true);
    await eventually(() => expect(readdirSync(sandboxDir).filter((file) => file.startsWith('hibernated.'))).toEqual([]));
    const woken = await vm.runtime.wake(info.id);
    expect(woken.error).toBeUndefined();
    expect(woken.state).toBe('running');
    expect(await vm.sh(info.id, 'test -f /tmp/count && echo counting')).toBe('counting');
    const now = await vm.count(info.id);
    await eventually(async () => expect(await vm.count(info.id)).toBeGreaterThan(now), { timeout: 10_000 });
  });

  it('refuses a sandbox whose rootfs cannot be saved, which runs on', async () => {
    const info = await vm.create({ rootfs: 'virtiofs', network: undefined });
    await expect(vm.runtime.hibernate(info.id)).rejects.toMatchObject({ code: RuntimeErrorCode.HIBERNATE_UNSUPPORTED });
    expect(vm.runtime.get(info.id)?.state).toBe('running');
    expect(await vm.sh(info.id, 'echo alive')).toBe('alive');
    await vm.runtime.delete(info.id);
  });

  it('deletes a hibernated sandbox without a trace: saved state, disk, dirs, netns', async () => {
    const info = await vm.create();
    await vm.runtime.hibernate(info.id);
    await vm.runtime.delete(info.id);
    expect(processesMentioning(info.id)).toEqual([]);
    expect(existsSync(join(vm.dirs.work, 'data', 'sandboxes', info.id))).toBe(false);
    expect(existsSync(join(vm.dirs.runDir, info.id))).toBe(false);
    expect(existsSync(`/run/netns/${netnsName(info.id)}`)).toBe(false);
  });
});
