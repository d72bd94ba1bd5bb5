/**
 * Exec benchmark, over the agent transport the runtime picks on this host:
 *  - exec round trip: `true` run N times through the full exec path (ExecProcess, stream
 *    reads to EOF, WaitProcess), p50 and p95;
 *  - stream throughput host → guest (stdin into `cat > /dev/null`) and guest → host
 *    (`head -c` of /dev/zero to stdout), in MB/s, through an interactive session.
 * Usage: node tools/bench/dist/exec.js [--runs N] [--mb N] [--accel auto|kvm|tcg] [--data-dir DIR]
 */
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { resolveGuestImage } from '@moat/guest-image';
import { SandboxRuntime, type ProcessSession } from '@moat/runtime-core';
import { DATA_DIR_OPTION, accelOption, positiveInt } from './cli';
import { formatMs, summarize } from './stats';

const MB = 1024 * 1024;
const WRITE_CHUNK = MB;

/** Runs `session` to its end, draining output; resolves with the exit code. */
async function finish(session: ProcessSession, onOutput: (chunk: Buffer) => void = () => undefined): Promise<number> {
  await session.output((_stream, chunk) => onOutput(chunk));
  return (await session.wait()).exitCode;
}

async function hostToGuest(runtime: SandboxRuntime, id: string, bytes: number): Promise<number> {
  const session = await runtime.openSession(id, { command: ['sh', '-c', 'cat > /dev/null'], tty: false });
  const done = finish(session);
  const chunk = Buffer.alloc(WRITE_CHUNK, 0x61);
  const t0 = performance.now();
  for (let sent = 0; sent < bytes; sent += chunk.length) await session.write(chunk.subarray(0, Math.min(chunk.length, bytes - sent)));
  await session.closeStdin();
  const code = await done;
  if (code !== 0) throw new Error(`cat exited ${code}`);
  return bytes / MB / ((performance.now() - t0) / 1000);
}

async function guestToHost(runtime: SandboxRuntime, id: string, bytes: number): Promise<number> {
  const session = await runtime.openSession(id, { command: ['head', '-c', String(bytes), '/dev/zero'], tty: false });
  let received = 0;
  const t0 = performance.now();
  const code = await finish(session, (chunk) => (received += chunk.length));
  const seconds = (performance.now() - t0) / 1000;
  if (code !== 0 || received !== bytes) throw new Error(`head exited ${code} after ${received} of ${bytes} bytes`);
  return bytes / MB / seconds;
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      runs: { type: 'string', default: '100' },
      mb: { type: 'string', default: '32' },
      accel: { type: 'string', default: 'auto' },
      'data-dir': DATA_DIR_OPTION,
    },
  });
  const runs = positiveInt('runs', values.runs);
  const bytes = positiveInt('mb', values.mb) * MB;
  const accel = accelOption(values.accel);
  const image = await resolveGuestImage(resolve(values['data-dir']));
  const work = mkdtempSync(join(tmpdir(), 'moat-bench-exec-'));
  const runtime = await SandboxRuntime.open({
    dataDir: join(work, 'node'),
    runDir: join(work, 'run'),
    guestImage: image,
    accel,
  });
  const id = randomUUID();
  try {
    const info = await runtime.create({ id, vcpus: 1, memoryMiB: 256, env: {} });
    if (info.state !== 'running') throw new Error(`sandbox ${info.state}: ${info.error?.message}`);
    console.log(`transport: ${info.transport}, accel: ${info.accel}`);

    const latencies: number[] = [];
    for (let i = 0; i < runs; i++) {
      const t0 = performance.now();
      const out = await runtime.exec(id, { command: ['true'] });
      latencies.push(performance.now() - t0);
      if (out.exitCode !== 0) throw new Error(`true exited ${out.exitCode}`);
    }
    const s = summarize(latencies);
    console.log(`exec round trip (\`true\`, ${runs} runs): p50 ${formatMs(s.p50)}  p95 ${formatMs(s.p95)}  min ${formatMs(s.min)}  max ${formatMs(s.max)}`);
    console.log(`stream host → guest (${values.mb} MB): ${(await hostToGuest(runtime, id, bytes)).toFixed(1)} MB/s`);
    console.log(`stream guest → host (${values.mb} MB): ${(await guestToHost(runtime, id, bytes)).toFixed(1)} MB/s`);
  } finally {
    await runtime.delete(id);
    await runtime.close();
    rmSync(work, { recursive: true, force: true });
  }
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? error.message : error);
  process.exit(1);
});
