/**
 * Fleet benchmark: one real control-plane process, N SIMULATED node agents (real socket.io
 * connections from separate worker processes; simulated runtimes, see simulated-agent.ts).
 *  1. agents held: every agent joins with its own single-use token and heartbeats every 5 s;
 *     the control plane's CPU and resident memory are sampled while they are held;
 *  2. scheduler throughput: a backlog of sandboxes created through REST while no node has
 *     room stays pending; then every node reports room at once and the time until the whole
 *     backlog is placed (committed to the database, and each node told) gives placements per
 *     second; the phase ends once the nodes reported the backlog running;
 *  3. end to end: sandboxes created through REST with many requests in flight, each answered
 *     once its quota check and placement are committed: create → placed latency;
 *  4. with --rollout: a deployment of --rollout-sandboxes replicas (template version 1, no
 *     health check: healthy once running) is rolled to version 2 (rolling, maxUnavailable 10%,
 *     maxSurge 0): the rollout's wall time and the control plane's CPU meanwhile.
 * Throughout, a probe asks GET /healthz every 100 ms on a new connection, from a thread of its
 * own: how responsive the API stays in each phase; and each phase reports the control plane's
 * own event-loop delay (its /metrics). The agents' worker processes run at nice --agents-nice
 * (10): they stand for other hosts, which never take a core from the control plane; 0 lets
 * them compete for the cores as equals.
 * Usage: node tools/bench/dist/fleet/fleet.bench.js [--agents 10000] [--workers 4] [--hold 30]
 *   [--backlog 10000] [--sandboxes 2000] [--concurrency 64] [--heartbeat-ms 5000] [--admin-token-agents]
 *   [--database-url postgres://…] [--rollout] [--rollout-sandboxes 10000] [--agents-nice 10]
 *   [--cpu-prof DIR] (a V8 CPU profile of the control plane, written to DIR when it stops)
 */
import { parseArgs } from 'node:util';
import { formatMs, percentile } from '../stats';
import { metricValue, startControlPlane, type ControlPlaneProcess } from '../control-plane.process';
import { HealthProbe } from './health-probe';
import { JsonClient } from './json-client';
import { sampleProcess } from './process-stats';
import { SimulatedFleet } from './simulated-fleet';

const { values: args } = parseArgs({
  options: {
    agents: { type: 'string', default: '10000' },
    workers: { type: 'string', default: '4' },
    hold: { type: 'string', default: '30' },
    backlog: { type: 'string', default: '10000' },
    sandboxes: { type: 'string', default: '2000' },
    concurrency: { type: 'string', default: '64' },
    'heartbeat-ms': { type: 'string', default: '5000' },
    'admin-token-agents': { type: 'boolean', default: false },
    'database-url': { type: 'string' },
    rollout: { type: 'boolean', default: false },
    'rollout-sandboxes': { type: 'string', default: '10000' },
    'cpu-prof': { type: 'string' },
    'agents-nice': { type: 'string', default: '10' },
  },
});
const AGENTS = Number(args.agents);
const WORKERS = Number(args.workers);
const HOLD_S = Number(args.hold);
const SANDBOXES = Number(args.sandboxes);
const CONCURRENCY = Number(args.concurrency);
const HEARTBEAT_MS = Number(args['heartbeat-ms']);
const BACKLOG = Number(args.backlog);
const AGENTS_NICE = Number(args['agents-nice']);
const ROLLOUT_SANDBOXES = Number(args['rollout-sandboxes']);
/** Each simulated node's room once the backlog phase starts. */
const ROOMY = { vcpus: 1024, memoryMiB: 4_194_304 };

const log = (msg: string): void => {
  process.stdout.write(`[${new Date().toISOString().slice(11, 19)}] ${msg}\n`);
};
const mib = (bytes: number): string => `${(bytes / 1024 / 1024).toFixed(0)} MiB`;

