import { describe, expect, it } from '@jest/globals';
import type { DesiredState } from '@moat/proto';
import type { Repository } from 'typeorm';
import type { TenantNetworksRepository } from '../networks/tenant-networks.repository';
import type { NodesService } from '../nodes/nodes.service';
import type { SandboxAnnouncer } from '../sandboxes/announce/sandbox.announcer';
import type { SandboxEntity } from '../sandboxes/model/sandbox.entity';
import type { SchedulerService } from '../scheduler/scheduler.service';
import type { AgentChannel } from './agent.channel';
import { DesiredStatePublisher } from './desired-state.publisher';

const NODE = 'node-1';

/** A sandbox as the desired-set read selects it, placed on NODE, without an address (no tenant network). */
function placed(id: string): Partial<SandboxEntity> {
  return {
    id,
    nodeId: NODE,
    tenantId: 'tenant-1',
    vcpus: 1,
    memoryMiB: 256,
    env: {},
    labels: {},
    network: false,
    ports: [],
    restartCount: 0,
    address: null,
    desiredHibernated: false,
    movingTo: null,
    liveMove: false,
    idleTimeoutSeconds: null,
    forkedFrom: null,
    forkId: null,
    forkCount: null,
  };
}

/**
 * A publisher over an in-memory table whose reads take what the table holds when they start; the
 * first read returns only once `releaseFirstRead` is called (a slow read, as a busy database gives).
 */
function publisherOverSlowTable() {
  const table: Partial<SandboxEntity>[] = [];
  let releaseFirstRead = (): void => undefined;
  const firstReadReleased = new Promise<void>((resolve) => (releaseFirstRead = resolve));
  let reads = 0;
  const sandboxes = {
    manager: {},
    find: async () => {
      const rows = [...table];
      if (++reads === 1) await firstReadReleased;
      return rows;
    },
  } as unknown as Repository<SandboxEntity>;
  const sent: DesiredState[] = [];
  const agents = {
    pushDesired: (_nodeId: string, state: DesiredState) => {
      sent.push(state);
      return Promise.resolve();
    },
    pushTenantPeers: () => undefined,
  } as unknown as AgentChannel;
  const nodes = { addressesOf: () => Promise.resolve(new Map()), announceMany: () => Promise.resolve() } as unknown as NodesService;
  const networks = { networksOf: () => Promise.resolve(new Map()) } as unknown as TenantNetworksRepository;
  const publisher = new DesiredStatePublisher(sandboxes, agents, {} as SchedulerService, nodes, {} as SandboxAnnouncer, networks);
  return { publisher, table, sent, releaseFirstRead };
}

async function turns(count: number): Promise<void> {
  for (let i = 0; i < count; i += 1) await new Promise((resolve) => setImmediate(resolve));
}

describe('DesiredStatePublisher', () => {
  it('never sends a node a set read before the one it last sent (a hello racing a placement)', async () => {
    const { publisher, table, sent, releaseFirstRead } = publisherOverSlowTable();
    // The node says hello: its set is read while it holds nothing, and the read is slow.
    const hello = publisher.publish([NODE], { withPeers: true });
    await turns(2);
    // Meanwhile a sandbox is placed on it and published.
    table.push(placed('sandbox-1'));
    const placement = publisher.publish([NODE]);
    await turns(20);
    releaseFirstRead();
    await Promise.all([hello, placement]);

    expect(sent.length).toBeGreaterThan(0);
    expect(sent.at(-1)?.sandboxes.map((sandbox) => sandbox.id)).toEqual(['sandbox-1']);
  });

  it('publishes nodes asked for while a pass runs together in the next pass', async () => {
    const { publisher, sent, releaseFirstRead } = publisherOverSlowTable();
    const first = publisher.publish([NODE]);
    await turns(2);
    const later = [publisher.publish([NODE]), publisher.publish([NODE], { withPeers: true })];
    releaseFirstRead();
    await Promise.all([first, ...later]);

    expect(sent).toHaveLength(2);
  });
});
