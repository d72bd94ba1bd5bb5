/**
 * Rollout benchmark: the control plane's own overhead for a rolling rollout of 10,000
 * sandboxes over 1,000 nodes (maxUnavailable 10%, maxSurge 0) when every sandbox is running
 * and healthy the moment its node hears of it. Starts one real control-plane process (SQLite,
 * or PostgreSQL with --database-url) and SIMULATED node agents (real socket.io connections,
 * simulated runtime; see simulated-agent.ts) in separate processes.
 * Usage: node tools/bench/dist/fleet/rollout.js [--nodes 1000] [--sandboxes 10000] [--agent-processes 4]
 *        [--database-url postgres://…] [--cpu-prof-dir DIR]
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { parseArgs } from 'node:util';

const ROOT = resolve(__dirname, '..', '..', '..', '..');
const CONTROL_PLANE = join(ROOT, 'apps/control-plane/dist/main.js');
const SIMULATED_AGENT = join(__dirname, 'simulated-agent.js');

interface Rollout {
  state: string;
  progress: { old: number; new: number; healthy: number; desired: number };
  reason: string | null;
}

function freePort(): Promise<number> {
  return new Promise((done, fail) => {
    const server = createServer();
    server.on('error', fail);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => done(typeof address === 'object' && address ? address.port : 0));
    });
  });
}

/** CPU seconds (user + system) a process has used, from /proc. */
function cpuSeconds(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

function rssMiB(pid: number): number {
  const line = readFileSync(`/proc/${pid}/status`, 'utf8').split('\n').find((l) => l.startsWith('VmRSS:'));
  return Number(line?.split(/\s+/)[1] ?? 0) / 1024;
}

async function until<T>(what: string, timeoutMs: number, probe: () => Promise<T | undefined>): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe().catch(() => undefined);
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      nodes: { type: 'string', default: '1000' },
      sandboxes: { type: 'string', default: '10000' },
      'agent-processes': { type: 'string', default: '4' },
      'database-url': { type: 'string' },
      /** Write a V8 CPU profile of the control plane into this directory. */
      'cpu-prof-dir': { type: 'string' },
    },
  });
  const nodes = Number(values.nodes);
  const sandboxes = Number(values.sandboxes);
  const processes = Number(values['agent-processes']);
  const dataDir = mkdtempSync(join(tmpdir(), 'moat-bench-rollout-'));
  const token = randomBytes(24).toString('base64url');
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const children: ChildProcess[] = [];
  const stopAll = (): void => {
    for (const child of children) {
      if (child.exitCode !== null) continue;
      child.kill('SIGTERM');
      // A control plane busy with a pass gets a moment to stop cleanly, then is killed.
      setTimeout(() => child.kill('SIGKILL'), 10_000).unref();
    }
  };
  process.on('exit', () => children.forEach((c) => c.kill('SIGKILL')));
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.on(signal, () => {
      stopAll();
      process.exit(130);
    });
  }

  try {
    const profile = values['cpu-prof-dir'] ? ['--cpu-prof', '--cpu-prof-dir', values['cpu-prof-dir']] : [];
    const cp = spawn(process.execPath, [...profile, CONTROL_PLANE], {
      env: {
        ...process.env,
        MOAT_DATA_DIR: dataDir,
        MOAT_ADMIN_TOKEN: token,
        MOAT_API_PORT: String(port),
        MOAT_API_HOST: '127.0.0.1',
        MOAT_LOG_LEVEL: 'warn',
        ...(values['database-url'] ? { DATABASE_URL: values['database-url'] } : {}),
      },
      stdio: ['ignore', 'inherit', 'inherit'],
    });
    children.push(cp);
    const call = async <T>(method: string, path: string, body?: unknown): Promise<T> => {
      const res = await fetch(`${url}${path}`, {
        method,
        headers: { Authorization: `Bearer ${token}`, 'content-type': 'application/json' },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
      if (!res.ok) throw new Error(`${method} ${path}: ${res.status} ${await res.text()}`);
      return (await res.json()) as T;
    };
    await until('the control plane', 60_000, async () => ((await fetch(`${url}/healthz`)).ok ? true : undefined));

    const t0 = performance.now();
    const per = Math.ceil(nodes / processes);
    await Promise.all(
      Array.from({ length: processes }, (_, i) => {
        const count = Math.min(per, nodes - i * per);
        const child = spawn(process.execPath, [SIMULATED_AGENT, '--url', url, '--token', token, '--count', String(count), '--offset', String(i * per)], {
          stdio: ['ignore', 'pipe', 'inherit'],
        });
        children.push(child);
        return new Promise<void>((done, fail) => {
          child.once('exit', (code) => fail(new Error(`simulated agents exited with ${code}`)));
          createInterface({ input: child.stdout ?? process.stdin }).on('line', (line) => {
            if (line.startsWith('ready')) done();
          });
        });
      }),
    );
    console.log(`${nodes} simulated nodes connected in ${((performance.now() - t0) / 1000).toFixed(1)} s`);

    const tenant = await call<{ id: string }>('POST', '/v1/tenants', {
      name: 'bench',
      quota: { maxSandboxes: 100_000, maxVcpus: 1_000_000, maxMemoryMiB: 1_000_000_000 },
    });
    const spec = { vcpus: 1, memoryMiB: 128 };
    const template = await call<{ id: string }>('POST', '/v1/templates', { name: 'bench', tenantId: tenant.id, ...spec, env: { V: '1' } });
    await call('POST', `/v1/templates/${template.id}/versions`, { ...spec, env: { V: '2' } });

    const t1 = performance.now();
    const deployment = await call<{ id: string }>('POST', '/v1/deployments', {
      templateId: template.id,
      templateVersion: 1,
      replicas: sandboxes,
      strategy: { type: 'rolling', maxUnavailable: '10%', maxSurge: 0, autoRollback: true },
    });
    await until('the initial replicas', 600_000, async () => {
      const d = await call<{ counts: { healthy: number } }>('GET', `/v1/deployments/${deployment.id}`);
      return d.counts.healthy === sandboxes ? true : undefined;
    });
    console.log(`deployment of ${sandboxes} sandboxes healthy in ${((performance.now() - t1) / 1000).toFixed(1)} s`);

    const cpuBefore = cpuSeconds(cp.pid ?? 0);
    const t2 = performance.now();
    const { id } = await call<{ id: string }>('POST', `/v1/deployments/${deployment.id}/rollouts`, { templateVersion: 2 });
    const done = await until('the rollout', 600_000, async () => {
      const r = await call<Rollout>('GET', `/v1/rollouts/${id}`);
      return r.state === 'progressing' ? undefined : r;
    });
    const seconds = (performance.now() - t2) / 1000;
    console.log(
      `rolling rollout of ${sandboxes} sandboxes over ${nodes} nodes (maxUnavailable 10%): ${done.state} in ${seconds.toFixed(1)} s` +
        ` (target < 60 s); control plane CPU ${(cpuSeconds(cp.pid ?? 0) - cpuBefore).toFixed(1)} s, RSS ${rssMiB(cp.pid ?? 0).toFixed(0)} MiB`,
    );
    if (done.state !== 'completed') process.exitCode = 1;
  } finally {
    stopAll();
    rmSync(dataDir, { recursive: true, force: true });
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
