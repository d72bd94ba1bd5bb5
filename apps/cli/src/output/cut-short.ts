/** Says on stderr why a remote command was cut short, if it was (moat exec, moat attach). */
export function noteCutShort({ timedOut, oomKilled }: { timedOut?: boolean; oomKilled?: boolean }, stderr: (text: string) => void): void {
  if (timedOut) stderr(`moat: the command timed out\n`);
  if (oomKilled) stderr(`moat: the command was killed: out of memory\n`);
}
