import { Injectable, Logger } from '@nestjs/common';
import { InjectRepository } from '@nestjs/typeorm';
import type { ContainerdSandbox, DrainMode, NodeHello } from '@moat/proto';
import { In, IsNull, LessThan, Not, Repository } from 'typeorm';
import { ErrorCode, ApiError } from '../common/api.error';
import { chunks, chunksServingTheLoop } from '../common/chunks';
import { UiChannel } from '../dashboard/ui.channel';
import { columnValues, hydrate, rawQuery, type RawValue } from '../database/raw-query';
import { Transactions } from '../database/transactions.service';
import { SandboxAnnouncer } from '../sandboxes/announce/sandbox.announcer';
import { EventReason } from '../sandboxes/model/sandbox-events';
import { SandboxesRepository } from '../sandboxes/model/sandboxes.repository';
import { loadAllocations, NOTHING_ALLOCATED } from '../scheduler/allocation';
import { sizingOf } from '../scheduler/node-offer';
import { SchedulerService } from '../scheduler/scheduler.service';
import { NodeLifecycleHooks } from './node-lifecycle.hooks';
import { NodeDto } from './node.dto';
import { NodeEntity, Unschedulable } from './node.entity';
import { underlayAddressOf } from './underlay-address';
import { ContainerdLists, type ContainerdBeats, type ContainerdChange } from './containerd-lists';

/** Rows per `IN (…)` list, well below every database's parameter limit. */
const IN_CHUNK = 500;

/** Rows per multi-row upsert of nodes (15 parameters a row). */
const UPSERT_CHUNK = 200;

/** Every column of a node row, in the order the hello upsert lists them. */
const NODE_COLUMNS = [
  'id',
  'name',
  'state',
  'unschedulable',
  'labels',
  'credentialHash',
  'capacity',
  'sizing',
  'accel',
  'hypervisors',
  'agentVersion',
  'jailed',
  'address',
  'lastHeartbeatAt',
  'createdAt',
] as const;
const UPSERT_NODES = `INSERT INTO "nodes" (${NODE_COLUMNS.map((c) => `"${c}"`).join(', ')}) VALUES`;
/** A known node keeps its labels, cordon, credential and creation time; it is up again. */
const ON_HELLO = `ON CONFLICT ("id") DO UPDATE SET ${['name', 'capacity', 'sizing', 'accel', 'hypervisors', 'agentVersion', 'jailed', 'address', 'lastHeartbeatAt']
  .map((c) => `"${c}" = excluded."${c}"`)
  .join(', ')}, "state" = COALESCE("nodes"."unschedulable", 'ready')`;

/** Nodes: liveness, labels and scheduling state (cordon, drain); joining is NodeJoining's. */
@Injectable()
export class NodesService {
  private readonly logger = new Logger(NodesService.name);
  /** The nodes' containerd lists, as beats report them; a node coming back from down is stored afresh. */
  private readonly containerdLists = new ContainerdLists();

  constructor(
    @InjectRepository(NodeEntity) private readonly nodes: Repository<NodeEntity>,
    private readonly transactions: Transactions,
    private readonly sandboxes: SandboxesRepository,
    private readonly announcer: SandboxAnnouncer,
    private readonly ui: UiChannel,
    private readonly hooks: NodeLifecycleHooks,
    private readonly scheduler: SchedulerService,
  ) {}

  async list(): Promise<NodeDto[]> {
    const nodes = await this.nodes.find({ order: { name: 'ASC' } });
    return this.views(nodes);
  }

  async get(id: string): Promise<NodeDto> {
    const [view] = await this.views([await this.found(id)]);
    return view;
  }

  /**
   * Whether the node is connected (cordoned and draining nodes still run sandboxes; a down
   * node is not, and an unknown one has not said hello to this control plane yet).
   */
  async isUp(id: string): Promise<boolean> {
    return this.nodes.existsBy({ id, state: Not(In(['down', 'unknown'])) });
  }

  /** The underlay addresses of these nodes that have one (see `underlayAddressOf`), read in `IN` lists. */
  async addressesOf(ids: readonly string[]): Promise<Map<string, string>> {
    const addresses = new Map<string, string>();
    for (const chunk of chunks([...new Set(ids)], IN_CHUNK)) {
      const rows = await this.nodes.find({ select: { id: true, address: true }, where: { id: In(chunk), address: Not(IsNull()) } });
      for (const row of rows) if (row.address) addresses.set(row.id, row.address);
    }
    return addresses;
  }

