import type { DesiredState } from '@moat/proto';
import { describe, expect, it } from '@jest/globals';
import type { Repository } from 'typeorm';
import type { NodesService } from '../nodes/nodes.service';
import type { SandboxAnnouncer } from '../sandboxes/announce/sandbox.announcer';
import type { SandboxEntity } from '../sandboxes/model/sandbox.entity';
import type { SchedulerService } from '../scheduler/scheduler.service';
import type { AgentChannel } from './agent.channel';
import { DesiredStatePublisher } from './desired-state.publisher';

const row = (id: string, nodeId: string): Partial<SandboxEntity> => ({
  id,
  nodeId,
  tenantId: 't1',
  vcpus: 1,
  memoryMiB: 128,
  env: {},
  labels: {},
  network: true,
  ports: [],
  restartCount: 0,
});

describe('DesiredStatePublisher', () => {
  it('never sends a node a set read before the one it was sent last, even when the older read answers last', async () => {
    // The first read is slow (say, a busy database); the second answers at once.
    let answerFirst: (rows: Partial<SandboxEntity>[]) => void = () => undefined;
    const reads = [
      new Promise<Partial<SandboxEntity>[]>((resolve) => (answerFirst = resolve)),
      Promise.resolve([row('s1', 'n1'), row('s2', 'n1')]),
    ];
    const sandboxes = { find: () => reads.shift() } as unknown as Repository<SandboxEntity>;
    const sent: { nodeId: string; ids: string[] }[] = [];
    const agents = {
      pushDesired: (nodeId: string, state: DesiredState) => sent.push({ nodeId, ids: state.sandboxes.map((s) => s.id) }),
    } as unknown as AgentChannel;
    const publisher = new DesiredStatePublisher(
      sandboxes,
      agents,
      {} as SchedulerService,
      {} as NodesService,
      {} as SandboxAnnouncer,
    );

    const older = publisher.publish(['n1']);
    const newer = publisher.publish(['n1']);
    await new Promise((resolve) => setImmediate(resolve));
    answerFirst([row('s1', 'n1')]);
    await Promise.all([older, newer]);

    // The older set is not sent after the newer one: the node would stop s2.
    expect(sent).toEqual([{ nodeId: 'n1', ids: ['s1', 's2'] }]);
  });
});
