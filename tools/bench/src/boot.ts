/**
 * Boot benchmark. Measures, in one run and on the same guest image:
 *  - the floor: bare QEMU booting the guest's kernel, initramfs and rootfs with the same
 *    machine and devices to the point where the guest agent would start (`moat.bench=1`
 *    makes the guest print a marker there and power off);
 *  - a Moat sandbox: create → first successful exec, with the runtime's per-phase timings: handed
 *    a VM from the warm pool (MOAT_WARM_POOL=1x256:1; the pool is full again before each run),
 *    restored from a boot snapshot (the default once the shape's snapshot is saved) and booted
 *    cold (`bootSnapshots: false`, MOAT_BOOT_SNAPSHOTS=false);
 *  - the jail's cost: the same two paths with the VMM unjailed (MOAT_JAIL=false), interleaved
 *    with the jailed runs so that both see the same machine, and the ratio of their p50s.
 * Usage: node tools/bench/dist/boot.js [--runs N] [--accel auto|kvm|tcg] [--data-dir DIR]
 */
import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { closeSync, mkdtempSync, openSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { resolveGuestImage, type GuestImage } from '@moat/guest-image';
import { AGENT_PORT_NAME } from '@moat/proto';
import {
  QEMU_BINARY,
  SandboxRuntime,
  buildQemuArgv,
  detectHost,
  guestKernelParams,
  rootfsImageOf,
  type Accel,
  type PoolSize,
} from '@moat/runtime-core';
import { DATA_DIR_OPTION, accelOption, positiveInt } from './cli';
import { formatMs, summarize } from './stats';

const MARKER = 'MOAT-BENCH-MARKER';

async function bareBootToMarker(image: GuestImage, accel: Accel, dir: string): Promise<number> {
  const id = randomUUID();
  const consoleLog = join(dir, `${id}.console.log`);
  const argv = buildQemuArgv({
    name: `moat-bench-${id}`,
    accel,
    vcpus: 1,
    memoryMiB: 256,
    kernel: image.kernel,
    initrd: image.initrd,
    kernelParams: [...guestKernelParams(id, accel), 'moat.bench=1'],
    memory: { kind: 'anonymous' },
    rootfsImage: rootfsImageOf(image),
    qmpSocket: join(dir, `${id}.qmp`),
    agent: { socketPath: join(dir, `${id}.agent`), portName: AGENT_PORT_NAME },
    sharedFs: { kind: '9p', hostPath: dir, mountTag: 'moatfs' },
    seccomp: false,
  });
  const t0 = performance.now();
  // The guest's console is QEMU's stdout.
  const consoleFd = openSync(consoleLog, 'a');
  const qemu = spawn(QEMU_BINARY, argv, { stdio: ['ignore', consoleFd, consoleFd] });
  closeSync(consoleFd);
  const exited = new Promise<void>((r) => qemu.once('exit', () => r()));
  try {
    for (;;) {
      let text = '';
      try {
        text = readFileSync(consoleLog, 'utf8');
      } catch {
        // QEMU has not created the console file yet.
      }
      if (text.includes(MARKER)) return performance.now() - t0;
      if (qemu.exitCode !== null) throw new Error(`QEMU exited before the marker:\n${text.slice(-2000)}`);
      if (performance.now() - t0 > 120_000) throw new Error('no marker within 120 s');
      await new Promise((r) => setTimeout(r, 5));
    }
  } finally {
    if (qemu.exitCode === null) qemu.kill('SIGKILL');
    await exited;
  }
}

async function sandboxToExecReady(runtime: SandboxRuntime): Promise<{ ms: number; timings: { phase: string; ms: number }[] }> {
  const id = randomUUID();
  const t0 = performance.now();
  try {
    const info = await runtime.create({ id, vcpus: 1, memoryMiB: 256, env: {} });
    if (info.state !== 'running') throw new Error(`sandbox ${info.state}: ${info.error?.message ?? 'no error'}`);
    const out = await runtime.exec(id, { command: ['true'] });
    if (out.exitCode !== 0) throw new Error(`exec true exited ${out.exitCode}`);
    return { ms: performance.now() - t0, timings: info.timings };
  } finally {
    await runtime.delete(id);
  }
}

/** The one saved snapshot's files: state size, and the RAM file's allocated bytes (it is sparse). */
function savedSnapshotSize(dir: string): { stateBytes: number; memoryBytes: number } {
  const saved = readdirSync(dir).filter((name) => !name.startsWith('.'));
  if (saved.length !== 1) throw new Error(`expected one boot snapshot in ${dir}, found ${saved.length}`);
  return { stateBytes: statSync(join(dir, saved[0], 'state')).size, memoryBytes: statSync(join(dir, saved[0], 'memory')).blocks * 512 };
}

interface PathFigures {
  samples: number[];
  phases: Map<string, number[]>;
}

function record(figures: PathFigures, run: { ms: number; timings: { phase: string; ms: number }[] }): void {
  figures.samples.push(run.ms);
  for (const t of run.timings) figures.phases.set(t.phase, [...(figures.phases.get(t.phase) ?? []), t.ms]);
}

function report(title: string, figures: PathFigures, floorP50: number, target = 'target ≤ 1.5'): void {
  const s = summarize(figures.samples);
  console.log(`${title.padEnd(52)} p50 ${formatMs(s.p50)}  min ${formatMs(s.min)}  max ${formatMs(s.max)}`);
  console.log(`  ratio (p50 sandbox / p50 floor):  ${(s.p50 / floorP50).toFixed(2)}  (${target})`);
  console.log(`  per-phase breakdown (p50): ${[...figures.phases].map(([phase, samples]) => `${phase} ${formatMs(summarize(samples).p50)}`).join(', ')}`);
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      runs: { type: 'string', default: '3' },
      accel: { type: 'string', default: 'auto' },
      'data-dir': DATA_DIR_OPTION,
    },
  });
  const runs = positiveInt('runs', values.runs);
  const requested = accelOption(values.accel);
  const image = await resolveGuestImage(resolve(values['data-dir']));
  const { accel } = await detectHost(requested);
  const work = mkdtempSync(join(tmpdir(), 'moat-bench-boot-'));
  const open = (name: string, bootSnapshots: boolean, jail: boolean, warmPool: PoolSize[] = []) =>
    SandboxRuntime.open({ dataDir: join(work, name), runDir: join(work, `${name}-run`), guestImage: image, accel, bootSnapshots, jail, warmPool });
  const pooling = await open('pool', true, true, [{ vcpus: 1, memoryMiB: 256, count: 1 }]);
  const restoring = await open('snapshots', true, true);
  const cold = await open('cold', false, true);
  const restoringUnjailed = await open('snapshots-unjailed', true, false);
  const coldUnjailed = await open('cold-unjailed', false, false);
  const runtimes = [pooling, restoring, cold, restoringUnjailed, coldUnjailed];
  console.log(`boot benchmark: guest image ${image.id.slice(0, 12)} (kernel ${image.kernelRelease}), accel ${accel}, ${runs} runs each`);
  try {
    // The shape's first sandbox boots cold and has its boot snapshot saved in the background.
    const saving = performance.now();
    await sandboxToExecReady(restoring);
    await restoring.snapshotsIdle();
    const savedS = (performance.now() - saving) / 1000;
    await sandboxToExecReady(restoringUnjailed);
    await restoringUnjailed.snapshotsIdle();
    const snapshot = savedSnapshotSize(join(work, 'snapshots', 'boot-snapshots'));
    await pooling.warmPoolFull();
    const floor: number[] = [];
    const fromPool: PathFigures = { samples: [], phases: new Map() };
    const fromSnapshot: PathFigures = { samples: [], phases: new Map() };
    const coldBoot: PathFigures = { samples: [], phases: new Map() };
    const unjailed = { fromSnapshot: { samples: [], phases: new Map() } as PathFigures, coldBoot: { samples: [], phases: new Map() } as PathFigures };
    const restoredRun = async (runtime: SandboxRuntime) => {
      const restored = await sandboxToExecReady(runtime);
      if (!restored.timings.some((t) => t.phase === 'restore')) throw new Error('the sandbox was not restored from its boot snapshot');
      return restored;
    };
    for (let i = 0; i < runs; i++) {
      floor.push(await bareBootToMarker(image, accel, work));
      const pooled = await sandboxToExecReady(pooling);
      if (!pooled.timings.some((t) => t.phase === 'plug')) throw new Error('the sandbox was not handed a warm-pool VM');
      record(fromPool, pooled);
      // The refill restores a VM in the background: it must not weigh on the other paths' runs.
      await pooling.warmPoolFull();
      // Jailed and unjailed alternate, first one then the other, so drift in the machine's load hits both alike.
      const order = i % 2 === 0 ? [true, false] : [false, true];
      for (const jailed of order) {
        record(jailed ? fromSnapshot : unjailed.fromSnapshot, await restoredRun(jailed ? restoring : restoringUnjailed));
        record(jailed ? coldBoot : unjailed.coldBoot, await sandboxToExecReady(jailed ? cold : coldUnjailed));
      }
    }
    const f = summarize(floor);
    console.log(`${'bare QEMU boot to marker (floor)'.padEnd(52)} p50 ${formatMs(f.p50)}  min ${formatMs(f.min)}  max ${formatMs(f.max)}`);
    report('sandbox create → exec-ready, from the warm pool', fromPool, f.p50, `target p50 ≤ 300 ms on this 2-core TCG machine: ${summarize(fromPool.samples).p50 <= 300 ? 'met' : 'not met'}`);
    report('sandbox create → exec-ready, from boot snapshot', fromSnapshot, f.p50);
    report('sandbox create → exec-ready, cold boot', coldBoot, f.p50);
    report('… from boot snapshot, unjailed (MOAT_JAIL=false)', unjailed.fromSnapshot, f.p50);
    report('… cold boot, unjailed (MOAT_JAIL=false)', unjailed.coldBoot, f.p50);
    for (const [path, jailed, free] of [
      ['from boot snapshot', fromSnapshot, unjailed.fromSnapshot],
      ['cold boot', coldBoot, unjailed.coldBoot],
    ] as const) {
      const ratio = summarize(jailed.samples).p50 / summarize(free.samples).p50;
      console.log(`the jail's cost, ${path}: p50 jailed / p50 unjailed = ${ratio.toFixed(3)}  (target ≤ 1.05)`);
    }
    console.log(`first sandbox of the shape + saving its boot snapshot: ${savedS.toFixed(1)} s (once per VM shape and guest image)`);
    console.log(`boot snapshot on disk: device state ${(snapshot.stateBytes / 1024).toFixed(0)} KiB, RAM ${(snapshot.memoryBytes / 1024 ** 2).toFixed(0)} MiB allocated (sparse)`);
  } finally {
    await Promise.all(runtimes.map((runtime) => runtime.close()));
    rmSync(work, { recursive: true, force: true });
  }
}

main().catch((err: unknown) => {
  console.error(err instanceof Error ? err.message : err);
  process.exit(1);
});
