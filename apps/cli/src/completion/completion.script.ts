import type { Command } from 'commander';

export const SHELLS = ['bash', 'zsh'] as const;
export type Shell = (typeof SHELLS)[number];

/** A command's path below the program (`sandbox create`) and the words that may follow it. */
interface CompletionEntry {
  path: string[];
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
  const entries = entriesOf(program, []).sort((a, b) => b.path.length - a.path.length);
  const cases = entries.map(({ path, words }) => `    ${path.length ? `"${path.join(' ')}"*` : '*'}) words="${words.join(' ')}" ;;`).join('\n');
  // The words typed so far make the path, but for options and the values of those that take one.
  const valueFlags = [...new Set(valueFlagsOf(program))].join('|');
  const bash = `# ${name} completion for ${shell}: eval "$(${name} completion ${shell})"
${fn}() {
  local cur="\${COMP_WORDS[COMP_CWORD]}" path="" word words skip=""
  for word in "\${COMP_WORDS[@]:1:COMP_CWORD-1}"; do
    if [ -n "$skip" ]; then skip=""; continue; fi
    case "$word" in ${valueFlags}) skip=1 ;; -*) ;; *) path="\${path:+$path }$word" ;; esac
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
  return [{ path, words }, ...command.commands.flatMap((sub) => entriesOf(sub, [...path, sub.name()]))];
}

/** The flags, short and long, of every option that takes a value. */
function valueFlagsOf(command: Command): string[] {
  const own = command.options.filter((option) => option.required || option.optional).flatMap((option) => [option.short, option.long].filter((flag) => flag !== undefined));
  return [...own, ...command.commands.flatMap(valueFlagsOf)];
}