/** Runs `task(i)` for i in [0, n) with at most `lanes` in flight. */
async function pool(n: number, lanes: number, task: (i: number) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(lanes, n) }, async () => {
      while (next < n) await task(next++);
    }),
  );
}

/**
 * The control plane's own event-loop delay since the previous scrape of its /metrics (Node's
 * monitorEventLoopDelay through prom-client, which starts it afresh at every scrape): how long its
 * loop was held up, apart from how the probe's process, sharing the machine's cores with the
 * simulated agents, was scheduled.
 */
function loopDelay(metrics: string): string {
  const ms = (quantile: string): string => formatMs((metricValue(metrics, `nodejs_eventloop_lag_${quantile}_seconds`) ?? Number.NaN) * 1000);
  return `p50 ${ms('p50')}, p99 ${ms('p99')}, max ${ms('max')}`;
}

async function readyNodes(cp: ControlPlaneProcess): Promise<number> {
  return metricValue(await cp.metrics(), 'moat_nodes{state="ready"}') ?? 0;
}

async function holdAgents(cp: ControlPlaneProcess, probe: HealthProbe): Promise<{ fleet: SimulatedFleet; lines: string[] }> {
  let joinTokens: string[] | undefined;
  if (!args['admin-token-agents']) {
    log(`creating ${AGENTS} single-use join tokens`);
    joinTokens = new Array<string>(AGENTS);
    const tokens = joinTokens;
    await pool(AGENTS, 32, async (i) => {
      tokens[i] = (await cp.api<{ token: string }>('POST', '/v1/nodes/join-tokens', { labels: { simulated: 'true' } }, 201)).token;
    });
  }
  log(`starting ${AGENTS} simulated agents in ${WORKERS} worker processes`);
  // A scrape starts the control plane's loop-delay histogram afresh (see loopDelay).
  await cp.metrics();
  const connectStart = performance.now();
  const started = await SimulatedFleet.start({
    url: cp.url,
    agents: AGENTS,
    workers: WORKERS,
    // No room at first: the backlog phase makes room appear on every node at once.
    capacity: { vcpus: 0, memoryMiB: 0 },
    heartbeatMs: HEARTBEAT_MS,
    joinTokens,
    token: joinTokens ? undefined : cp.adminToken,
    nice: AGENTS_NICE,
  });
  const connectMs = performance.now() - connectStart;
  const joinedMetrics = await cp.metrics();
  log(`${started.connected} agents joined and said hello in ${formatMs(connectMs)} (${started.failed} failed${started.lastError ? `: ${started.lastError}` : ''})`);
  const deadline = Date.now() + 120_000;
  while ((await readyNodes(cp)) < started.connected && Date.now() < deadline) await new Promise((r) => setTimeout(r, 500));

  log(`holding them for ${HOLD_S} s with heartbeats every ${HEARTBEAT_MS} ms`);
  const before = sampleProcess(cp.pid);
  const t0 = performance.now();
  let peakRss = before.rssBytes;
  while (performance.now() - t0 < HOLD_S * 1000) {
    await new Promise((r) => setTimeout(r, 1000));
    peakRss = Math.max(peakRss, sampleProcess(cp.pid).rssBytes);
  }
  const after = sampleProcess(cp.pid);
  const cpu = (after.cpuSeconds - before.cpuSeconds) / ((performance.now() - t0) / 1000);
  const held = await started.fleet.report();
  const ready = await readyNodes(cp);
  const down = metricValue(await cp.metrics(), 'moat_nodes{state="down"}') ?? 0;
  return {
    fleet: started.fleet,
    lines: [
      `agents joined + hello        ${started.connected} of ${AGENTS} in ${formatMs(connectMs)}`,
      `  GET /healthz meanwhile     ${probe.summary(connectStart, connectStart + connectMs)}`,
      `  control plane loop delay   ${loopDelay(joinedMetrics)}`,
      `agents held (connected)      ${held.connected}; nodes ready ${ready}, down ${down} after ${HOLD_S} s`,
      `control plane CPU (held)     ${(cpu * 100).toFixed(1)} % of one core`,
      `control plane RSS            ${mib(after.rssBytes)} (peak ${mib(peakRss)})`,
    ],
  };
}

