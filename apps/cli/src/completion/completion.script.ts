import type { Command } from 'commander';

export const SHELLS = ['bash', 'zsh'] as const;
export type Shell = (typeof SHELLS)[number];

/** A command's path below the program (`sandbox create`) and the words that may follow it. */
interface CompletionEntry {
  path: string;
  words: string[];
}

/**
 * The completion script of `program` for `shell`, made from its command tree, so it never
 * lists a command the CLI lacks. zsh runs the bash one through bashcompinit.
 */
export function completionScript(program: Command, shell: Shell): string {
  const name = program.name();
  const fn = `_${name.replace(/\W/g, '_')}_completion`;
  // Deepest paths first: `case` takes the first pattern that matches the words typed so far.
  const entries = entriesOf(program, []).sort((a, b) => b.path.split(' ').length - a.path.split(' ').length);
  const cases = entries.map(({ path, words }) => `    ${path ? `"${path}"*` : '*'}) words="${words.join(' ')}" ;;`).join('\n');
  const bash = `# ${name} completion for ${shell}: eval "$(${name} completion ${shell})"
${fn}() {
  local cur="\${COMP_WORDS[COMP_CWORD]}" path="" word words
  for word in "\${COMP_WORDS[@]:1:COMP_CWORD-1}"; do
    case "$word" in -*) ;; *) path="\${path:+$path }$word" ;; esac
  done
  case "$path" in
${cases}
  esac
  COMPREPLY=( $(compgen -W "$words" -- "$cur") )
}
complete -F ${fn} ${name}
`;
  switch (shell) {
    case 'bash':
      return bash;
    case 'zsh':
      return `autoload -U +X compinit && compinit\nautoload -U +X bashcompinit && bashcompinit\n${bash}`;
  }
}

function entriesOf(command: Command, path: string[]): CompletionEntry[] {
  const flags = command.options.flatMap((option) => (option.long ? [option.long] : []));
  const words = [...command.commands.map((sub) => sub.name()), ...flags, '--help'];
  return [{ path: path.join(' '), words }, ...command.commands.flatMap((sub) => entriesOf(sub, [...path, sub.name()]))];
}
