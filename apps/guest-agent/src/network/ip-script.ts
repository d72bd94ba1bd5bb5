/**
 * Several `ip` commands as one shell script that stops at the first failure, so a request
 * costs the agent one child instead of one per command (each child of the agent cost about
 * 50 ms under TCG; the shell's own are cheaper). Every word is quoted, whatever it holds.
 */
export function ipScript(commands: readonly (readonly string[])[]): string {
  return ['set -e', ...commands.map((args) => ['ip', ...args].map(shellWord).join(' '))].join('\n');
}

/** A word the shell reads back exactly: single quotes, and each `'` inside written as `'\''`. */
export function shellWord(word: string): string {
  return `'${word.replace(/'/g, `'\\''`)}'`;
}
