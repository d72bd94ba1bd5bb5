/** Runs one real control-plane process for a benchmark, on a free port and a fresh data dir. */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { apiClient } from './api.client';
import { freePort } from './free-port';

const ROOT = resolve(__dirname, '../../..');

export interface ControlPlaneProcess {
  url: string;
  adminToken: string;
  pid: number;
  /** Calls the REST API as the admin; rejects on any status other than `expect`. */
  api<T>(method: string, path: string, body?: unknown, expect?: number): Promise<T>;
  /** GETs a resource as the admin; undefined when it is gone (404). */
  find<T>(path: string): Promise<T | undefined>;
  /** The Prometheus text of `/metrics`. */
  metrics(): Promise<string>;
  stop(): Promise<void>;
}

export interface ControlPlaneOptions {
  env?: Record<string, string>;
  /** Writes a V8 CPU profile of the control plane into this directory when it exits. */
  cpuProfileDir?: string;
}

export async function startControlPlane({ env = {}, cpuProfileDir }: ControlPlaneOptions = {}): Promise<ControlPlaneProcess> {
  const dataDir = mkdtempSync(join(tmpdir(), 'moat-bench-cp-'));
  const port = await freePort();
  const adminToken = randomBytes(24).toString('base64url');
  const profile = cpuProfileDir ? ['--cpu-prof', `--cpu-prof-dir=${cpuProfileDir}`] : [];
  const child: ChildProcess = spawn(process.execPath, [...profile, join(ROOT, 'apps/control-plane/dist/main.js')], {
    env: {
      ...process.env,
      MOAT_DATA_DIR: dataDir,
      MOAT_API_PORT: String(port),
      MOAT_API_HOST: '127.0.0.1',
      MOAT_ADMIN_TOKEN: adminToken,
      MOAT_LOG_LEVEL: 'warn',
      ...env,
    },
    stdio: ['ignore', 'inherit', 'inherit'],
  });
  const url = `http://127.0.0.1:${port}`;
  const exited = new Promise<void>((resolveExit) => child.once('exit', () => resolveExit()));
  const deadline = Date.now() + 60_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`the control plane exited (${child.exitCode})`);
    try {
      if ((await fetch(`${url}/healthz`)).ok) break;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) throw new Error('the control plane did not start within 60 s');
    await new Promise((r) => setTimeout(r, 200));
  }
  const client = apiClient(url, adminToken);
  return {
    url,
    adminToken,
    pid: child.pid as number,
    api: client.call,
    find: client.find,
    async metrics(): Promise<string> {
      return (await fetch(`${url}/metrics`)).text();
    },
    async stop(): Promise<void> {
      child.kill('SIGTERM');
      // A profile is written as it exits: give a control plane with many agents to say goodbye to the time it takes.
      const timer = setTimeout(() => child.kill('SIGKILL'), cpuProfileDir ? 120_000 : 15_000);
      await exited;
      clearTimeout(timer);
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

/** The value of one Prometheus sample line (`name{labels} value`), or undefined. */
export function metricValue(text: string, sample: string): number | undefined {
  for (const line of text.split('\n')) {
    if (line.startsWith(`${sample} `)) return Number(line.slice(sample.length + 1));
  }
  return undefined;
}
