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

  it('drain --mode migrate or replace sends the mode; without it the request has no body', async () => {
    const api = new FakeApi().reply('POST /v1/nodes/n-1/drain', { status: 200, body: nodeOf({ id: 'n-1', state: 'draining' }) });
    for (const mode of ['migrate', 'replace']) {
      const run = await runMoat(['node', 'drain', 'n-1', '--mode', mode], { api });
      expect(run.exitCode).toBe(ExitCode.OK);
      expect(run.stdout).toMatch(/STATE: +draining\n/);
    }
    expect(api.seen.map((r) => r.body)).toEqual([{ mode: 'migrate' }, { mode: 'replace' }]);
    const wrong = await runMoat(['node', 'drain', 'n-1', '--mode', 'live'], { api });
    expect(wrong.exitCode).toBe(ExitCode.USAGE);
    expect(api.seen).toHaveLength(2);
  });

  it('ls and get show the nodes', async () => {
    const api = new FakeApi().reply('GET /v1/nodes', { status: 200, body: [nodeOf({ id: 'n-1', name: 'alpha' })] }).reply('GET /v1/nodes/n-1', { status: 200, body: nodeOf({ id: 'n-1', name: 'alpha' }) });
    expect((await runMoat(['node', 'ls'], { api })).stdout).toMatch(/n-1 +alpha +ready/);
    expect((await runMoat(['node', 'get', 'n-1'], { api })).stdout).toMatch(/^ID: +n-1\nNAME: +alpha\n/);
  });
});
