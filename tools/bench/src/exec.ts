/**
 * Exec benchmark:
 *  - through the REST API of a whole local Moat: `true` run N times with `POST /v1/sandboxes/:id/exec`,
 *    p50 and p95, and where the time goes by hop, from the control plane's `Server-Timing`;
 *  - straight through the runtime, over the agent transport it picks on this host: the same round
 *    trip (ExecProcess, stream reads to EOF, WaitProcess), and stream throughput host → guest
 *    (stdin into `cat > /dev/null`) and guest → host (`head -c` of /dev/zero to stdout), in MB/s,
 *    through an interactive session; and the floor: a guest call that starts nothing.
 * Usage: node tools/bench/dist/exec.js [--runs N] [--mb N] [--accel auto|kvm|tcg] [--data-dir DIR]
 */
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { resolveGuestImage } from '@moat/guest-image';
import { SandboxRuntime, type ProcessSession } from '@moat/runtime-core';
import { apiClient } from './api.client';
import { startBenchStack } from './bench-stack';
import { DATA_DIR_OPTION, accelOption, positiveInt } from './cli';
import { parseServerTiming } from './server-timing';
import { formatMs, summarize } from './stats';
import { until } from './wait';

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

/**
 * `true` through the REST API of a stack of its own, `runs` times: the round trip, and each hop's
 * share as the control plane's Server-Timing tells it (lookup, node, guest).
 */
async function throughTheApi(mainDataDir: string, runs: number): Promise<void> {
  const stack = await startBenchStack(mainDataDir, 'exec', {
    web: false,
    env: { MOAT_NET_BRIDGE_PREFIX: 'mexec', MOAT_NET_SUBNET_POOL: '10.243.0.0/16', MOAT_DNS_SERVERS: '', MOAT_NODE_METRICS_ADDR: 'off', MOAT_LOG_LEVEL: 'warn' },
  });
  try {
    const admin = apiClient(stack.apiUrl, stack.adminToken);
    const { id } = await admin.call<{ id: string }>('POST', '/v1/sandboxes', { vcpus: 1, memoryMiB: 256 }, 201);
    await until('the sandbox to run', async () => ((await admin.call<{ state: string }>('GET', `/v1/sandboxes/${id}`)).state === 'running' ? true : undefined), 300_000);
    const hops = { total: [] as number[], api: [] as number[], lookup: [] as number[], relay: [] as number[], guest: [] as number[] };
    for (let i = 0; i < runs; i++) {
      const t0 = performance.now();
      const res = await fetch(`${stack.apiUrl}/v1/sandboxes/${id}/exec`, {
        method: 'POST',
        headers: { authorization: `Bearer ${stack.adminToken}`, 'content-type': 'application/json' },
        body: JSON.stringify({ command: ['true'] }),
      });
      const body = (await res.json()) as { exitCode?: number };
      const total = performance.now() - t0;
      if (res.status !== 200 || body.exitCode !== 0) throw new Error(`exec true: ${res.status} ${JSON.stringify(body)}`);
      const { lookup = 0, node = 0, guest = 0 } = parseServerTiming(res.headers.get('server-timing'));
      hops.total.push(total);
      hops.api.push(total - lookup - node);
      hops.lookup.push(lookup);
      hops.relay.push(node - guest);
      hops.guest.push(guest);
    }
    const p50 = (list: number[]) => formatMs(summarize(list).p50);
    const total = summarize(hops.total);
    console.log(`exec through the REST API (\`true\`, ${runs} runs): p50 ${formatMs(total.p50)}  p95 ${formatMs(total.p95)}  min ${formatMs(total.min)}  max ${formatMs(total.max)}`);
    console.log(
      `  by hop, p50 of each: HTTP + auth + validation ${p50(hops.api)} · finding the sandbox ${p50(hops.lookup)} · ` +
        `control plane ⇄ node (socket.io, node agent) ${p50(hops.relay)} · guest (gRPC over the guest channel, guest agent, its spawner or crun exec) ${p50(hops.guest)}`,
    );
    await admin.call('DELETE', `/v1/sandboxes/${id}`, undefined, 202);
  } finally {
    await stack.stop();
  }
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
  await throughTheApi(values['data-dir'], runs);
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
    console.log(`exec straight through the runtime (\`true\`, ${runs} runs): p50 ${formatMs(s.p50)}  p95 ${formatMs(s.p95)}  min ${formatMs(s.min)}  max ${formatMs(s.max)}`);
    // The floor under it: one guest call that starts nothing (the container's cgroup counters).
    const floor: number[] = [];
    for (let i = 0; i < runs; i++) {
      const t0 = performance.now();
      await runtime.stats(id);
      floor.push(performance.now() - t0);
    }
    const f = summarize(floor);
    console.log(`one guest call that starts nothing (StatsContainer, ${runs} runs): p50 ${formatMs(f.p50)}  p95 ${formatMs(f.p95)}  min ${formatMs(f.min)}`);
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
