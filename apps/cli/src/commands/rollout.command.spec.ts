import { describe, expect, it } from '@jest/globals';
import type { Rollout } from '@moat/sdk';
import { FakeApi } from '@moat/sdk/testing';
import { ExitCode } from '../errors/exit-codes';
import { runMoat } from '../testing/run-cli';

function rolloutOf(overrides: Partial<Rollout>): Rollout {
  return {
    id: 'ro-1',
    deploymentId: 'dep-1',
    fromVersion: 1,
    toVersion: 2,
    strategy: { type: 'rolling' },
    state: 'progressing',
    steps: [
      { index: 0, name: 'replace 1', state: 'running', startedAt: '2026-12-06T00:00:00.000Z', finishedAt: null },
      { index: 1, name: 'replace 2', state: 'pending', startedAt: null, finishedAt: null },
    ],
    progress: { old: 2, new: 1, healthy: 0, unavailable: 1, desired: 2 },
    reason: null,
    createdAt: '2026-12-06T00:00:00.000Z',
    finishedAt: null,
    ...overrides,
  };
}

const halfway = rolloutOf({});
const completed = rolloutOf({
  state: 'completed',
  steps: halfway.steps.map((step) => ({ ...step, state: 'done' })),
  progress: { old: 0, new: 2, healthy: 2, unavailable: 0, desired: 2 },
  finishedAt: '2026-12-06T00:01:00.000Z',
});

describe('moat rollout', () => {
  it('start posts the version and prints the rollout id', async () => {
    const api = new FakeApi().reply('POST /v1/deployments/dep-1/rollouts', { status: 201, body: { id: 'ro-1' } });
    const run = await runMoat(['rollout', 'start', 'dep-1', '--version', '2'], { api });
    expect(run.exitCode).toBe(ExitCode.OK);
    expect(api.seen[0].body).toEqual({ templateVersion: 2 });
    expect(run.stdout).toContain('ID: ro-1');
  });

  it('status -w shows each change of progress until completed, then exits 0', async () => {
    const api = new FakeApi().reply('GET /v1/rollouts/ro-1', { status: 200, body: halfway }, { status: 200, body: halfway }, { status: 200, body: completed });
    const run = await runMoat(['rollout', 'status', 'ro-1', '-w'], { api });
    expect(run.exitCode).toBe(ExitCode.OK);
    expect(api.seen).toHaveLength(3);
    expect(run.stderr.split('\n')).toEqual([
      'v1→v2 [--------------------] 0/2 healthy · new 1, old 2, unavailable 1 · step 1/2 replace 1 · progressing',
      'v1→v2 [####################] 2/2 healthy · new 2, old 0, unavailable 0 · step 2/2 replace 2 · completed',
      '',
    ]);
    expect(run.stdout).toMatch(/STATE: +completed/);
  });

  it('status -w rewrites one line on a terminal', async () => {
    const api = new FakeApi().reply('GET /v1/rollouts/ro-1', { status: 200, body: halfway }, { status: 200, body: completed });
    const run = await runMoat(['rollout', 'status', 'ro-1', '-w'], { api, isTty: true });
    expect(run.stderr.split('\r\x1b[2K')).toHaveLength(3);
    expect(run.stderr.endsWith('completed\n')).toBe(true);
  });

  it('status -w exits 3 when the rollout is rolled back, and json prints the final rollout', async () => {
    const rolledBack = rolloutOf({ state: 'rolled-back', reason: 'progress deadline exceeded' });
    const api = new FakeApi().reply('GET /v1/rollouts/ro-1', { status: 200, body: halfway }, { status: 200, body: rolledBack });
    const run = await runMoat(['rollout', 'status', 'ro-1', '-w', '-o', 'json'], { api });
    expect(run.exitCode).toBe(ExitCode.WAIT_FAILED);
    expect(JSON.parse(run.stdout)).toEqual(rolledBack);
    expect(run.stderr).toContain('rolled-back (progress deadline exceeded)');
  });

  it('status without -w asks once and exits 0 whatever the state', async () => {
    const api = new FakeApi().reply('GET /v1/rollouts/ro-1', { status: 200, body: rolloutOf({ state: 'failed' }) });
    const run = await runMoat(['rollout', 'status', 'ro-1'], { api });
    expect(run.exitCode).toBe(ExitCode.OK);
    expect(api.seen).toHaveLength(1);
  });

  it.each(['pause', 'resume', 'abort', 'promote'])('%s posts the action', async (action) => {
    const api = new FakeApi().reply(`POST /v1/rollouts/ro-1/${action}`, { status: 200, body: halfway });
    expect((await runMoat(['rollout', action, 'ro-1'], { api })).exitCode).toBe(ExitCode.OK);
    expect(api.seen.map((r) => `${r.method} ${r.path}`)).toEqual([`POST /v1/rollouts/ro-1/${action}`]);
  });
});
