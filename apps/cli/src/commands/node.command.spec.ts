import { describe, expect, it } from '@jest/globals';
import { FakeApi, nodeOf } from '@moat/sdk/testing';
import { ExitCode } from '../errors/exit-codes';
import { runMoat } from '../testing/run-cli';

describe('moat node', () => {
  it.each([
    ['cordon', 'cordoned'],
    ['uncordon', 'ready'],
    ['drain', 'draining'],
  ] as const)('%s posts to the node and shows its new state', async (change, state) => {
    const api = new FakeApi().reply(`POST /v1/nodes/n-1/${change}`, { status: 200, body: nodeOf({ id: 'n-1', state }) });
    const run = await runMoat(['node', change, 'n-1'], { api });
    expect(run.exitCode).toBe(ExitCode.OK);
    expect(api.seen.map((r) => `${r.method} ${r.path}`)).toEqual([`POST /v1/nodes/n-1/${change}`]);
    expect(run.stdout).toMatch(new RegExp(`STATE: +${state}\\n`));
  });
});
