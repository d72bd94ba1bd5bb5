/**
 * Lifecycle benchmark: hibernate and wake, measured in one run against the create paths on the
 * same guest image and machine (issue #18's `tools/bench/lifecycle`). For an idle 256 MiB
 * `rootfs: block` sandbox, per run:
 *  - hibernate: the time to save its VM and release it, and the bytes it keeps on the node;
 *  - wake → exec-ready: from the wake until `exec true` answers;
 *  - create → exec-ready, restored from a boot snapshot and booted cold, the references the
 *    wake is compared with (target: wake ≤ 1.0 s here, and ≥ 3× faster than a cold boot);
 *  - fork of 1 and of `--fork` clones (default 10) → every clone exec-ready, and how long the
 *    source was paused for its capture.
 *  - live migration of a running restored sandbox from one runtime to the other (two nodes' runtimes
 *    on this host, the stream in memory: the node agents' TLS channel is not in it) → exec-ready
 *    there, with QEMU's total time and the guest's downtime (target: downtime ≤ 300 ms).
 * Usage: node tools/bench/dist/lifecycle.js [--runs N] [--fork N] [--accel auto|kvm|tcg] [--data-dir DIR]
 */
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { PassThrough } from 'node:stream';
import { parseArgs } from 'node:util';
import { resolveGuestImage } from '@moat/guest-image';
import { SandboxRuntime, detectHost, type SandboxSpec } from '@moat/runtime-core';
import { DATA_DIR_OPTION, accelOption, positiveInt } from './cli';
import { formatMs, summarize } from './stats';

const MIB = 1024 * 1024;

async function execReady(runtime: SandboxRuntime, id: string): Promise<void> {
  const out = await runtime.exec(id, { command: ['true'] });
  if (out.exitCode !== 0) throw new Error(`exec true exited ${out.exitCode}`);
}

/** create → first successful exec; the sandbox is left running for the caller. */
async function created(runtime: SandboxRuntime, spec: SandboxSpec): Promise<{ ms: number; restored: boolean }> {
  const t0 = performance.now();
  const info = await runtime.create(spec);
  if (info.state !== 'running') throw new Error(`sandbox ${info.state}: ${info.error?.message ?? 'no error'}`);
  await execReady(runtime, spec.id);
  return { ms: performance.now() - t0, restored: info.timings.some((t) => t.phase === 'restore') };
}

function line(title: string, samples: number[]): number {
  const s = summarize(samples);
  console.log(`${title.padEnd(48)} p50 ${formatMs(s.p50)}  min ${formatMs(s.min)}  max ${formatMs(s.max)}`);
  return s.p50;
}