  // ---- liveness ------------------------------------------------------------------------

  /**
   * Records nodes that said hello: new or known, they are up now (ready unless an admin said
   * otherwise). One transaction for all of them, so a fleet reconnecting at once after a
   * control-plane restart, or reporting new capacity together, is registered in a few
   * statements. A node listed twice keeps its last hello. `remoteAddress` is where its
   * connection came from: the underlay address when the hello names none.
   */
  async registerMany(hellos: readonly { id: string; hello: NodeHello; remoteAddress: string | undefined }[]): Promise<void> {
    const latest = [...new Map(hellos.map(({ id, hello, remoteAddress }) => [id, { ...hello, address: underlayAddressOf(hello, remoteAddress) }])).entries()];
    if (latest.length === 0) return;
    for (const [id] of latest) this.containerdLists.forget(id);
    const registered = await this.transactions.run(async (manager) => {
      const now = new Date();
      const rows: NodeEntity[] = [];
      for (const chunk of chunks(latest, UPSERT_CHUNK)) {
        // Written without reading first: what an admin set (labels, cordon) and the credential
        // stay as stored, the rest is the hello's.
        const parameters: Record<string, RawValue> = {};
        const values = chunk.map(([id, hello], i) => {
          const node = this.nodes.create({
            id,
            name: hello.name,
            state: 'ready',
            unschedulable: null,
            labels: {},
            credentialHash: null,
            capacity: hello.capacity,
            sizing: sizingOf(hello),
            accel: hello.accel,
            hypervisors: hello.hypervisors,
            agentVersion: hello.agentVersion,
            jailed: hello.jailed,
            address: hello.address ?? null,
            lastHeartbeatAt: now,
            createdAt: now,
          });
          for (const [column, value] of Object.entries(columnValues(manager, NodeEntity, node, NODE_COLUMNS))) {
            parameters[`${column}${i}`] = value;
          }
          return `(${NODE_COLUMNS.map((column) => `:${column}${i}`).join(', ')})`;
        });
        const stored = await rawQuery<Record<string, unknown>>(manager, `${UPSERT_NODES} ${values.join(', ')} ${ON_HELLO} RETURNING *`, parameters);
        rows.push(...stored.map((row) => hydrate(manager, NodeEntity, row)));
      }
      return { rows, change: await this.scheduler.prepareNodes(manager, rows) };
    });
    this.scheduler.applyNodes(registered.change);
    if (this.ui.watched) for (const view of await this.views(registered.rows)) this.ui.toAdmins('node:updated', view);
  }

  /**
   * At start: every node not down is `unknown` until it says hello (see NODE_STATES), except
   * those `connected` to another replica right now; nothing is placed on them meanwhile. Their
   * sandboxes keep their last known state, but a placed one its node never reported on shows
   * `unknown`, not `pending`: its VM may well run. Liveness is untouched: a node silent past the
   * heartbeat TTL plus grace still goes down (counted from this start at the earliest).
   */
  async markUnknownOnStart(connected: ReadonlySet<string>): Promise<string[]> {
    const marked = await this.transactions.run(async (manager) => {
      const nodes = await manager.find(NodeEntity, { select: { id: true }, where: { state: Not(In(['down', 'unknown'])) } });
      const ids = nodes.map((node) => node.id).filter((id) => !connected.has(id));
      const now = new Date();
      const reason = { code: EventReason.NODE_UNKNOWN, message: 'the control plane restarted and its node has not reconnected yet' };
      for (const chunk of chunks(ids, IN_CHUNK)) {
        await manager.update(NodeEntity, { id: In(chunk), state: Not(In(['down', 'unknown'])) }, { state: 'unknown' });
      }
      await this.sandboxes.markPendingUnknown(manager, ids, reason, now);
      return ids;
    });
    if (marked.length > 0) await this.scheduler.invalidate();
    await this.announceMany(marked);
    return marked;
  }

