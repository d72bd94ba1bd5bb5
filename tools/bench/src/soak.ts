/**
 * Soak benchmark: N create → exec → delete cycles against a real control plane and a real node
 * agent with real VMs, with faults injected at random — the node agent SIGKILLed while a sandbox
 * starts (and started again), a VMM SIGKILLed under a running sandbox, a guest frozen (QMP
 * `stop`, so its agent stops answering). Prints the cycles done, the faults injected, how many
 * sandboxes converged (ended gone after their delete, whatever happened to them), the host
 * objects left behind (processes, mounts, RAM files, jail uids, cgroups, netns, links, firewall
 * rules) and the control plane's memory before and after.
 * Usage: tools/bench/soak [--cycles N] [--concurrency N] [--fault-rate F] [--seed S] [--data-dir DIR]
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { rmSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { QmpClient } from '@moat/runtime-core';
import { benchDataDir } from './bench-stack';
import { DATA_DIR_OPTION, positiveInt } from './cli';
import { startControlPlane, type ControlPlaneProcess } from './control-plane.process';
import { loadHostObjects, networkLeftovers } from './host-objects';
import { hostProcesses, rssMiB } from './process-memory';
import { until } from './wait';

const ROOT = resolve(__dirname, '../../..');
const BRIDGE_PREFIX = 'msoak';
const FAULTS = ['agent-kill', 'vmm-kill', 'guest-hang'] as const;
type Fault = (typeof FAULTS)[number];

interface Sandbox {
  id: string;
  state: string;
  error?: { code: string } | null;
}

/** A small deterministic generator (mulberry32), so a seed replays the same faults. */
function random(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 2 ** 32;
  };
}

/** The node agent as its own process, which a fault may kill and the soak then starts again. */
class NodeAgent {
  private child?: ChildProcess;

  constructor(private readonly env: Record<string, string>) {}

  start(): void {
    this.child = spawn(process.execPath, [join(ROOT, 'apps/node-agent/dist/main.js')], { env: { ...process.env, ...this.env }, stdio: 'ignore' });
  }

  kill(): Promise<void> {
    const child = this.child;
    if (!child || child.exitCode !== null) return Promise.resolve();
    return new Promise((done) => {
      child.once('exit', () => done());
      child.kill('SIGKILL');
    });
  }

  async stop(): Promise<void> {
    const child = this.child;
    if (!child || child.exitCode !== null) return;
    await new Promise<void>((done) => {
      child.once('exit', () => done());
      child.kill('SIGTERM');
    });
  }
}

