import { spawnSync } from 'node:child_process';
import { describe, expect, it } from '@jest/globals';
import { ipScript, shellWord } from './ip-script';

describe('ipScript', () => {
  it('runs each command as ip with its words, stopping at the first failure', () => {
    expect(ipScript([['link', 'set', 'dev', 'eth0', 'up'], ['addr', 'flush', 'dev', 'eth0']])).toBe(
      "set -e\n'ip' 'link' 'set' 'dev' 'eth0' 'up'\n'ip' 'addr' 'flush' 'dev' 'eth0'",
    );
  });

  it('quotes words so that a real shell reads them back exactly', () => {
    const words = ["it's", '$(reboot)', 'a b', '`x`', '"q"', '\\', ''];
    const printed = spawnSync('sh', ['-c', `printf '%s\\n' ${words.map(shellWord).join(' ')}`], { encoding: 'utf8' });
    expect(printed.stdout.split('\n').slice(0, -1)).toEqual(words);
  });
});
