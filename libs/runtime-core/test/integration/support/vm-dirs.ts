import { processesMentioning } from '@moat/test-support';
// Test support: the host dirs a VM test runs in, and what a failed test may leave on the host.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** A runtime's dirs: data under the temp dir, runs under /tmp (socket paths stay short), RAM files on tmpfs. */
export interface VmDirs {
  work: string;
  runDir: string;
  memoryDir: string;
}

export function makeVmDirs(name: string): VmDirs {
  return {
    work: mkdtempSync(join(tmpdir(), `moat-${name}-`)),
    runDir: mkdtempSync(`/tmp/m${name.slice(0, 1)}-`),
    memoryDir: mkdtempSync(`/dev/shm/moat-${name}-`),
  };
}

export function removeVmDirs(dirs: VmDirs | undefined): void {
  for (const dir of [dirs?.work, dirs?.runDir, dirs?.memoryDir]) if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
}

/**
 * Belt and braces after the runtime's own cleanup: kills every process whose argv names one of
 * `needles`, and with `networkPrefix` removes the links and nft tables a network of that prefix made.
 */
export function removeLeftovers(needles: readonly string[], networkPrefix?: string): void {
  for (const needle of needles) for (const line of processesMentioning(needle)) process.kill(Number(line.split(':')[0]), 'SIGKILL');
  if (networkPrefix === undefined) return;
  for (const link of readdirSync('/sys/class/net')) if (link.startsWith(networkPrefix)) spawnSync('ip', ['link', 'del', link]);
  for (const family of ['inet', 'bridge']) spawnSync('nft', ['delete', 'table', family, networkPrefix]);
}