interface Tenant {
  id: string;
  apiKey: string;
}

/**
 * Creates `n` sandboxes through REST over CONCURRENCY keep-alive connections, one request in
 * flight on each; returns latencies and how many got a node.
 */
async function createSandboxes(
  cp: ControlPlaneProcess,
  tenant: Tenant,
  n: number,
): Promise<{ latencies: number[]; placed: number; wallS: number; from: number; to: number }> {
  const headers = { authorization: `Bearer ${tenant.apiKey}` };
  const body = JSON.stringify({ vcpus: 1, memoryMiB: 256 });
  const latencies: number[] = [];
  let placed = 0;
  const client = new JsonClient(cp.url, { connections: CONCURRENCY, keepAlive: true });
  try {
    // Open the connections first: the phase measures the API, not connection set-up.
    await Promise.all(Array.from({ length: CONCURRENCY }, () => client.send('GET', '/healthz')));
    const t0 = performance.now();
    await pool(n, CONCURRENCY, async () => {
      const start = performance.now();
      const { status, json: sandbox } = await client.send<{ nodeId?: string | null }>('POST', '/v1/sandboxes', headers, body);
      latencies.push(performance.now() - start);
      if (status !== 201) throw new Error(`create failed: ${status} ${JSON.stringify(sandbox)}`);
      if (sandbox.nodeId) placed++;
    });
    const to = performance.now();
    return { latencies: latencies.sort((a, b) => a - b), placed, wallS: (to - t0) / 1000, from: t0, to };
  } finally {
    client.close();
  }
}

/**
 * Scheduler throughput: a backlog of pending sandboxes (every node reports no room), then
 * every simulated node reports room at once; the scheduler places the backlog in batches.
 */
async function drainBacklog(cp: ControlPlaneProcess, fleet: SimulatedFleet, tenant: Tenant, probe: HealthProbe): Promise<string[]> {
  log(`creating a backlog of ${BACKLOG} sandboxes through REST while no node has room`);
  // The loop delay of the creates alone (see loopDelay); `before` reads it, `after` the backlog's.
  await cp.metrics();
  const created = await createSandboxes(cp, tenant, BACKLOG);
  const before = await cp.metrics();
  const heldBefore = (await fleet.report()).sandboxes;
  log(`every node reports room: placing the backlog`);
  const t0 = performance.now();
  await fleet.resize(ROOMY);
  // Watched from the simulated nodes, not /metrics: a scrape every 100 ms would cost the
  // control plane CPU while it drains. A node hears of its sandboxes after their placement
  // commits, so this time is an upper bound of the time to the database.
  await until('the backlog on its nodes', 300_000, async () => ((await fleet.report()).sandboxes - heldBefore >= BACKLOG ? true : undefined), 50);
  const placedAt = performance.now();
  const after = await cp.metrics();
  const delta = (sample: string): number => (metricValue(after, sample) ?? 0) - (metricValue(before, sample) ?? 0);
  const wallS = (placedAt - t0) / 1000;
  const busyS = delta('moat_scheduler_batch_duration_seconds_sum');
  const batches = delta('moat_scheduler_batch_duration_seconds_count');
  // The nodes' `running` reports for the backlog come after it is placed: let them land before
  // the next phase, so they are not counted against that phase's requests.
  await until('the backlog reported running', 300_000, async () => {
    const running = metricValue(await cp.metrics(), 'moat_sandboxes{state="running"}') ?? 0;
    return running >= BACKLOG ? true : undefined;
  });
  const settledS = (performance.now() - t0) / 1000;
  return [
    `REST creates, no room        ${BACKLOG} in ${created.wallS.toFixed(1)} s = ${(BACKLOG / created.wallS).toFixed(0)} /s (p99 ${formatMs(percentile(created.latencies, 99))})`,
    `  GET /healthz meanwhile     ${probe.summary(created.from, created.to)}`,
    `  control plane loop delay   ${loopDelay(before)}`,
    `backlog placed (to the DB)   ${BACKLOG} in ${wallS.toFixed(2)} s after room appeared = ${(BACKLOG / wallS).toFixed(0)} placements/s (committed, nodes told)`,
    `  GET /healthz meanwhile     ${probe.summary(t0, placedAt)}`,
    `  control plane loop delay   ${loopDelay(after)}`,
    `  scheduler transactions     ${batches}, busy ${busyS.toFixed(2)} s = ${(BACKLOG / Math.max(busyS, 1e-9)).toFixed(0)} placements per busy second`,
    `  all reported running       ${settledS.toFixed(2)} s after room appeared`,
  ];
}