/** Live-migrates `runs` running sandboxes from `from` to `to` and prints the figures. */
async function liveMigrations(from: SandboxRuntime, to: SandboxRuntime, spec: () => SandboxSpec, runs: number): Promise<void> {
  const figures = { ready: [] as number[], total: [] as number[], downtime: [] as number[], bytes: [] as number[] };
  for (let i = 0; i < runs; i++) {
    const s = spec();
    await created(from, s);
    const t0 = performance.now();
    const stream = new PassThrough();
    const arrival = to.liveMigration.migrateIn(s.id, await from.liveMigration.departure(s.id), stream);
    const [migration] = await Promise.all([from.liveMigration.migrateOut(s.id, stream, () => arrival.then(() => undefined)), arrival]);
    await execReady(to, s.id);
    figures.ready.push(performance.now() - t0);
    figures.total.push(migration.totalMs);
    figures.downtime.push(migration.downtimeMs);
    figures.bytes.push(migration.bytes);
    await to.delete(s.id);
  }
  line('live migration → exec-ready on the other runtime', figures.ready);
  line('  QEMU migration total', figures.total);
  const downtime = line('  guest downtime', figures.downtime);
  console.log(`  sent p50 ${(summarize(figures.bytes).p50 / MIB).toFixed(1)} MiB; downtime target ≤ 300 ms ${downtime <= 300 ? 'met' : 'not met'}`);
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: { runs: { type: 'string', default: '3' }, fork: { type: 'string', default: '10' }, accel: { type: 'string', default: 'auto' }, 'data-dir': DATA_DIR_OPTION },
  });
  const runs = positiveInt('runs', values.runs);
  const forkCount = positiveInt('fork', values.fork);
  const image = await resolveGuestImage(resolve(values['data-dir']));
  const { accel } = await detectHost(accelOption(values.accel));
  const work = mkdtempSync(join(tmpdir(), 'moat-bench-lifecycle-'));
  const open = (name: string, bootSnapshots: boolean) =>
    SandboxRuntime.open({ dataDir: join(work, name), runDir: join(work, `${name}-run`), guestImage: image, accel, bootSnapshots });
  const restoring = await open('snapshots', true);
  const cold = await open('cold', false);
  const spec = (): SandboxSpec => ({ id: randomUUID(), vcpus: 1, memoryMiB: 256, env: {}, rootfs: 'block' });
  console.log(`lifecycle benchmark: guest image ${image.id.slice(0, 12)} (kernel ${image.kernelRelease}), accel ${accel}, ${runs} runs, idle 1-vCPU 256 MiB rootfs: block sandboxes`);
  try {
    // The shape's first sandbox boots cold and has its boot snapshot saved.
    const first = spec();
    await created(restoring, first);
    await restoring.snapshotsIdle();
    await restoring.delete(first.id);
    const figures = { hibernate: [] as number[], saved: [] as number[], wake: [] as number[], firstExec: [] as number[], nextExec: [] as number[], restored: [] as number[], cold: [] as number[] };
    const wakePhases = new Map<string, number[]>();
    for (let i = 0; i < runs; i++) {
      const s = spec();
      const restored = await created(restoring, s);
      if (!restored.restored) throw new Error('the sandbox was not restored from its boot snapshot');
      figures.restored.push(restored.ms);
      const t0 = performance.now();
      const hibernated = await restoring.hibernate(s.id);
      figures.hibernate.push(performance.now() - t0);
      figures.saved.push(hibernated.savedBytes ?? 0);
      const t1 = performance.now();
      const woken = await restoring.wake(s.id);
      if (woken.state !== 'running') throw new Error(`wake: ${woken.state}: ${woken.error?.message ?? 'no error'}`);
      for (const t of woken.timings) wakePhases.set(t.phase, [...(wakePhases.get(t.phase) ?? []), t.ms]);
      const t2 = performance.now();
      await execReady(restoring, s.id);
      figures.firstExec.push(performance.now() - t2);
      figures.wake.push(performance.now() - t1);
      // The same call again: what the first one paid beyond it is the woken guest's warm-up.
      const t3 = performance.now();
      await execReady(restoring, s.id);
      figures.nextExec.push(performance.now() - t3);
      await restoring.delete(s.id);
      const c = spec();
      figures.cold.push((await created(cold, c)).ms);
      await cold.delete(c.id);
    }
    line('hibernate (save the VM, release it)', figures.hibernate);
    const saved = summarize(figures.saved);
    console.log(`${'saved on the node (VM state + disk blocks)'.padEnd(48)} p50 ${(saved.p50 / MIB).toFixed(1)} MiB  min ${(saved.min / MIB).toFixed(1)} MiB  max ${(saved.max / MIB).toFixed(1)} MiB`);
    const wake = line('wake → exec-ready', figures.wake);
    console.log(`  per-phase breakdown (p50): ${[...wakePhases].map(([phase, samples]) => `${phase} ${formatMs(summarize(samples).p50)}`).join(', ')}`);
    console.log(`  then exec true (p50): the first ${formatMs(summarize(figures.firstExec).p50)}, the next ${formatMs(summarize(figures.nextExec).p50)}`);
    line('create → exec-ready, restored from boot snapshot', figures.restored);
    const coldP50 = line('create → exec-ready, cold boot', figures.cold);
    console.log(`wake p50 ${formatMs(wake)}: target ≤ 1.0 s ${wake <= 1_000 ? 'met' : 'not met'}; cold boot / wake = ${(coldP50 / wake).toFixed(2)}× (target ≥ 3)`);
    const source = spec();
    await created(restoring, source);
    for (const count of [1, forkCount]) {
      const forkOf = { sandboxId: source.id, forkId: randomUUID(), count };
      const t0 = performance.now();
      const clones = Array.from({ length: count }, () => ({ ...spec(), forkOf }));
      await Promise.all(
        clones.map(async (clone) => {
          const info = await restoring.create(clone);
          if (info.state !== 'running') throw new Error(`clone ${info.state}: ${info.error?.message ?? 'no error'}`);
          await execReady(restoring, clone.id);
        }),
      );
      console.log(`${`fork of ${count} → all exec-ready`.padEnd(48)} ${formatMs(performance.now() - t0)}`);
      for (const clone of clones) await restoring.delete(clone.id);
    }
    await restoring.delete(source.id);
    await liveMigrations(restoring, cold, spec, runs);
  } finally {
    await Promise.all([restoring.close(), cold.close()]);
    rmSync(work, { recursive: true, force: true });
  }
}

main().catch((err: unknown) => {
  console.error(err instanceof Error ? err.message : err);
  process.exit(1);
});
