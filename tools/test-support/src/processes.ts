import { readdirSync, readFileSync } from 'node:fs';

/** The processes (other than this one) whose command line mentions `needle`, as `pid: argv` (argv cut at 120 characters). */
export function processesMentioning(needle: string): string[] {
  const found: string[] = [];
  for (const pid of readdirSync('/proc').filter((name) => /^\d+$/.test(name))) {
    if (Number(pid) === process.pid) continue;
    try {
      const argv = readFileSync(`/proc/${pid}/cmdline`, 'utf8');
      if (argv.includes(needle)) found.push(`${pid}: ${argv.replaceAll('\0', ' ').slice(0, 120)}`);
    } catch {
      // Exited while we looked.
    }
  }
  return found;
}
