/**
 * Cross-node figures of the network benchmark: a fleet of two real nodes on one machine
 * (`npm start -- --nodes 2`: node agents in namespaces of their own on a virtual LAN) and three
 * sandboxes of one tenant, two on one node and one on the other. Between the pair on one node
 * (their tenant bridge) and between two on different nodes (the tenant's VXLAN overlay over the
 * LAN), in one run: ping round trips, and TCP throughput with busybox nc and dd in the guests.
 * The guests time their own transfers (/proc/uptime, 10 ms steps), so the exec round trip is
 * not counted.
 */
import { readFileSync } from 'node:fs';
import { startBenchStack } from './bench-stack';
import { importDevModule } from './dev-module';
import { summarize } from './stats';
import { until } from './wait';

interface Sandbox {
  id: string;
  state: string;
  nodeId: string | null;
  ip: string | null;
  error?: { message: string };
}
interface ExecResult {
  exitCode: number;
  stdout: string;
  stderr: string;
}
type ApiRequest = <T>(url: string, opts: { method?: string; token?: string; body?: unknown; ca?: string }) => Promise<{ status: number; body: T }>;

export interface PathFigures {
  /** Round trips of single pings, ms. */
  rttMs: number[];
  /** TCP MiB/s, one transfer. */
  mibPerSecond: number;
}

export interface FleetNetFigures {
  sameNode: PathFigures;
  acrossNodes: PathFigures;
}

const SINK_PORT = 5202;
/** Both the sandbox and the benchmark use a pool of their own, away from `npm start`'s. */
const POOL = '10.246.0.0/16';

export async function measureAcrossNodes(mainDataDir: string, mib: number, pings: number): Promise<FleetNetFigures> {
  const stack = await startBenchStack(mainDataDir, 'bench-net-fleet', {
    nodes: 2,
    env: { MOAT_NET_BRIDGE_PREFIX: 'mtbnf', MOAT_NET_SUBNET_POOL: POOL, MOAT_DNS_SERVERS: '', MOAT_NODE_METRICS_ADDR: 'off' },
  });
  try {
    const { apiRequest } = await importDevModule<{ apiRequest: ApiRequest }>('stack.mjs');
    const ca = stack.caFile ? readFileSync(stack.caFile, 'utf8') : undefined;
    const call = async <T>(method: string, path: string, body: unknown, token: string, expect: number): Promise<T> => {
      const res = await apiRequest<T>(`${stack.apiUrl}${path}`, { method, body, token, ca });
      if (res.status !== expect) throw new Error(`${method} ${path}: ${res.status} ${JSON.stringify(res.body)}`);
      return res.body;
    };
    await until(
      'both nodes ready',
      async () => {
        const nodes = await call<{ state: string }[]>('GET', '/v1/nodes', undefined, stack.adminToken, 200);
        return nodes.length === 2 && nodes.every((n) => n.state === 'ready') ? true : undefined;
      },
      300_000,
    );
    const key = (await call<{ apiKey: string }>('POST', '/v1/tenants', { name: `bench-net-${Date.now()}` }, stack.adminToken, 201)).apiKey;
    const exec = (sandbox: Sandbox, script: string) => call<ExecResult>('POST', `/v1/sandboxes/${sandbox.id}/exec`, { command: ['sh', '-c', script], timeoutMs: 600_000 }, key, 200);
    // One at a time, as each node's first boot also saves its boot snapshot.
    const sandboxes: Sandbox[] = [];
    for (let i = 0; i < 3; i++) {
      const { id } = await call<Sandbox>('POST', '/v1/sandboxes', { vcpus: 1, memoryMiB: 256 }, key, 201);
      const settled = await until(
        `sandbox ${id} to run`,
        async () => {
          const sandbox = await call<Sandbox>('GET', `/v1/sandboxes/${id}`, undefined, key, 200);
          return sandbox.state === 'running' || sandbox.state === 'failed' ? sandbox : undefined;
        },
        600_000,
      );
      if (settled.state === 'failed') throw new Error(`sandbox ${id} failed: ${settled.error?.message ?? ''}`);
      sandboxes.push(settled);
    }
    const [first, second, third] = sandboxes;
    const partnerOfThird = [first, second].find((s) => s.nodeId === third.nodeId);
    const other = [first, second].find((s) => s.nodeId !== third.nodeId);
    if (!partnerOfThird || !other) throw new Error(`expected two sandboxes on one node and one on the other, got nodes ${sandboxes.map((s) => s.nodeId).join(', ')}`);
    const path = async (from: Sandbox, to: Sandbox): Promise<PathFigures> => ({ rttMs: await rtts(exec, from, to, pings), mibPerSecond: await tcp(exec, from, to, mib) });
    return { sameNode: await path(third, partnerOfThird), acrossNodes: await path(third, other) };
  } finally {
    await stack.stop();
  }
}

type Exec = (sandbox: Sandbox, script: string) => Promise<ExecResult>;

async function rtts(exec: Exec, from: Sandbox, to: Sandbox, count: number): Promise<number[]> {
  const out = await exec(from, `ping -c ${count} -i 0.2 ${to.ip ?? ''}`);
  const times = [...out.stdout.matchAll(/time=([\d.]+) ms/g)].map((m) => Number(m[1]));
  if (times.length === 0) throw new Error(`no ping reply from ${to.ip ?? ''}: ${out.stdout}${out.stderr}`);
  return times;
}

/** `to` sinks what `from` sends; `from` times it, from its first byte sent to its connection closed. */
async function tcp(exec: Exec, from: Sandbox, to: Sandbox, mib: number): Promise<number> {
  // nc takes one connection (a probe would use it up): the listener gets a moment to start instead.
  const listen = await exec(to, `nc -l -p ${SINK_PORT} -e dd of=/dev/null bs=65536 >/dev/null 2>&1 </dev/null & sleep 1`);
  if (listen.exitCode !== 0) throw new Error(`nc -l: ${listen.stderr}`);
  const uptime = 'read t rest </proc/uptime; echo ${t%.*}${t#*.}';
  const send = await exec(
    from,
    `t0=$(${uptime}); dd if=/dev/zero bs=65536 count=${mib * 16} 2>/dev/null | nc ${to.ip ?? ''} ${SINK_PORT}; t1=$(${uptime}); echo $((t1 - t0))`,
  );
  const centiseconds = Number(send.stdout.trim().split('\n').pop());
  if (send.exitCode !== 0 || !(centiseconds > 0)) throw new Error(`transfer to ${to.ip ?? ''}: exit ${send.exitCode} ${send.stdout}${send.stderr}`);
  return mib / (centiseconds / 100);
}

export function describePath(figures: PathFigures): string {
  const rtt = summarize(figures.rttMs);
  return `ping p50 ${rtt.p50.toFixed(2)} ms p95 ${rtt.p95.toFixed(2)} ms, TCP ${figures.mibPerSecond.toFixed(1)} MiB/s`;
}
