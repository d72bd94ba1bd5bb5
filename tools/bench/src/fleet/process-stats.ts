import { readFileSync } from 'node:fs';

/** Linux reports process CPU time in clock ticks; USER_HZ is 100 on every mainstream kernel. */
const CLOCK_TICKS_PER_SECOND = 100;

/** CPU seconds (user + system) a process has used, from `/proc/<pid>/stat` text. */
export function cpuSecondsFromStat(stat: string): number {
  // The command name (field 2) may contain spaces and parentheses: parse after its last ')'.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  // utime and stime are fields 14 and 15 of the whole line, so 12 and 13 after the name.
  return (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS_PER_SECOND;
}

/** Resident memory in bytes, from `/proc/<pid>/status` text. */
export function rssBytesFromStatus(status: string): number {
  const match = /^VmRSS:\s+(\d+) kB$/m.exec(status);
  if (!match) throw new Error('no VmRSS in /proc status');
  return Number(match[1]) * 1024;
}

/** A process's CPU time and resident memory right now. */
export function sampleProcess(pid: number): { cpuSeconds: number; rssBytes: number } {
  return {
    cpuSeconds: cpuSecondsFromStat(readFileSync(`/proc/${pid}/stat`, 'utf8')),
    rssBytes: rssBytesFromStatus(readFileSync(`/proc/${pid}/status`, 'utf8')),
  };
}