/** End to end: creates through REST that are placed at once; each answers after its commit. */
async function createAndPlace(cp: ControlPlaneProcess, fleet: SimulatedFleet, tenant: Tenant, probe: HealthProbe): Promise<string[]> {
  log(`creating ${SANDBOXES} sandboxes through REST, ${CONCURRENCY} in flight, each placed at once`);
  const before = await cp.metrics();
  const { latencies, placed, wallS, from, to } = await createSandboxes(cp, tenant, SANDBOXES);
  const after = await cp.metrics();
  const delta = (sample: string): number => (metricValue(after, sample) ?? 0) - (metricValue(before, sample) ?? 0);
  // Let the simulated nodes' `running` reports land (and be stored) before the fleet is stopped.
  const total = BACKLOG + placed;
  const deadline = Date.now() + 120_000;
  let running = 0;
  for (;;) {
    const held = (await fleet.report()).sandboxes;
    running = metricValue(await cp.metrics(), 'moat_sandboxes{state="running"}') ?? 0;
    if ((held >= total && running >= total) || Date.now() > deadline) break;
    await new Promise((r) => setTimeout(r, 250));
  }
  return [
    `REST create → placed         ${placed} of ${SANDBOXES} in ${wallS.toFixed(2)} s = ${(placed / wallS).toFixed(0)} placements/s`,
    `  latency (REST)             p50 ${formatMs(percentile(latencies, 50))}, p99 ${formatMs(percentile(latencies, 99))}, max ${formatMs(latencies[latencies.length - 1])}`,
    `  GET /healthz meanwhile     ${probe.summary(from, to)}`,
    `  control plane loop delay   ${loopDelay(after)}`,
    `  scheduler transactions     ${delta('moat_scheduler_batch_duration_seconds_count')}, busy ${delta('moat_scheduler_batch_duration_seconds_sum').toFixed(2)} s`,
    `running, as reported by the simulated nodes: ${running} of ${total}`,
  ];
}

/** Polls `probe` every `intervalMs` until it returns a value. */
async function until<T>(what: string, timeoutMs: number, probe: () => Promise<T | undefined>, intervalMs = 250): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}

/**
 * A rolling rollout of a deployment over the simulated fleet (every node has room by now):
 * the control plane's own overhead, since simulated sandboxes run the moment a node hears of them.
 */
