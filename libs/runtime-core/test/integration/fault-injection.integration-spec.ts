import { execFileSync, spawnSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from '@jest/globals';
import { describeIf, eventually, processesMentioning } from '@moat/test-support';
import { QmpClient } from '../../src/hypervisor/qemu/qmp.client';
import { SandboxRuntime, type RuntimeOptions, type SandboxSpec } from '../../src';
import { accel, dataDirOfImages, findGuestImage } from './support/guest-image';
import { makeVmDirs, removeLeftovers, removeVmDirs } from './support/vm-dirs';

const image = findGuestImage();
if (!image) console.warn(`fault-injection tests skipped: no guest image under ${dataDirOfImages}/guest-images`);

const PREFIX = `mtf${process.pid % 10000}`;
const POOL = '10.249.0.0/16';
/** Phases of a restored, networked start, in order (a cold start has `vmm` for `restore`). */
const PHASES = ['rootfs', 'jail', 'sharefs', 'network', 'restore', 'agent', 'sandbox', 'container'] as const;
/** The steps a delete releases, in its order (the start's steps in reverse; `vmm` stops the VM whichever step started it). */
const RELEASE_STEPS = ['container', 'sandbox', 'agent', 'vmm', 'restore', 'network', 'sharefs', 'jail', 'rootfs'] as const;

/** What a sandbox can leave on the host, by its id: every kind of object the runtime creates. */
function leftovers(id: string, runDir: string, dataDir: string, memoryDir: string): string[] {
  const found = processesMentioning(id).map((p) => `process ${p}`);
  for (const hierarchy of ['memory', 'cpu', 'pids', '.', 'unified']) {
    if (existsSync(`/sys/fs/cgroup/${hierarchy}/moat/${id}`)) found.push(`cgroup ${hierarchy}/moat/${id}`);
  }
  const leases = existsSync('/run/moat/jail-ids') ? readdirSync('/run/moat/jail-ids') : [];
  for (const uid of leases) if (readFileSync(`/run/moat/jail-ids/${uid}`, 'utf8').includes(id)) found.push(`uid lease ${uid}`);
  if (existsSync(`/run/netns/moat-${id}`)) found.push('netns');
  if (existsSync(`/sys/class/net/mt${id.replaceAll('-', '').slice(0, 13)}`)) found.push('tap');
  if (existsSync(join(runDir, id))) found.push('run dir');
  if (existsSync(join(dataDir, 'sandboxes', id))) found.push('sandbox dir');
  if (existsSync(join(memoryDir, `${id}.mem`))) found.push('RAM file');
  const rules = spawnSync('nft', ['list', 'ruleset'], { encoding: 'utf8' }).stdout ?? '';
  if (rules.includes(`egress_${id.replaceAll('-', '')}`)) found.push('nft rule');
  return found;
}

/**
 * A node agent killed at any instant of a start or a delete restarts into a state it can undo:
 * after the restart nothing of the sandbox is left but what a sandbox still being started would
 * hold again, the sandbox can be started anew under the same id with exactly one VMM, and its
 * delete leaves nothing.
 */
describeIf(image !== undefined)('a node agent killed mid-start or mid-delete', () => {
  const guestImage = image!;
  let work: string;
  let runDir: string;
  let memoryDir: string;
  let options: RuntimeOptions;
  const ids: string[] = [];

  const spec = (id: string): SandboxSpec => ({
    id,
    vcpus: 1,
    memoryMiB: 128,
    env: {},
    tenantId: 'faults',
    network: { model: 'tcfilter', ports: [], egress: { default: 'allow', deny: ['192.0.2.0/24'] } },
  });
  /** Runs a node agent that dies as told; returns what it printed (nothing when it died as planned). */
  const crash = (id: string, at: Record<string, number | string>): string => {
    const child = spawnSync(process.execPath, [join(__dirname, 'support', 'crashing-node.mjs'), JSON.stringify({ options, spec: spec(id), at })], {
      encoding: 'utf8',
      timeout: 150_000,
    });
    expect({ signal: child.signal, stderr: child.stderr }).toMatchObject({ signal: 'SIGKILL' });
    return child.stdout.trim();
  };
  /** The restart: a runtime on the same dirs, which must converge, then a fresh start and a clean delete. */
  const restartAndConverge = async (id: string) => {
    const runtime = await SandboxRuntime.open(options);
    try {
      // Nothing interrupted is held on; a sandbox that was running when its agent died is re-adopted.
      const info = runtime.get(id);
      if (info) expect({ state: info.state, error: info.error }).toMatchObject({ state: 'running' });
      else expect(leftovers(id, runDir, options.dataDir, memoryDir)).toEqual([]);
      if (!info) expect((await runtime.create(spec(id))).state).toBe('running');
      const vmms = processesMentioning(`moat-${id}`).filter((p) => p.includes('qemu-system'));
      expect(vmms).toHaveLength(1);
      await runtime.delete(id);
      expect(leftovers(id, runDir, options.dataDir, memoryDir)).toEqual([]);
    } finally {
      await runtime.close();
    }
  };

  beforeAll(async () => {
    ({ work, runDir, memoryDir } = makeVmDirs('faults'));
    options = {
      dataDir: join(work, 'data'),
      runDir,
      memoryDir,
      guestImage,
      accel,
      network: { stateDir: join(work, 'data', 'network'), bridgePrefix: PREFIX, subnetPool: POOL },
    };
    // The shape's snapshot, so that starts below are restores (the longest path).
    const runtime = await SandboxRuntime.open(options);
    const id = randomUUID();
    ids.push(id);
    await runtime.create(spec(id));
    await runtime.snapshotsIdle();
    await runtime.delete(id);
    await runtime.close();
  });

  afterAll(async () => {
    const runtime = await SandboxRuntime.open(options).catch(() => undefined);
    for (const id of ids) await runtime?.delete(id).catch(() => undefined);
    await runtime?.close();
    removeLeftovers(ids, PREFIX);
    removeVmDirs({ work, runDir, memoryDir });
  }, 180_000);

  it.each(PHASES.map((phase, i) => [phase, i] as const))('at the start of %s', async (_phase, afterPhases) => {
    const id = randomUUID();
    ids.push(id);
    expect(crash(id, { afterPhases })).toBe('');
    await restartAndConverge(id);
  });

  it.each([
    ['the VMM or restore', 4, 150],
    ['the guest agent wait', 5, 300],
  ] as const)('in the middle of %s', async (_what, afterPhases, delayMs) => {
    const id = randomUUID();
    ids.push(id);
    expect(crash(id, { afterPhases, delayMs })).toBe('');
    await restartAndConverge(id);
  });

  it.each(
    // Each delete step as it begins, and a delete killed the moment it starts, before it has
    // saved that it is stopping.
    [...RELEASE_STEPS.map((step) => ['as it releases its ' + step, { releasing: step }] as const), ['the moment it begins', { deleteAfterMs: 0 }] as const],
  )('a delete killed %s', async (_when, at) => {
    const id = randomUUID();
    ids.push(id);
    const printed = crash(id, at);
    // A delete may finish before the mark; then there is simply nothing to undo.
    expect(['', 'deleted']).toContain(printed);
    const runtime = await SandboxRuntime.open(options);
    try {
      // Re-adopted if the delete had not begun to take it apart, released on recovery if it had;
      // either way the delete (which its control plane asks for again) finishes cleanly.
      expect(['running', 'gone']).toContain(runtime.get(id)?.state ?? 'gone');
      await runtime.delete(id);
      expect(leftovers(id, runDir, options.dataDir, memoryDir)).toEqual([]);
    } finally {
      await runtime.close();
    }
  });

  it('fails a sandbox whose guest hangs with GUEST_UNRESPONSIVE, and releases it', async () => {
    // Pinged every second rather than every 5: the same three misses in a row, sooner.
    const runtime = await SandboxRuntime.open(options, { guestPingIntervalMs: 1_000 });
    const id = randomUUID();
    ids.push(id);
    try {
      expect((await runtime.create(spec(id))).state).toBe('running');
      // The whole guest stops: its agent answers nothing any more.
      const qmp = await QmpClient.connect(join(runDir, id, 'vm', 'qmp.sock'), 5_000);
      await qmp.execute('stop', undefined, 5_000);
      qmp.close();
      await eventually(() => expect(runtime.get(id)?.state).toBe('failed'), { timeout: 60_000, interval: 500 });
      expect(runtime.get(id)?.error?.code).toBe('GUEST_UNRESPONSIVE');
      await runtime.delete(id);
      expect(leftovers(id, runDir, options.dataDir, memoryDir)).toEqual([]);
    } finally {
      await runtime.close();
    }
  });

  it('keeps starting sandboxes cold when the disk fills up while a boot snapshot is saved, and leaves nothing of the save', async () => {
    // A data dir on a tmpfs too small for the snapshot's RAM: the save fails writing it.
    const small = mkdtempSync(join(tmpdir(), 'moat-full-'));
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=40m', 'tmpfs', small]);
    const runtime = await SandboxRuntime.open({ ...options, dataDir: small, network: undefined });
    const id = randomUUID();
    ids.push(id);
    try {
      expect((await runtime.create({ ...spec(id), network: undefined, memoryMiB: 256 })).state).toBe('running');
      await runtime.snapshotsIdle();
      const snapshots = readdirSync(join(small, 'boot-snapshots'));
      expect(snapshots).toEqual([]);
      expect(processesMentioning(join(runDir, 'snapshot-'))).toEqual([]);
      await runtime.delete(id);
      expect(leftovers(id, runDir, small, memoryDir)).toEqual([]);
    } finally {
      await runtime.close();
      execFileSync('umount', [small]);
      rmSync(small, { recursive: true, force: true });
    }
  });
});
