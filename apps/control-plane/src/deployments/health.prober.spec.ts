import type { ExecRequest, ExecResult } from '@moat/proto';
import { describe, expect, it } from '@jest/globals';
import type { AgentChannel } from '../fleet/agent.channel';
import { HealthProber, type ProbeTarget } from './health.prober';

/** An exec relay whose answers the test decides: an exit code, or a thrown relay error. */
function relay(answer: (request: ExecRequest) => number | Error): { channel: AgentChannel; requests: ExecRequest[] } {
  const requests: ExecRequest[] = [];
  const channel = {
    exec: (_nodeId: string, request: ExecRequest): Promise<ExecResult> => {
      requests.push(request);
      const outcome = answer(request);
      return outcome instanceof Error ? Promise.reject(outcome) : Promise.resolve({ exitCode: outcome, stdout: '', stderr: '' });
    },
  } as unknown as AgentChannel;
  return { channel, requests };
}

const target = (command: string[]): ProbeTarget => ({
  sandboxId: 's1',
  nodeId: 'n1',
  check: { command, intervalMs: 1_000, timeoutMs: 500, failureThreshold: 2 },
});
const settle = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

describe('HealthProber', () => {
  it('runs the check in the sandbox and reports healthy after one success', async () => {
    const { channel, requests } = relay(() => 0);
    const prober = new HealthProber(channel);
    prober.schedule([target(['test', '-f', '/ready'])], 10_000);
    await settle();
    // A probe: not a use that keeps the sandbox from going idle.
    expect(requests).toEqual([{ sandboxId: 's1', command: ['test', '-f', '/ready'], timeoutMs: 500, probe: true }]);
    expect(prober.takeVerdicts()).toEqual(new Map([['s1', 'healthy']]));
    expect(prober.takeVerdicts()).toEqual(new Map());
  });

  it('reports unhealthy only after failureThreshold failures in a row, relay errors included', async () => {
    let calls = 0;
    const { channel } = relay(() => ((calls += 1) === 1 ? 1 : new Error('node unavailable')));
    const prober = new HealthProber(channel);
    prober.schedule([target(['false'])], 10_000);
    await settle();
    expect(prober.takeVerdicts()).toEqual(new Map());
    prober.schedule([target(['false'])], 11_000);
    await settle();
    expect(prober.takeVerdicts()).toEqual(new Map([['s1', 'unhealthy']]));
  });

  it('waits intervalMs between probes of one sandbox', async () => {
    const { channel, requests } = relay(() => 0);
    const prober = new HealthProber(channel);
    prober.schedule([target(['true'])], 10_000);
    await settle();
    prober.schedule([target(['true'])], 10_500);
    await settle();
    expect(requests).toHaveLength(1);
    prober.schedule([target(['true'])], 11_000);
    await settle();
    expect(requests).toHaveLength(2);
  });
});