async function rollout(cp: ControlPlaneProcess, quota: Record<string, number>): Promise<string[]> {
  const tenant = await cp.api<Tenant>('POST', '/v1/tenants', { name: 'bench-rollout', quota }, 201);
  const spec = { vcpus: 1, memoryMiB: 128 };
  const template = await cp.api<{ id: string }>('POST', '/v1/templates', { name: 'bench', tenantId: tenant.id, ...spec, env: { V: '1' } }, 201);
  await cp.api('POST', `/v1/templates/${template.id}/versions`, { ...spec, env: { V: '2' } }, 201);
  log(`deploying ${ROLLOUT_SANDBOXES} replicas of template version 1`);
  const t0 = performance.now();
  const deployment = await cp.api<{ id: string }>(
    'POST',
    '/v1/deployments',
    {
      templateId: template.id,
      templateVersion: 1,
      replicas: ROLLOUT_SANDBOXES,
      strategy: { type: 'rolling', maxUnavailable: '10%', maxSurge: 0, autoRollback: true },
    },
    201,
  );
  await until('the initial replicas', 600_000, async () => {
    const d = await cp.api<{ counts: { healthy: number } }>('GET', `/v1/deployments/${deployment.id}`);
    return d.counts.healthy === ROLLOUT_SANDBOXES ? true : undefined;
  });
  const deployS = (performance.now() - t0) / 1000;
  log(`rolling out template version 2`);
  const before = sampleProcess(cp.pid);
  const t1 = performance.now();
  const { id } = await cp.api<{ id: string }>('POST', `/v1/deployments/${deployment.id}/rollouts`, { templateVersion: 2 }, 201);
  const done = await until('the rollout', 600_000, async () => {
    const r = await cp.api<{ state: string }>('GET', `/v1/rollouts/${id}`);
    return r.state === 'progressing' ? undefined : r;
  });
  const rolloutS = (performance.now() - t1) / 1000;
  const after = sampleProcess(cp.pid);
  if (done.state !== 'completed') process.exitCode = 1;
  return [
    `deployment healthy           ${ROLLOUT_SANDBOXES} replicas in ${deployS.toFixed(1)} s`,
    `rolling rollout (10%)        ${done.state} in ${rolloutS.toFixed(1)} s (target < 60 s); CPU ${(after.cpuSeconds - before.cpuSeconds).toFixed(1)} s, RSS ${mib(after.rssBytes)}`,
  ];
}

async function main(): Promise<void> {
  const cp = await startControlPlane({
    // One tenant holds the backlog and the sandboxes, another the rollout: a /16 each gives them
    // room for every address (the default /24 holds 253 sandboxes of a tenant).
    env: { MOAT_NET_SUBNET_POOL: '10.0.0.0/8', MOAT_NET_TENANT_PREFIX: '16', ...(args['database-url'] ? { DATABASE_URL: args['database-url'] } : {}) },
    cpuProfileDir: args['cpu-prof'],
  });
  let fleet: SimulatedFleet | undefined;
  const probe = new HealthProbe(cp.url);
  try {
    log(`control plane pid ${cp.pid} at ${cp.url} (${args['database-url'] ? 'PostgreSQL' : 'SQLite'})`);
    const held = await holdAgents(cp, probe);
    fleet = held.fleet;
    const quota = { maxSandboxes: 100_000, maxVcpus: 1_000_000, maxMemoryMiB: 1_073_741_824 };
    const tenant = await cp.api<Tenant>('POST', '/v1/tenants', { name: 'bench', quota }, 201);
    // A phase asked to place nothing is skipped (it would have no rate and no latencies); the
    // nodes still get room, which the later phases need.
    const backlog = BACKLOG > 0 ? await drainBacklog(cp, fleet, tenant, probe) : [];
    if (BACKLOG === 0) await fleet.resize(ROOMY);
    const endToEnd = SANDBOXES > 0 ? await createAndPlace(cp, fleet, tenant, probe) : [];
    const rolled = args.rollout ? await rollout(cp, quota) : [];
    const lines = [...held.lines, ...backlog, ...endToEnd, ...rolled];
    process.stdout.write(`\nFleet benchmark (SIMULATED agents at nice ${AGENTS_NICE}, real control plane and sockets)\n${lines.map((l) => `  ${l}`).join('\n')}\n`);
  } finally {
    await probe.stop();
    await fleet?.stop();
    await cp.stop();
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`${(err as Error).stack ?? String(err)}\n`);
  process.exit(1);
});
