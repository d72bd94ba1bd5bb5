import { execFileSync } from 'node:child_process';
import { describe, expect, it } from '@jest/globals';
import { ExitCode } from '../errors/exit-codes';
import { runMoat } from '../testing/run-cli';

/** What bash completes after `line` with the script `moat completion bash` printed. */
function bashCompletes(script: string, line: string): string[] {
  const words = line.split(' ');
  const program = `${script}\nCOMP_WORDS=(${words.map((w) => `'${w}'`).join(' ')}); COMP_CWORD=${words.length - 1}; _moat_completion; echo "\${COMPREPLY[*]}"`;
  return execFileSync('bash', ['-c', program], { encoding: 'utf8' }).trim().split(' ');
}

describe('moat completion', () => {
  it('bash completes commands, subcommands and their options', async () => {
    const run = await runMoat(['completion', 'bash']);
    expect(run.exitCode).toBe(ExitCode.OK);
    expect(bashCompletes(run.stdout, 'moat ro')).toEqual(['rollout']);
    expect(bashCompletes(run.stdout, 'moat sandbox ')).toEqual(['create', 'ls', 'get', 'rm', 'hibernate', 'wake', 'fork', 'migrate', '--help']);
    expect(bashCompletes(run.stdout, 'moat rollout status ro-1 --w')).toEqual(['--watch']);
    expect(bashCompletes(run.stdout, 'moat -o json node c')).toEqual(['cordon']);
    expect(bashCompletes(run.stdout, 'moat node drain n-1 --m')).toEqual(['--mode']);
    expect(bashCompletes(run.stdout, 'moat attach sb-1 --d')).toEqual(['--detach-keys']);
    expect(bashCompletes(run.stdout, 'moat logs sb-1 --f')).toEqual(['--follow']);
  });

  it('zsh loads the same completion through bashcompinit', async () => {
    const run = await runMoat(['completion', 'zsh']);
    expect(run.stdout).toContain('bashcompinit');
    expect(run.stdout).toContain('complete -F _moat_completion moat');
  });

  it('refuses another shell, exit 2', async () => {
    expect((await runMoat(['completion', 'fish'])).exitCode).toBe(ExitCode.USAGE);
  });
});