  /**
   * Notes heartbeats received since the last call (one write for all of them). Nodes that
   * had been marked down (or were unknown since a control-plane start: heartbeats come only
   * from a connection whose hello was registered, maybe by another replica) are up again;
   * their ids are returned as `revived`. A beat that lists containerd sandboxes (older agents
   * list none) replaces the node's stored list when it differs: those nodes are `changed`, and
   * the scheduler counts their new lists from now on. Nodes are written a chunk per transaction;
   * a chunk that fails is logged, its nodes' beats count again with their next heartbeat, and
   * what the other chunks committed is acted on all the same.
   */
  async recordHeartbeats(beats: ContainerdBeats): Promise<{ revived: string[]; containerdChanged: string[] }> {
    const ids = [...beats.keys()];
    const now = new Date();
    const up: string[] = [];
    const changed: ContainerdChange[] = [];
    // In transactions like every other write of node rows: on PostgreSQL an UPDATE of hundreds
    // of rows racing a hello upsert of an overlapping set, each locking in its own order, can
    // deadlock; the transaction queue keeps them apart in this process. One per chunk, with the
    // event loop served in between: a fleet's flush is thousands of nodes, and a transaction on
    // SQLite holds the loop until it commits.
    for await (const chunk of chunksServingTheLoop(ids, IN_CHUNK)) {
      const committed = await this.transactions.run(async (manager) => {
        await manager.update(NodeEntity, { id: In(chunk) }, { lastHeartbeatAt: now });
        const silent = await manager.find(NodeEntity, {
          select: { id: true, state: true, unschedulable: true },
          where: { id: In(chunk), state: In(['down', 'unknown']) },
        });
        // A node coming back had its list cleared (maybe by another replica): its beat is stored again.
        const silentIds = new Set(silent.map((node) => node.id));
        const stored = await this.containerdLists.store(manager, chunk.filter((id) => silentIds.has(id) || this.containerdLists.mayDiffer(id, beats)), beats);
        const revived: string[] = [];
        for (const node of silent) {
          const result = await manager.update(NodeEntity, { id: node.id, state: node.state }, { state: node.unschedulable ?? 'ready' });
          if (result.affected) revived.push(node.id);
        }
        return { stored, revived };
      }).catch((err: unknown) => {
        this.logger.error({ err, nodes: chunk.length }, 'recording a chunk of heartbeats failed');
        return undefined;
      });
      // Only what committed counts.
      changed.push(...(committed?.stored ?? []));
      up.push(...(committed?.revived ?? []));
    }
    this.containerdLists.remember(changed);
    const containerdChanged = changed.map((c) => c.nodeId);
    if (up.length > 0 || containerdChanged.length > 0) await this.scheduler.invalidate();
    for (const { nodeId, before, after } of changed) this.announcer.containerdChanged(nodeId, before, after);
    await this.announceMany([...new Set([...up, ...containerdChanged])]);
    return { revived: up, containerdChanged };
  }

  /**
   * The sandboxes containerd started, as their nodes last reported them (nodes that are down
   * list none), with the node of each; `nodeId` limits it to one node, `id` to one sandbox.
   */
  async containerdSandboxes(filter: { nodeId?: string; id?: string } = {}): Promise<(ContainerdSandbox & { nodeId: string })[]> {
    const nodes = await this.nodes.find({
      select: { id: true, containerdSandboxes: true },
      where: { containerdSandboxes: Not(IsNull()), state: Not('down'), ...(filter.nodeId ? { id: filter.nodeId } : {}) },
      order: { name: 'ASC' },
    });
    return nodes.flatMap((node) =>
      (node.containerdSandboxes ?? []).filter((s) => filter.id === undefined || s.id === filter.id).map((s) => ({ ...s, nodeId: node.id })),
    );
  }

