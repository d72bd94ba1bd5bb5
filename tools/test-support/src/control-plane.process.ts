import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { repositoryRoot } from './repository-root';

const START_TIMEOUT_MS = 60_000;

/** A control plane running in its own process, on SQLite in a throw-away data directory. */
export interface ControlPlaneProcess {
  apiUrl: string;
  adminToken: string;
  stop(): Promise<void>;
}

/**
 * Starts the control plane as its users run it, the built apps/control-plane/dist/main.js (the
 * test's Nx target builds it first), on a free loopback port, with no node: sandboxes stay `pending`.
 */
export async function startControlPlane(): Promise<ControlPlaneProcess> {
  const dataDir = mkdtempSync(join(tmpdir(), 'moat-it-control-plane-'));
  const adminToken = randomBytes(24).toString('base64url');
  const child = spawn(process.execPath, [join(repositoryRoot(), 'apps/control-plane/dist/main.js')], {
    env: {
      PATH: process.env.PATH ?? '',
      MOAT_DATA_DIR: dataDir,
      MOAT_ADMIN_TOKEN: adminToken,
      MOAT_API_HOST: '127.0.0.1',
      MOAT_API_PORT: '0',
      MOAT_LOG_LEVEL: 'info',
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const stop = async (): Promise<void> => {
    if (child.exitCode === null && child.signalCode === null) {
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGTERM');
      await exited;
    }
    rmSync(dataDir, { recursive: true, force: true });
  };
  try {
    return { apiUrl: await listeningUrl(child), adminToken, stop };
  } catch (err) {
    await stop();
    throw err;
  }
}

/** The URL from the control plane's `control plane listening` log line (pino JSON on stdout). */
function listeningUrl(child: ChildProcess): Promise<string> {
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => {
    stderr += chunk.toString();
  });
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`the control plane did not listen within ${START_TIMEOUT_MS} ms`)), START_TIMEOUT_MS);
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      reject(new Error(`the control plane exited (${code ?? signal}) before listening: ${stderr}`));
    });
    createInterface({ input: child.stdout! }).on('line', (line) => {
      const entry = parseLogLine(line);
      if (entry?.msg === 'control plane listening' && typeof entry.url === 'string') {
        clearTimeout(timer);
        resolve(entry.url);
      }
    });
  });
}

function parseLogLine(line: string): { msg?: unknown; url?: unknown } | undefined {
  try {
    return JSON.parse(line) as { msg?: unknown; url?: unknown };
  } catch {
    return undefined;
  }
}
