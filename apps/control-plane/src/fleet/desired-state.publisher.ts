import { Injectable, OnModuleInit } from '@nestjs/common';
import { InjectRepository } from '@nestjs/typeorm';
import { MAX_TENANT_PEERS, type DesiredSandbox } from '@moat/proto';
import { FindOptionsSelect, Repository } from 'typeorm';
import { Batcher } from '../common/batcher';
import { chunksServingTheLoop, IN_LIST_CHUNK } from '../common/chunks';
import { yieldToEventLoop } from '../common/yield';
import { TenantNetworksRepository } from '../networks/tenant-networks.repository';
import { NodesService } from '../nodes/nodes.service';
import { SandboxAnnouncer } from '../sandboxes/announce/sandbox.announcer';
import { forkOf } from '../sandboxes/model/fork';
import { SandboxEntity } from '../sandboxes/model/sandbox.entity';
import { SchedulerService } from '../scheduler/scheduler.service';
import { AgentChannel } from './agent.channel';
import { loadTenantMembers, memberAddresses, PublishedMembers, tenantPlanFor } from './tenant-members';
import { onNodes, wantedSandboxes } from './wanted-sandboxes';

/**
 * Sends node agents their desired sets: each node always gets the full set of sandboxes it
 * should run (level-triggered; it stops whatever is not in it), read for many nodes at once.
 * Scheduler commits are heard here: what they admitted, placed or explained goes to dashboards, and
 * the nodes that got sandboxes get their new sets.
 *
 * Publishing runs in passes, one at a time, each taking every node asked for since the last
 * began. A set read earlier is therefore never queued to a node after one read later: a node
 * told an older set would stop (and report gone) a sandbox it had just been given.
 */
@Injectable()
export class DesiredStatePublisher implements OnModuleInit {
  private readonly members = new PublishedMembers();
  private readonly passes = new Batcher<PublishRequest>((requests) => this.publishPass(requests));

  constructor(
    @InjectRepository(SandboxEntity) private readonly sandboxes: Repository<SandboxEntity>,
    private readonly agents: AgentChannel,
    private readonly scheduler: SchedulerService,
    private readonly nodes: NodesService,
    private readonly announcer: SandboxAnnouncer,
    private readonly networks: TenantNetworksRepository,
  ) {}

  onModuleInit(): void {
    this.scheduler.onCommit(async ({ admitted, placed, explained }) => {
      const announced = new Set<string>();
      for (const sandbox of [...admitted, ...placed, ...explained]) {
        if (announced.has(sandbox.id)) continue;
        announced.add(sandbox.id);
        this.announcer.updated(sandbox);
      }
      await this.nodesChanged(placed.flatMap((s) => (s.nodeId ? [s.nodeId] : [])));
    });
  }

  /**
   * Sends each node its full desired set and refreshes them on dashboards, reading all of
   * them at once (a rollout touches hundreds of nodes in one pass).
   */
  async nodesChanged(nodeIds: readonly string[]): Promise<void> {
    const unique = [...new Set(nodeIds)];
    if (unique.length === 0) return;
    await this.publish(unique);
    await this.nodes.announceMany(unique);
  }

  /**
   * Sends each node its full desired set, reading all of them at once, with the networks of the
   * tenants among its sandboxes; then tells the other nodes of any tenant whose set of nodes
   * changed its new peers, in one message (see PublishedMembers): their own sandboxes did not
   * change, so their sets are not read or sent again. A tenant's peers go in a desired set only
   * to a node whose sandboxes changed it, or that just said hello (`withPeers`): a node keeps the
   * peers it was last told on its connection, and a tenant on thousands of nodes would otherwise
   * make every desired set of each of them thousands of addresses long. Resolves once the pass
   * that took these nodes queued their desired sets and the peer updates, and the sets went out
   * (a command sent after it finds them there).
   */
  async publish(nodeIds: readonly string[], { withPeers = false }: { withPeers?: boolean } = {}): Promise<void> {
    if (nodeIds.length === 0) return;
    await this.passes.add({ nodeIds, withPeers });
  }

  /** One publishing pass for every request gathered since the last one began. */
  private async publishPass(requests: readonly PublishRequest[]): Promise<void> {
    const published = new Set(requests.flatMap((request) => request.nodeIds));
    const greeted = new Set(requests.flatMap((request) => (request.withPeers ? request.nodeIds : [])));
    for (const { tenantId, nodes, peers } of await this.publishSets([...published], greeted)) {
      this.agents.pushTenantPeers(nodes.filter((id) => !published.has(id)), { tenantId, peers });
    }
  }