/** The host pid of a sandbox's VMM, if it runs. */
function vmmPid(id: string): number | undefined {
  return hostProcesses().find(({ argv }) => argv[0].endsWith('qemu-system-x86_64') && argv.some((arg) => arg.startsWith(`moat-${id}`)))?.pid;
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      cycles: { type: 'string', default: '1000' },
      concurrency: { type: 'string', default: '2' },
      'fault-rate': { type: 'string', default: '0.2' },
      seed: { type: 'string', default: String(Date.now() % 100_000) },
      'data-dir': DATA_DIR_OPTION,
    },
  });
  const cycles = positiveInt('cycles', values.cycles);
  const concurrency = positiveInt('concurrency', values.concurrency);
  const faultRate = Number(values['fault-rate']);
  if (!(faultRate >= 0 && faultRate <= 1)) throw new Error('--fault-rate must be in 0..1');
  const seed = Number(values.seed);
  const next = random(seed);
  const dataDir = benchDataDir(values['data-dir'], 'soak');

  const { snapshotHostObjects, leftSince } = await loadHostObjects();
  const before = snapshotHostObjects();
  const cp: ControlPlaneProcess = await startControlPlane();
  const agent = new NodeAgent({
    MOAT_DATA_DIR: dataDir,
    MOAT_CONTROL_PLANE_URL: cp.url,
    MOAT_NODE_TOKEN: cp.adminToken,
    MOAT_NODE_NAME: 'soak',
    MOAT_NET_BRIDGE_PREFIX: BRIDGE_PREFIX,
    MOAT_NET_SUBNET_POOL: '10.247.0.0/16',
    // No resolvers: nothing a sandbox does here may leave the machine.
    MOAT_DNS_SERVERS: '',
    MOAT_STOP_SANDBOXES_ON_EXIT: 'true',
    MOAT_LOG_LEVEL: 'warn',
  });
  agent.start();
  const rssBefore = rssMiB(cp.pid);
  const faults: Record<Fault, number> = { 'agent-kill': 0, 'vmm-kill': 0, 'guest-hang': 0 };
  const ids: string[] = [];
  let done = 0;
  let converged = 0;
  const started = Date.now();

  const get = (id: string) => cp.find<Sandbox>(`/v1/sandboxes/${id}`);

  const cycle = async (n: number): Promise<void> => {
    const fault: Fault | undefined = next() < faultRate ? FAULTS[Math.floor(next() * FAULTS.length)] : undefined;
    const { id } = await cp.api<Sandbox>('POST', '/v1/sandboxes', { vcpus: 1, memoryMiB: 128 }, 201);
    ids.push(id);
    try {
      if (fault === 'agent-kill') {
        await new Promise((r) => setTimeout(r, Math.floor(next() * 3_000)));
        await agent.kill();
        agent.start();
      }
      const settled = await until(`sandbox ${id} to settle`, async () => {
        const s = await get(id);
        return s && ['running', 'failed'].includes(s.state) ? s : undefined;
      }, 300_000);
      if (settled.state === 'running') {
        await cp.api('POST', `/v1/sandboxes/${id}/exec`, { command: ['echo', String(n)] }).catch(() => undefined);
        if (fault === 'vmm-kill') {
          const pid = vmmPid(id);
          if (pid) process.kill(pid, 'SIGKILL');
        }
        if (fault === 'guest-hang') {
          const qmp = await QmpClient.connect(join('/run/moat', id, 'vm', 'qmp.sock'), 5_000);
          await qmp.execute('stop', undefined, 5_000);
          qmp.close();
        }
        if (fault === 'vmm-kill' || fault === 'guest-hang') {
          await until(`sandbox ${id} to fail`, async () => ((await get(id))?.state === 'failed' ? true : undefined), 120_000);
        }
      }
      if (fault) faults[fault] += 1;
      await cp.api('DELETE', `/v1/sandboxes/${id}`, undefined, 202);
      await until(`sandbox ${id} to be gone`, async () => ((await get(id)) === undefined ? true : undefined), 300_000);
      converged += 1;
    } catch (error) {
      console.error(`cycle ${n} (${id}, fault ${fault ?? 'none'}): ${(error as Error).message}`);
    } finally {
      done += 1;
      if (done % 50 === 0) console.log(`… ${done} cycles, ${converged} converged, ${((Date.now() - started) / 60_000).toFixed(1)} min`);
    }
  };

  try {
    let issued = 0;
    await Promise.all(
      Array.from({ length: concurrency }, async () => {
        while (issued < cycles) await cycle(issued++);
      }),
    );
    const rssAfter = rssMiB(cp.pid);
    await agent.stop();
    const left = [...leftSince(before), ...networkLeftovers(ids, BRIDGE_PREFIX)];
    console.log(`soak: seed ${seed}, ${cycles} cycles, concurrency ${concurrency}, fault rate ${faultRate}`);
    console.log(`cycles done: ${done} in ${((Date.now() - started) / 60_000).toFixed(1)} min`);
    console.log(`faults injected: ${FAULTS.map((f) => `${f} ${faults[f]}`).join(', ')}`);
    console.log(`sandboxes converged (gone after delete): ${converged} of ${done}`);
    console.log(`leaks found: ${left.length}${left.length ? `\n  ${left.join('\n  ')}` : ''}`);
    console.log(`control plane RSS: ${rssBefore} MiB before, ${rssAfter} MiB after`);
    if (left.length > 0 || converged !== done) process.exitCode = 1;
  } finally {
    await agent.stop();
    await cp.stop();
    rmSync(dataDir, { recursive: true, force: true });
  }
}

main().catch((err: unknown) => {
  console.error(err instanceof Error ? err.message : err);
  process.exit(1);
});