  /**
   * Marks a node down; the sandboxes it should run become `unknown`. They stay placed
   * there — never placed twice — until the node comes back and reports them, or someone
   * replaces them and deletes the old ones (the node then stops them when it returns).
   * With `silentBefore`, only if its last heartbeat is still older than that (it may have
   * said hello since the caller looked).
   */
  async markDown(id: string, silentBefore?: Date): Promise<void> {
    this.containerdLists.forget(id);
    let containerd: ContainerdSandbox[] = [];
    const unknown = await this.transactions.run(async (manager) => {
      containerd = (await manager.findOne(NodeEntity, { select: { id: true, containerdSandboxes: true }, where: { id } }))?.containerdSandboxes ?? [];
      const result = await manager.update(
        NodeEntity,
        { id, state: Not('down'), ...(silentBefore ? { lastHeartbeatAt: LessThan(silentBefore) } : {}) },
        // Its containerd sandboxes were its report: gone with it, until it reports again.
        { state: 'down', containerdSandboxes: null },
      );
      if (!result.affected) return undefined;
      const reason = { code: EventReason.NODE_DOWN, message: 'its node is down: its connection closed or it stopped sending heartbeats' };
      return this.sandboxes.markNodeSandboxesUnknown(manager, id, reason, new Date());
    });
    if (!unknown) return;
    await this.scheduler.invalidate();
    // Pending sandboxes lost room they were told of: their reasons are worked out again.
    await this.scheduler.placePending();
    for (const sandbox of unknown) this.announcer.updated(sandbox);
    this.announcer.containerdChanged(id, containerd, []);
    await this.announce(id);
    this.hooks.emit('nodeDown', id);
  }

  /** Nodes not marked down whose last heartbeat is older than `cutoff`. */
  async silentSince(cutoff: Date): Promise<string[]> {
    const nodes = await this.nodes.find({
      select: { id: true },
      where: { state: Not('down'), lastHeartbeatAt: LessThan(cutoff) },
    });
    return nodes.map((node) => node.id);
  }

  // ---- administration ------------------------------------------------------------------

  async updateLabels(id: string, labels: Record<string, string>): Promise<NodeDto> {
    await this.found(id);
    await this.nodes.update({ id }, { labels });
    await this.scheduler.invalidate();
    // Pending sandboxes may select the new labels.
    await this.scheduler.placePending();
    return this.announce(id);
  }

  /**
   * `cordoned`/`draining`: no new placements; undefined (uncordon): schedulable again. A drain
   * tells the lifecycle listeners (`mode`, default "replace"); a drain by migration is told again
   * when asked of a node already draining (what could not migrate then may now).
   */
  async setUnschedulable(id: string, unschedulable: Unschedulable | null, mode: DrainMode = 'replace'): Promise<NodeDto> {
    const node = await this.found(id);
    await this.nodes.update({ id }, { unschedulable });
    // A down or unknown node stays so; the mark applies when it comes back (says hello).
    if (node.state !== 'down' && node.state !== 'unknown') {
      await this.nodes.update({ id, state: Not(In(['down', 'unknown'])) }, { state: unschedulable ?? 'ready' });
    }
    await this.scheduler.invalidate();
    // Uncordoned: room to place in; cordoned: pending sandboxes' reasons change.
    await this.scheduler.placePending();
    const view = await this.announce(id);
    if (unschedulable === 'draining' && (node.unschedulable !== 'draining' || mode === 'migrate')) this.hooks.emit('nodeDraining', id, { mode });
    return view;
  }

  // ---- views ---------------------------------------------------------------------------

  /** Pushes the node's current representation to dashboards, and returns it. */
  async announce(id: string): Promise<NodeDto> {
    const [view] = await this.views([await this.found(id)]);
    this.ui.toAdmins('node:updated', view);
    return view;
  }

  /** Pushes several nodes to dashboards, reading their allocations in one query. */
  async announceMany(ids: readonly string[]): Promise<void> {
    if (!this.ui.watched) return;
    for (const chunk of chunks(ids, IN_CHUNK)) {
      const nodes = await this.nodes.findBy({ id: In(chunk) });
      for (const view of await this.views(nodes)) this.ui.toAdmins('node:updated', view);
    }
  }

  private async views(nodes: NodeEntity[]): Promise<NodeDto[]> {
    if (nodes.length === 0) return [];
    const ids = nodes.map((n) => n.id);
    const allocations = await loadAllocations(this.nodes.manager, ids.length <= IN_CHUNK ? ids : undefined);
    const fallback = this.scheduler.overcommitFallback;
    return nodes.map((node) => NodeDto.from(node, allocations.get(node.id) ?? { ...NOTHING_ALLOCATED, sandboxes: 0, vms: 0 }, fallback));
  }

  private async found(id: string): Promise<NodeEntity> {
    const node = await this.nodes.findOneBy({ id });
    if (!node) throw new ApiError(ErrorCode.NOT_FOUND, `node ${id} not found`);
    return node;
  }
}
