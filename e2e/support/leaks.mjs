// Finds host objects a Moat stack left behind: VMM and virtiofsd processes, run dirs,
// sandbox dirs and mounts. Everything Moat creates is named after its sandbox id or lives
// under its data dir, which is what makes this check possible.
import { readdirSync, readFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';

/** @param {string} dataDir @param {string[]} [sandboxIds] only these ids (default: any under dataDir) */
export function findLeaks(dataDir, sandboxIds = []) {
  const leaks = [];
  for (const pid of readdirSync('/proc').filter((p) => /^\d+$/.test(p))) {
    let cmdline = '';
    try {
      cmdline = readFileSync(`/proc/${pid}/cmdline`, 'utf8').replaceAll('\0', ' ');
    } catch {
      continue; // exited meanwhile
    }
    if (!/qemu-system|virtiofsd/.test(cmdline)) continue;
    if (cmdline.includes(dataDir) || sandboxIds.some((id) => cmdline.includes(id))) {
      leaks.push(`process ${pid}: ${cmdline.slice(0, 200)}`);
    }
  }
  const sandboxesDir = join(dataDir, 'node', 'sandboxes');
  if (existsSync(sandboxesDir)) {
    for (const id of readdirSync(sandboxesDir)) {
      if (sandboxIds.length === 0 || sandboxIds.includes(id)) leaks.push(`sandbox dir ${join(sandboxesDir, id)}`);
    }
  }
  for (const id of sandboxIds) {
    if (existsSync(join('/run/moat', id))) leaks.push(`run dir /run/moat/${id}`);
  }
  for (const line of readFileSync('/proc/mounts', 'utf8').split('\n')) {
    if (line.includes(dataDir) || sandboxIds.some((id) => line.includes(id))) leaks.push(`mount ${line}`);
  }
  return leaks;
}
