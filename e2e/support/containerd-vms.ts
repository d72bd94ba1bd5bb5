// What the e2e stack's node shows of containerd's tasks: their VMs and their shims.
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { DATA_DIR } from './api';

/** The e2e stack's node agent keeps the default run dir, where the shim finds its task socket. */
export const NODE_RUN_DIR = '/run/moat';
const sandboxesDir = join(DATA_DIR, 'node', 'sandboxes');

/** The node's sandboxes (VMs) that run tasks of containerd's `namespace`, by their state files. */
export function vmsOfNamespace(namespace: string): string[] {
  if (!existsSync(sandboxesDir)) return [];
  return readdirSync(sandboxesDir).filter((id) => {
    try {
      const state = JSON.parse(readFileSync(join(sandboxesDir, id, 'state.json'), 'utf8')) as { spec?: { containerd?: { namespace: string } } };
      return state.spec?.containerd?.namespace === namespace;
    } catch {
      return false;
    }
  });
}

/** Moat's shims running on the host, as `pgrep -af` lists them. */
export function shimProcesses(): string[] {
  try {
    return execFileSync('pgrep', ['-af', 'containerd-shim-moat-v2'], { encoding: 'utf8' }).trim().split('\n').filter(Boolean);
  } catch {
    return [];
  }
}
