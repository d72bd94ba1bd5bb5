/**
 * Density benchmark: on one node (a real control plane and node agent of its own), creates idle
 * sandboxes until the node is full or `--count` run, then, with all of them running, prints each
 * sandbox's host memory — the PSS of every host process it runs (VMM and helpers), as Kata's
 * density metric counts it — their total, the node's daemons' own memory, and the exec round trip
 * of `true` through the REST API round-robin over all of them. Deletes everything, stops the stack
 * and fails if any host object is left behind.
 * Usage: tools/bench/density [--count N] [--memory MiB] [--concurrency N] [--exec-runs N] [--settle S] [--data-dir DIR]
 */
import { rmSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { parseArgs } from 'node:util';
import { apiClient, type ApiClient } from './api.client';
import { startBenchStack, type BenchStack } from './bench-stack';
import { DATA_DIR_OPTION, positiveInt } from './cli';
import { loadHostObjects, networkLeftovers } from './host-objects';
import { addPss, hostProcesses, memAvailableKiB, NO_PSS, ownerOf, processPss, programNames, rssMiB, unmappedFileKiB, type HostProcess, type Pss } from './process-memory';
import { formatMs, summarize } from './stats';
import { until } from './wait';

const BRIDGE_PREFIX = 'mdens';
const SUBNET_POOL = '10.245.0.0/16';
/** How long a sandbox must stay unplaced, with a reason, before the node counts as full. */
const PENDING_FOR_MS = 5_000;
const START_TIMEOUT_MS = 600_000;
const KIB_PER_MIB = 1024;
/** Set on Ctrl-C (or SIGTERM): the run cleans up and exits 130. */
let interrupted = false;

interface Sandbox {
  id: string;
  state: string;
  pendingReason: { code: string; message: string } | null;
  error?: { code: string; message: string };
  timings: { phase: string; ms: number }[];
}

interface Node {
  name: string;
  state: string;
  accel: string;
  jailed: boolean;
  allocatable: { vcpus: number; memoryMiB: number };
  sandboxOverheadMiB: number;
}

interface Running {
  id: string;
  startMs: number;
  /** Restored from the node's boot snapshot rather than booted cold. */
  restored: boolean;
}

interface Fill {
  running: Running[];
  /** The sandbox that stayed pending once the node was full, and why. */
  full?: Sandbox;
  failed: Sandbox[];
  /** Sandboxes still pending when the fill stopped: deleted at once, before they can be placed. */
  pending: string[];
}

const mib = (kib: number): string => `${(kib / KIB_PER_MIB).toFixed(1)} MiB`;

/** Creates idle sandboxes, `concurrency` at a time, until `count` run, one stays pending (the node is full) or one fails. */
async function fill(api: ApiClient, ids: string[], opts: { count: number; memoryMiB: number; concurrency: number }, signal: AbortSignal): Promise<Fill> {
  const result: Fill = { running: [], failed: [], pending: [] };
  let issued = 0;
  let broken = false;
  const worker = async (): Promise<void> => {
    while (issued < opts.count && !result.full && result.failed.length === 0 && !broken) {
      signal.throwIfAborted();
      issued += 1;
      const started = Date.now();
      const { id } = await api.call<Sandbox>('POST', '/v1/sandboxes', { vcpus: 1, memoryMiB: opts.memoryMiB }, 201);
      ids.push(id);
      let pendingSince: number | undefined;
      const settled = await until(
        `sandbox ${id} to run`,
        async () => {
          const s = await api.find<Sandbox>(`/v1/sandboxes/${id}`);
          if (s?.state === 'running' || s?.state === 'failed') return s;
          if (s?.state !== 'pending' || !s.pendingReason) {
            pendingSince = undefined;
            return undefined;
          }
          pendingSince ??= Date.now();
          return Date.now() - pendingSince >= PENDING_FOR_MS ? s : undefined;
        },
        START_TIMEOUT_MS,
        signal,
      );
      if (settled.state === 'running') {
        const restored = settled.timings.some((t) => t.phase === 'restore');
        result.running.push({ id, startMs: Date.now() - started, restored });
        console.log(`  ${result.running.length} running (${formatMs(Date.now() - started)}, ${restored ? 'restored' : 'cold boot'})`);
      } else if (settled.state === 'failed') {
        result.failed.push(settled);
        console.log(`  ${id} failed: ${settled.error?.code ?? '?'} ${settled.error?.message ?? ''}`);
      } else {
        result.full ??= settled;
        result.pending.push(id);
      }
    }
  };
  // One worker's error stops the others' creates too, and is thrown once they are done.
  const outcomes = await Promise.allSettled(
    Array.from({ length: opts.concurrency }, () =>
      worker().catch((error: unknown) => {
        broken = true;
        throw error;
      }),
    ),
  );
  const failure = outcomes.find((outcome) => outcome.status === 'rejected');
  if (failure) throw failure.reason;
  return result;
}

/** Each sandbox's host processes, by sandbox id. */
function processesOf(ids: readonly string[]): Map<string, HostProcess[]> {
  const owned = new Map<string, HostProcess[]>(ids.map((id) => [id, []]));
  for (const p of hostProcesses()) {
    const owner = ownerOf(p, ids);
    if (owner) owned.get(owner)?.push(p);
  }
  return owned;
}

function line(label: string, kib: number[]): string {
  const s = summarize(kib);
  return `  ${label.padEnd(24)} min ${mib(s.min)}  p50 ${mib(s.p50)}  max ${mib(s.max)}`;
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      count: { type: 'string' },
      memory: { type: 'string', default: '256' },
      concurrency: { type: 'string', default: '2' },
      'exec-runs': { type: 'string', default: '50' },
      settle: { type: 'string', default: '10' },
      'data-dir': DATA_DIR_OPTION,
    },
  });
  const count = values.count === undefined ? Number.POSITIVE_INFINITY : positiveInt('count', values.count);
  const memoryMiB = positiveInt('memory', values.memory);
  const concurrency = positiveInt('concurrency', values.concurrency);
  const execRuns = positiveInt('exec-runs', values['exec-runs']);
  const settleS = positiveInt('settle', values.settle);

  const aborted = new AbortController();
  const interrupt = (signal: string): void => {
    if (aborted.signal.aborted) return;
    interrupted = true;
    console.log(`\n${signal}: cleaning up (the node agent stops its VMs)…`);
    aborted.abort(new Error(`interrupted (${signal})`));
  };
  process.on('SIGINT', () => interrupt('SIGINT'));
  process.on('SIGTERM', () => interrupt('SIGTERM'));

  const host = await loadHostObjects();
  const foreign = host.vmmProcesses().length;
  const before = host.snapshotHostObjects();
  const availableBefore = memAvailableKiB();
  const stack: BenchStack = await startBenchStack(values['data-dir'], 'density', {
    web: false,
    env: {
      MOAT_NET_BRIDGE_PREFIX: BRIDGE_PREFIX,
      MOAT_NET_SUBNET_POOL: SUBNET_POOL,
      // No resolvers: nothing a sandbox does here may leave the machine.
      MOAT_DNS_SERVERS: '',
      MOAT_NODE_METRICS_ADDR: 'off',
      MOAT_LOG_LEVEL: 'warn',
    },
  });
  const admin = apiClient(stack.apiUrl, stack.adminToken);
  const ids: string[] = [];
  let ok = false;
  try {
    const node = await until(
      'the node to be ready',
      async () => (await admin.call<Node[]>('GET', '/v1/nodes')).find((n) => n.state === 'ready'),
      120_000,
      aborted.signal,
    );
    const { apiKey } = await admin.call<{ apiKey: string }>(
      'POST',
      '/v1/tenants',
      { name: 'density', quota: { maxSandboxes: 100_000, maxVcpus: 1_000_000, maxMemoryMiB: 1_073_741_824 } },
      201,
    );
    const tenant = apiClient(stack.apiUrl, apiKey);
    const reserved = memoryMiB + node.sandboxOverheadMiB;
    console.log(
      `density: node ${node.name} (${node.accel}, ${node.jailed ? 'jailed' : 'unjailed'}), sandboxes of 1 vCPU / ${memoryMiB} MiB, ` +
        `${Number.isFinite(count) ? `count ${count}` : 'until the node is full'}, concurrency ${concurrency}`,
    );
    console.log(
      `node reserves per sandbox: ${memoryMiB} MiB + ${node.sandboxOverheadMiB} MiB overhead (guest and VMM) = ${reserved} MiB, 1 vCPU; ` +
        `allocatable ${node.allocatable.memoryMiB} MiB, ${node.allocatable.vcpus} vCPUs`,
    );
    if (foreign > 0) console.log(`note: ${foreign} QEMU/virtiofsd/bubblewrap processes were running before the benchmark (not counted)`);

    const t0 = Date.now();
    const filled = await fill(tenant, ids, { count, memoryMiB, concurrency }, aborted.signal);
    // Unplaced sandboxes go first, so that the room the deletes free is not given to them.
    await Promise.all(filled.pending.map((id) => tenant.call('DELETE', `/v1/sandboxes/${id}`, undefined, 202)));
    const running = filled.running;
    if (running.length === 0) throw new Error('no sandbox reached running');
    const starts = summarize(running.map((r) => r.startMs));
    console.log(`running: ${running.length} in ${formatMs(Date.now() - t0)} (create → running p50 ${formatMs(starts.p50)}, p95 ${formatMs(starts.p95)})`);
    if (filled.full) {
      const reason = filled.full.pendingReason;
      console.log(`node full: ${running.length} sandboxes fit; the next stayed pending: ${reason?.code ?? '?'}: ${reason?.message ?? ''}`);
    }
    if (filled.failed.length > 0) console.log(`failed to start: ${filled.failed.length} (stopped creating)`);

    await sleep(settleS * 1000, undefined, { signal: aborted.signal });
    const runningIds = running.map((r) => r.id);
    const owned = processesOf(runningIds);
    const pssOf = (processes: readonly HostProcess[]): Pss => processes.reduce((sum, p) => addPss(sum, processPss(p.pid)), NO_PSS);
    const pss = new Map(runningIds.map((id) => [id, pssOf(owned.get(id) ?? [])]));
    const ramFiles = host.guestMemoryFiles();
    const unmapped = runningIds.map((id) => {
      const file = ramFiles.find((path) => path.endsWith(`/${id}.mem`));
      return file ? unmappedFileKiB(file, (owned.get(id) ?? []).map((p) => p.pid)) : 0;
    });
    const others = hostProcesses().filter((p) => /qemu-system|virtiofsd|bwrap/.test(p.argv[0]) && !ownerOf(p, runningIds));
    const availableAfter = memAvailableKiB();
    const totals = [...pss.values()].map((p) => p.total);
    const group = (restored: boolean) => running.filter((r) => r.restored === restored).map((r) => pss.get(r.id)?.total ?? 0);
    const p50 = (part: keyof Pss) => mib(summarize([...pss.values()].map((p) => p[part])).p50);
    const example = owned.get(runningIds[runningIds.length - 1]) ?? [];

    console.log(`host PSS per sandbox (its VMM and helpers: ${programNames(example)}), after ${settleS} s idle; MiB = 2^20 bytes:`);
    console.log(line(`all ${running.length}`, totals));
    console.log(`  ${'split, p50'.padEnd(24)} shared memory (guest RAM) ${p50('shmem')}, anonymous (QEMU heap, TCG code cache) ${p50('anon')}, files ${p50('file')}`);
    for (const restored of [true, false]) {
      const kib = group(restored);
      if (kib.length > 0 && kib.length < running.length) console.log(line(`${restored ? 'restored' : 'cold boot'} (${kib.length})`, kib));
    }
    console.log(`  ${'total'.padEnd(24)} ${mib(totals.reduce((a, b) => a + b, 0))}  (${running.length} × ${memoryMiB} MiB of guest RAM given)`);
    if (unmapped.some((kib) => kib > 0)) {
      console.log(
        `restored VMs' RAM files (/dev/shm/moat) not mapped by their VMM, host memory no PSS counts: p50 ${mib(summarize(unmapped).p50)}, total ${mib(unmapped.reduce((a, b) => a + b, 0))}`,
      );
      console.log(line('PSS + unmapped RAM file', totals.map((kib, i) => kib + unmapped[i])));
    }
    if (others.length > 0) {
      console.log(`other VMM processes on the host (not counted above): ${programNames(others)}, PSS ${mib(pssOf(others).total)}`);
    }
    const cpPid = stack.pid('control-plane');
    const agentPid = stack.pid('node-agent');
    console.log(`node agent RSS ${agentPid ? rssMiB(agentPid) : '?'} MiB, control plane RSS ${cpPid ? rssMiB(cpPid) : '?'} MiB (not counted per sandbox)`);
    console.log(
      `host MemAvailable fell by ${mib(availableBefore - availableAfter)} since before the stack started (${mib((availableBefore - availableAfter) / running.length)} per sandbox, daemons and kernel included)`,
    );

    const execMs: number[] = [];
    for (let i = 0; i < execRuns; i++) {
      aborted.signal.throwIfAborted();
      const id = runningIds[i % runningIds.length];
      const t = performance.now();
      const result = await tenant.call<{ exitCode: number }>('POST', `/v1/sandboxes/${id}/exec`, { command: ['true'] });
      execMs.push(performance.now() - t);
      if (result.exitCode !== 0) throw new Error(`exec true in ${id} exited ${result.exitCode}`);
    }
    const exec = summarize(execMs);
    console.log(
      `exec \`true\` via REST, round-robin over ${running.length} running sandboxes, ${exec.n} runs: p50 ${formatMs(exec.p50)}, p95 ${formatMs(exec.p95)}, max ${formatMs(exec.max)}`,
    );

    await Promise.all(runningIds.map((id) => tenant.call('DELETE', `/v1/sandboxes/${id}`, undefined, 202)));
    await until('every sandbox to be gone', async () => ((await tenant.call<Sandbox[]>('GET', '/v1/sandboxes')).length === 0 ? true : undefined), 300_000, aborted.signal);
    ok = filled.failed.length === 0;
  } finally {
    // Stopping the node agent also stops whatever VMs are left (MOAT_STOP_SANDBOXES_ON_EXIT).
    await stack.stop();
    const left = [...host.leftSince(before), ...networkLeftovers(ids, BRIDGE_PREFIX)];
    console.log(`cleanup: ${ids.length} sandboxes gone, stack stopped; leaks found: ${left.length}${left.length ? `\n  ${left.join('\n  ')}` : ''}`);
    if (left.length === 0) rmSync(stack.dataDir, { recursive: true, force: true });
    else console.log(`logs and state kept in ${stack.dataDir}`);
    if (left.length > 0 || !ok) process.exitCode = 1;
  }
}

main().catch((err: unknown) => {
  console.error(err instanceof Error ? err.message : err);
  process.exit(interrupted ? 130 : 1);
});