  /**
   * Sends these nodes their desired sets, with the peers of every tenant whose set of nodes
   * changed, and the peers of all their tenants to the nodes that said hello (`greeted`);
   * returns the changed tenants, their nodes and peers.
   */
  private async publishSets(nodeIds: readonly string[], greeted: ReadonlySet<string>): Promise<ChangedTenant[]> {
    const sandboxes: Pick<SandboxEntity, keyof typeof DESIRED_COLUMNS>[] = [];
    // A pass after a fleet-wide event holds thousands of nodes: the loop serves the API between their reads.
    for await (const chunk of chunksServingTheLoop(nodeIds, IN_LIST_CHUNK)) {
      sandboxes.push(...(await this.sandboxes.find({ select: DESIRED_COLUMNS, where: wantedSandboxes(onNodes(chunk)), order: { createdAt: 'ASC' } })));
    }
    const byNode = new Map<string, { sandboxes: DesiredSandbox[]; tenants: Set<string> }>(nodeIds.map((id) => [id, { sandboxes: [], tenants: new Set() }]));
    for (const sandbox of sandboxes) {
      const desired = byNode.get(sandbox.nodeId as string);
      desired?.sandboxes.push(toDesired(sandbox));
      if (sandbox.address !== null) desired?.tenants.add(sandbox.tenantId);
    }
    const held = new Map([...byNode].map(([id, desired]) => [id, desired.tenants]));
    const tenantIds = [...new Set([...[...held.values()].flatMap((tenants) => [...tenants]), ...this.members.tenantsOf(nodeIds)])];
    const greetedTenants = new Set([...greeted].flatMap((id) => [...(held.get(id) ?? [])]));
    const manager = this.sandboxes.manager;
    // Each read below can take tens of milliseconds for a fleet: the loop serves the API in between.
    await yieldToEventLoop();
    const networks = await this.networks.networksOf(manager, tenantIds);
    // A tenant's set of nodes is read again only when it may have changed (one of these nodes
    // took it up or gave it up, or it is not known yet), or when one of its nodes said hello (its address may be new).
    const stale = [...networks.keys()].filter((tenantId) => greetedTenants.has(tenantId) || this.members.mayHaveChanged(tenantId, held));
    await yieldToEventLoop();
    const members = await loadTenantMembers(manager, stale);
    await yieldToEventLoop();
    const addresses = await this.nodes.addressesOf([...nodeIds, ...[...members.values()].flat()]);
    await yieldToEventLoop();
    const changed: ChangedTenant[] = [];
    const tenantAddresses = new Map<string, string[]>();
    for (const [tenantId, nodes] of members) {
      const isChanged = this.members.update(tenantId, nodes, addresses);
      if (!isChanged && !greetedTenants.has(tenantId)) continue;
      const all = memberAddresses(nodes, addresses);
      tenantAddresses.set(tenantId, all);
      if (isChanged) changed.push({ tenantId, nodes, peers: all.slice(0, MAX_TENANT_PEERS) });
    }
    const changedIds = new Set(changed.map((tenant) => tenant.tenantId));

    const sent = [...byNode].map(([id, desired]) => {
      const underlayAddress = addresses.get(id);
      const plans = [...desired.tenants].flatMap((tenantId) => {
        const network = networks.get(tenantId);
        const peers = greeted.has(id) || changedIds.has(tenantId) ? tenantAddresses.get(tenantId) : undefined;
        return network ? [tenantPlanFor(network, underlayAddress, peers)] : [];
      });
      return this.agents.pushDesired(id, { sandboxes: desired.sandboxes, networks: plans, ...(underlayAddress ? { underlayAddress } : {}) });
    });
    await Promise.all(sent);
    return changed;
  }
}

/** Nodes to publish, and whether they just said hello (their tenants' peers go with their sets). */
interface PublishRequest {
  nodeIds: readonly string[];
  withPeers: boolean;
}

/** A tenant whose set of nodes changed: its nodes now and their underlay addresses. */
interface ChangedTenant {
  tenantId: string;
  nodes: readonly string[];
  peers: string[];
}

/** The columns a desired set is made of (a full row carries timings, errors and more for nothing). */
const DESIRED_COLUMNS = {
  id: true,
  nodeId: true,
  tenantId: true,
  vcpus: true,
  memoryMiB: true,
  image: true,
  command: true,
  rootfs: true,
  env: true,
  labels: true,
  network: true,
  networkModel: true,
  ports: true,
  egress: true,
  dns: true,
  restartCount: true,
  address: true,
  desiredHibernated: true,
  movingTo: true,
  liveMove: true,
  idleTimeoutSeconds: true,
  forkedFrom: true,
  forkId: true,
  forkCount: true,
  createdAt: true,
} satisfies FindOptionsSelect<SandboxEntity>;

function toDesired(sandbox: Pick<SandboxEntity, keyof typeof DESIRED_COLUMNS>): DesiredSandbox {
  const fork = forkOf(sandbox);
  return {
    id: sandbox.id,
    vcpus: sandbox.vcpus,
    memoryMiB: sandbox.memoryMiB,
    ...(sandbox.image ? { image: sandbox.image } : {}),
    ...(sandbox.command ? { command: sandbox.command } : {}),
    ...(sandbox.rootfs ? { rootfs: sandbox.rootfs } : {}),
    env: sandbox.env,
    labels: sandbox.labels,
    tenantId: sandbox.tenantId,
    network: sandbox.network,
    ...(sandbox.networkModel ? { networkModel: sandbox.networkModel } : {}),
    ports: sandbox.ports,
    ...(sandbox.egress ? { egress: sandbox.egress } : {}),
    ...(sandbox.dns ? { dns: sandbox.dns } : {}),
    restartCount: sandbox.restartCount,
    ...(sandbox.address ? { address: sandbox.address } : {}),
    // Its node keeps it hibernated while its saved state moves to another node (not while its
    // running VM is live-migrated: it runs there until the target runs it).
    ...(sandbox.desiredHibernated || (sandbox.movingTo !== null && !sandbox.liveMove) ? { hibernated: true } : {}),
    ...(sandbox.idleTimeoutSeconds !== null ? { idleTimeoutSeconds: sandbox.idleTimeoutSeconds } : {}),
    ...(fork ? { forkOf: fork } : {}),
  };
}
