import { describe, expect, it } from '@jest/globals';
import { FakeApi } from '@moat/sdk/testing';
import { ExitCode } from '../errors/exit-codes';
import { runMoat } from '../testing/run-cli';

describe('moat deploy create', () => {
  const deployment = {
    id: 'dep-1',
    name: 'web',
    tenantId: 't-1',
    templateId: 'tpl-1',
    templateVersion: 2,
    replicas: 3,
    perNode: false,
    nodeSelector: { zone: 'a' },
    strategy: { type: 'canary', canaryReplicas: 1 },
    state: 'active',
    counts: { desired: 3, running: 0, healthy: 0, unhealthy: 0 },
    currentRolloutId: null,
    createdAt: '2026-12-06T00:00:00.000Z',
  };

  it('sends the template, version, replicas, selector and strategy the flags say', async () => {
    const api = new FakeApi().reply('POST /v1/deployments', { status: 201, body: deployment });
    const run = await runMoat(
      ['deploy', 'create', '--template', 'tpl-1', '--version', '2', '--replicas', '3', '--selector', 'zone=a', '--strategy', 'canary', '--canary-replicas', '1'],
      { api },
    );
    expect(run.exitCode).toBe(ExitCode.OK);
    expect(api.seen[0].body).toEqual({ templateId: 'tpl-1', templateVersion: 2, replicas: 3, nodeSelector: { zone: 'a' }, strategy: { type: 'canary', canaryReplicas: 1 } });
    expect(run.stdout).toMatch(/TEMPLATE: +tpl-1@2\n/);
  });

  it('rolls out with the rolling strategy by default, and refuses an unknown one', async () => {
    const api = new FakeApi().reply('POST /v1/deployments', { status: 201, body: deployment });
    await runMoat(['deploy', 'create', '--template', 'tpl-1', '--per-node'], { api });
    expect(api.seen[0].body).toEqual({ templateId: 'tpl-1', perNode: true, strategy: { type: 'rolling' } });
    expect((await runMoat(['deploy', 'create', '--template', 'tpl-1', '--strategy', 'yolo'], { api })).exitCode).toBe(ExitCode.USAGE);
  });
});
