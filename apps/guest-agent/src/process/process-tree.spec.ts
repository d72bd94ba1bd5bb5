import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import { describe, expect, it } from '@jest/globals';
import { eventually } from '@moat/test-support';
import { descendantsOf, killTree, procParentTable } from './process-tree';

describe('descendantsOf', () => {
  it('walks the whole tree below a pid, parents first, and nothing else', () => {
    const parents = new Map([
      [10, 1],
      [11, 10],
      [12, 11],
      [13, 10],
      [20, 1],
    ]);
    expect(descendantsOf(10, parents)).toEqual([10, 11, 13, 12]);
    expect(descendantsOf(12, parents)).toEqual([12]);
  });
});

describe('killTree', () => {
  it('kills a shell and the background children it started', async () => {
    const shell = spawn('sh', ['-c', 'sleep 300 & sleep 301 & echo started; wait'], { stdio: ['ignore', 'pipe', 'ignore'] });
    await once(shell.stdout, 'data');
    const pid = shell.pid as number;
    const exited = once(shell, 'exit');
    await killTree(pid);
    const [, signal] = await exited;
    expect(signal).toBe('SIGKILL');
    // The sleeps were the shell's children; none may be left, reparented or not. A SIGKILLed
    // process dies a moment after kill() returns (on a loaded host, a visible one).
    const survivors = async () =>
      [...(await procParentTable()).keys()].filter((p) => {
        try {
          return readFileSync(`/proc/${p}/cmdline`, 'utf8').startsWith('sleep\u0000300');
        } catch {
          return false;
        }
      });
    await eventually(async () => expect(await survivors()).toEqual([]), { timeout: 5_000, interval: 50 });
  });
});
