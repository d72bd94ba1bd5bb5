/**
 * A whole local Moat for a benchmark, started by tools/dev/stack.mjs as `npm start` and the e2e
 * tests start it, in a fresh data dir under the main one that shares its guest image.
 */
import { existsSync, mkdtempSync, symlinkSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { importDevModule } from './dev-module';
import { freePort } from './free-port';

export interface BenchStack {
  apiUrl: string;
  /** The CA of the stack's certificates, when it serves HTTPS (a fleet of several nodes does). */
  caFile?: string;
  /** Set when the web UI runs too. */
  webUrl?: string;
  adminToken: string;
  dataDir: string;
  pid(name: 'control-plane' | 'node-agent' | 'web'): number | undefined;
  /** Resolves (with why) when a process of the stack exits by itself. */
  exited: Promise<string>;
  /** Stops the node agent first, which stops its VMs, then the rest; keeps the data dir. */
  stop(): Promise<void>;
}

interface StackOptions {
  dataDir: string;
  apiPort: number;
  webPort: number;
  web?: boolean;
  nodes?: number;
  env?: Record<string, string>;
  output: 'file';
  log: (message: string) => void;
}

/** A fresh data dir `<mainDataDir>/<prefix>-XXXXXX` sharing the main one's guest image. */
export function benchDataDir(mainDataDir: string, prefix: string): string {
  const imagesDir = join(resolve(mainDataDir), 'guest-images');
  if (!existsSync(join(imagesDir, 'current.json'))) throw new Error(`no guest image in ${imagesDir}: build it first (npm start or npm test does)`);
  const dataDir = mkdtempSync(join(resolve(mainDataDir), `${prefix}-`));
  symlinkSync(imagesDir, join(dataDir, 'guest-images'));
  return dataDir;
}

/**
 * Starts a stack on free ports in a fresh data dir; its processes log to `<dataDir>/<name>.log`.
 * `nodes` > 1 is `npm start -- --nodes N`: node agents in namespaces of their own on a virtual LAN, over TLS.
 */
export async function startBenchStack(
  mainDataDir: string,
  prefix: string,
  opts: { web?: boolean; nodes?: number; env?: Record<string, string> } = {},
): Promise<BenchStack> {
  const dataDir = benchDataDir(mainDataDir, prefix);
  const { startStack } = await importDevModule<{ startStack: (opts: StackOptions) => Promise<BenchStack> }>('stack.mjs');
  return startStack({ dataDir, apiPort: await freePort(), webPort: await freePort(), web: opts.web, nodes: opts.nodes, env: opts.env, output: 'file', log: () => {} });
}
