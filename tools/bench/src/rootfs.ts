/**
 * Rootfs benchmark. For each way the container rootfs can reach the guest (virtio-fs, virtio-9p,
 * an ext4 block device) and one image of about 50 MB pushed to a loopback docker-registry:
 *  - pull + unpack: the sandbox's `rootfs` phase with an empty layer cache (download, digest
 *    check, safe unpack, overlay mount), and the `sharefs` phase (virtiofsd, or mkfs.ext4 -d);
 *  - cold start to exec-ready: create → first successful exec, layers already cached;
 *  - throughput inside the container: dd writing 100 MB (fsync'd) to the rootfs, and reading
 *    the image's 50 MB of data files, which the guest has never read (the host has them cached).
 * Usage: node tools/bench/dist/rootfs.js [--runs N] [--accel auto|kvm|tcg] [--data-dir DIR]
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { resolveGuestImage, type GuestImage } from '@moat/guest-image';
import { SandboxRuntime, detectHost, type Accel, type SandboxInfo, type SharedFsKind } from '@moat/runtime-core';
import { busyboxLayer, startRegistry, type LayerEntry } from '@moat/test-registry';
import { DATA_DIR_OPTION, accelOption, positiveInt } from './cli';
import { formatMs, summarize } from './stats';

const MODES: readonly SharedFsKind[] = ['virtiofs', '9p', 'block'];
const DATA_FILES = 2;
const DATA_FILE_MIB = 25;
const WRITE_MIB = 100;
/** Reads the guest's uptime (10 ms resolution) around a command: no exec overhead in the figure. */
const timed = (command: string) => `read a _ < /proc/uptime; ${command} >/dev/null 2>&1 || exit 1; read b _ < /proc/uptime; echo "$a $b"`;

interface ModeResult {
  rootfsMs: number[];
  sharefsMs: number[];
  coldStartMs: number[];
  writeMiBs: number[];
  readMiBs: number[];
}

/** The image: busybox, then two layers of incompressible data (so the download is really ~50 MB). */
function dataLayers(): LayerEntry[][] {
  return Array.from({ length: DATA_FILES }, (_, i) => [
    { name: 'data/', type: 'directory' },
    { name: `data/blob${i}.bin`, body: randomBytes(DATA_FILE_MIB * 1024 * 1024) },
  ]);
}

async function guestSeconds(runtime: SandboxRuntime, id: string, command: string): Promise<number> {
  const out = await runtime.exec(id, { command: ['/bin/sh', '-c', timed(command)], timeoutMs: 300_000 });
  if (out.exitCode !== 0) throw new Error(`${command} exited ${out.exitCode}: ${out.stderr.toString()}`);
  const [a, b] = out.stdout.toString().trim().split(' ').map(Number);
  return b - a;
}

async function create(runtime: SandboxRuntime, image: string, rootfs: SharedFsKind): Promise<{ id: string; info: SandboxInfo; execReadyMs: number }> {
  const id = randomUUID();
  const t0 = performance.now();
  const info = await runtime.create({ id, vcpus: 1, memoryMiB: 512, env: {}, image, rootfs });
  if (info.state !== 'running') {
    await runtime.delete(id);
    throw new Error(`${rootfs} sandbox ${info.state}: ${info.error?.message ?? 'no error'}`);
  }
  const out = await runtime.exec(id, { command: ['true'] });
  if (out.exitCode !== 0) throw new Error(`exec true exited ${out.exitCode}`);
  return { id, info, execReadyMs: performance.now() - t0 };
}

const phaseMs = (info: SandboxInfo, phase: string) => info.timings.find((t) => t.phase === phase)?.ms ?? NaN;

async function benchMode(guestImage: GuestImage, accel: Accel, image: string, mode: SharedFsKind, runs: number, work: string): Promise<ModeResult> {
  const result: ModeResult = { rootfsMs: [], sharefsMs: [], coldStartMs: [], writeMiBs: [], readMiBs: [] };
  for (let run = 0; run < runs; run++) {
    // A fresh node data dir per run: the first sandbox pulls into an empty cache.
    const dataDir = join(work, `${mode}-${run}`);
    const runtime = await SandboxRuntime.open({ dataDir, runDir: join(work, 'run'), guestImage, accel, images: { maxCacheBytes: 1024 ** 3 } });
    try {
      const first = await create(runtime, image, mode);
      result.rootfsMs.push(phaseMs(first.info, 'rootfs'));
      result.sharefsMs.push(phaseMs(first.info, 'sharefs'));
      try {
        const write = await guestSeconds(runtime, first.id, `dd if=/dev/zero of=/bench.dat bs=1M count=${WRITE_MIB} conv=fsync`);
        result.writeMiBs.push(WRITE_MIB / write);
        const files = Array.from({ length: DATA_FILES }, (_, i) => `dd if=/data/blob${i}.bin of=/dev/null bs=1M`).join(' && ');
        const read = await guestSeconds(runtime, first.id, files);
        result.readMiBs.push((DATA_FILES * DATA_FILE_MIB) / read);
      } finally {
        await runtime.delete(first.id);
      }
      const second = await create(runtime, image, mode);
      result.coldStartMs.push(second.execReadyMs);
      await runtime.delete(second.id);
    } finally {
      await runtime.close();
      rmSync(dataDir, { recursive: true, force: true });
    }
  }
  return result;
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      runs: { type: 'string', default: '1' },
      accel: { type: 'string', default: 'auto' },
      'data-dir': DATA_DIR_OPTION,
    },
  });
  const runs = positiveInt('runs', values.runs);
  const requested = accelOption(values.accel);
  const guestImage = await resolveGuestImage(resolve(values['data-dir']));
  const { accel } = await detectHost(requested);
  const work = mkdtempSync(join(tmpdir(), 'moat-bench-rootfs-'));
  const registry = await startRegistry();
  try {
    const image = await registry.push('bench/data', 'v1', { layers: [busyboxLayer(), ...dataLayers()], config: { Cmd: ['/bin/sh', '-c', 'trap "exit 0" TERM; while :; do sleep 3600 & wait $!; done'] } });
    console.log(`rootfs benchmark: image ${image} (~${DATA_FILES * DATA_FILE_MIB + 2} MB, ${DATA_FILES + 1} layers), accel ${accel}, ${runs} run(s) per mode`);
    console.log('mode      pull+unpack  rootfs→guest  cold start→exec  write 100 MB  read 50 MB   (p50)');
    for (const mode of MODES) {
      const r = await benchMode(guestImage, accel, image, mode, runs, work);
      const p50 = (samples: number[]) => summarize(samples).p50;
      console.log(
        [
          mode.padEnd(9),
          formatMs(p50(r.rootfsMs)).padStart(11),
          formatMs(p50(r.sharefsMs)).padStart(13),
          formatMs(p50(r.coldStartMs)).padStart(16),
          `${p50(r.writeMiBs).toFixed(1)} MiB/s`.padStart(13),
          `${p50(r.readMiBs).toFixed(1)} MiB/s`.padStart(12),
        ].join(' '),
      );
    }
  } finally {
    await registry.stop();
    rmSync(work, { recursive: true, force: true });
  }
}

main().catch((err: unknown) => {
  console.error(err instanceof Error ? err.message : err);
  process.exit(1);
});
