import type { Capacity } from '@moat/proto';
import { EntityManager } from 'typeorm';
import { NO_USAGE, type Usage } from '../tenants/model/quota';
import { loadUsage } from '../tenants/usage';
import { loadAllocations, loadKeyCounts, NOTHING_ALLOCATED } from './allocation';
import { NO_SIZING, reserved, type HeldSize, type NodeSizing } from './node-offer';
import { PlacementTable, type Candidate, type PlacementPolicy } from './placement';

/** After this long the index is rebuilt anyway (heals any change that forgot to bump the epoch). */
const MAX_AGE_MS = 5_000;

interface NodeRow {
  id: string;
  capacity: string;
  labels: string;
  sizing: string | null;
  containerdSandboxes: string | null;
}

/** A node's state as stored, for `CapacityIndex.prepareNodes`. */
export interface NodeState {
  id: string;
  state: string;
  capacity: Capacity;
  labels: Record<string, string>;
  /** null: a node whose agent reports no sizing. */
  sizing: NodeSizing | null;
  /** The VMs containerd started there; null: none. */
  containerdSandboxes: readonly HeldSize[] | null;
}

/** Nodes' new state, stored in a transaction that moved the epoch on; see `applyNodes`. */
export interface NodesChange {
  epoch: number;
  nodes: readonly NodeState[];
  /** A node joins the index with sandboxes on it: only a rebuild gets its counts right. */
  rebuild: boolean;
}

/**
 * Moves the scheduler epoch on, so every replica's index is rebuilt before its next batch. On
 * PostgreSQL the row lock it takes also serialises writers of placements and quotas until commit.
 */
export async function bumpSchedulerEpoch(manager: EntityManager): Promise<void> {
  await manager.query('UPDATE scheduler_epoch SET epoch = epoch + 1 WHERE id = 1');
}

/**
 * What the scheduler knows in memory: schedulable nodes with their allocations and
 * anti-affinity counts, and tenants' usage. It is valid for one value of the database's
 * scheduler epoch: every batch bumps the epoch (which on PostgreSQL also serialises the
 * replicas' batches on that row) and, if anyone else moved it since this process last did —
 * another replica placed, a node changed, a sandbox was deleted — rebuilds from the database.
 * Between such changes a batch reads nothing but the tenants it admits for.
 */
export class CapacityIndex {
  private epoch = -1;
  private loadedAt = 0;
  private byId = new Map<string, Candidate>();
  /**
   * Built from `byId` when a batch asks for it: a fleet's hellos change nodes in many small
   * batches, and a table of 10,000 nodes after each would cost more than the placing.
   */
  private placement?: PlacementTable;
  private keysLoaded = new Set<string>();
  private usage = new Map<string, Usage>();

  constructor(private readonly policy: PlacementPolicy) {}

  /** Takes the epoch lock for this transaction and makes sure the index is current. */
  async acquire(manager: EntityManager): Promise<void> {
    const epoch = await bumpAndRead(manager);
    const current = epoch === this.epoch + 1 && Date.now() - this.loadedAt < MAX_AGE_MS;
    this.epoch = epoch;
    if (!current) await this.rebuild(manager);
  }

  /**
   * Called in the transaction that stored nodes' new state (hellos): moves the epoch on, like
   * any change to nodes, and reads what `applyNodes` needs after the commit.
   */
  async prepareNodes(manager: EntityManager, nodes: readonly NodeState[]): Promise<NodesChange> {
    const epoch = await bumpAndRead(manager);
    const joining = nodes.filter((node) => node.state === 'ready' && !this.byId.has(node.id)).map((node) => node.id);
    const allocations = await loadAllocations(manager, joining);
    return { epoch, nodes, rebuild: allocations.size > 0 };
  }

  /**
   * After that transaction committed: takes the nodes' new capacity, labels and schedulability
   * in place instead of rebuilding for the whole fleet — if this index was current just before
   * the change. Otherwise (another change came between, or a batch rebuilt since) it does
   * nothing: its epoch no longer matches, so the next batch rebuilds or already has.
   */
  applyNodes(change: NodesChange): void {
    if (change.rebuild || this.epoch !== change.epoch - 1) return;
    // A known node whose overhead per sandbox changed reserves a different amount for the
    // sandboxes it has: only a rebuild counts that.
    const overheadChanged = change.nodes.some((node) => {
      const known = this.byId.get(node.id);
      return known && known.sizing.sandboxOverheadMiB !== (node.sizing ?? NO_SIZING).sandboxOverheadMiB;
    });
    if (overheadChanged) {
      this.reset();
      return;
    }
    for (const node of change.nodes) {
      const known = this.byId.get(node.id);
      if (node.state !== 'ready') {
        this.byId.delete(node.id);
      } else if (known) {
        known.capacity = node.capacity;
        known.labels = node.labels;
        known.sizing = node.sizing ?? NO_SIZING;
        known.containerd = sizesOf(node.containerdSandboxes);
      } else {
        this.byId.set(node.id, {
          id: node.id,
          capacity: node.capacity,
          labels: node.labels,
          sizing: node.sizing ?? NO_SIZING,
          containerd: sizesOf(node.containerdSandboxes),
          allocated: { ...NOTHING_ALLOCATED },
          keyCounts: new Map(),
        });
      }
    }
    this.placement = undefined;
    this.epoch = change.epoch;
  }

  /** Forgets everything, e.g. after a failed transaction whose bookings never committed. */
  reset(): void {
    this.epoch = -1;
  }

  /** The schedulable nodes; placing through it books into the index. */
  table(): PlacementTable {
    this.placement ??= new PlacementTable([...this.byId.values()], this.policy);
    return this.placement;
  }

  /** Loads anti-affinity counts for keys not seen since the last rebuild. */
  async ensureKeys(manager: EntityManager, keys: readonly string[]): Promise<void> {
    const missing = keys.filter((k) => !this.keysLoaded.has(k));
    if (missing.length === 0) return;
    const counts = await loadKeyCounts(manager, missing);
    for (const node of this.byId.values()) {
      for (const key of missing) {
        const count = counts.get(node.id)?.get(key);
        if (count) node.keyCounts.set(key, count);
      }
    }
    missing.forEach((k) => this.keysLoaded.add(k));
  }

  /** Usage of these tenants, loading those not seen since the last rebuild. */
  async usageOf(manager: EntityManager, tenantIds: readonly string[]): Promise<Map<string, Usage>> {
    const missing = tenantIds.filter((id) => !this.usage.has(id));
    if (missing.length > 0) {
      const loaded = await loadUsage(manager, missing);
      for (const id of missing) this.usage.set(id, loaded.get(id) ?? { ...NO_USAGE });
    }
    return this.usage;
  }

  private async rebuild(manager: EntityManager): Promise<void> {
    const nodes = await loadCandidates(manager);
    this.byId = new Map(nodes.map((node) => [node.id, node]));
    this.placement = undefined;
    this.keysLoaded = new Set();
    this.usage = new Map();
    this.loadedAt = Date.now();
  }
}

/**
 * The schedulable (ready) nodes with what they have promised, read afresh; with the counts of
 * the anti-affinity keys `keys` (others are left to `ensureKeys`).
 */
export async function loadCandidates(manager: EntityManager, keys: readonly string[] = []): Promise<Candidate[]> {
  // Raw rows: hydrating entities for every node on every rebuild would dominate the batch.
  const rows = await manager.query<NodeRow[]>(`SELECT id, capacity, labels, sizing, "containerdSandboxes" FROM nodes WHERE state = 'ready'`);
  const allocations = await loadAllocations(manager);
  const counts = await loadKeyCounts(manager, keys);
  return rows.map((row): Candidate => {
    const sizing = row.sizing ? (JSON.parse(row.sizing) as NodeSizing) : NO_SIZING;
    const allocation = allocations.get(row.id);
    return {
      id: row.id,
      capacity: JSON.parse(row.capacity) as Candidate['capacity'],
      labels: JSON.parse(row.labels) as Candidate['labels'],
      sizing,
      containerd: sizesOf(row.containerdSandboxes ? (JSON.parse(row.containerdSandboxes) as HeldSize[]) : null),
      allocated: allocation ? reserved(allocation, allocation.vms, sizing) : { ...NOTHING_ALLOCATED },
      keyCounts: new Map(counts.get(row.id) ?? []),
    };
  });
}

/** Only the size of each VM containerd started: all the index needs of them. */
function sizesOf(sandboxes: readonly HeldSize[] | null): HeldSize[] {
  return (sandboxes ?? []).map(({ vcpus, memoryMiB }) => ({ vcpus, memoryMiB }));
}

/** Moves the scheduler epoch on (taking its row lock) and returns the new value. */
async function bumpAndRead(manager: EntityManager): Promise<number> {
  await bumpSchedulerEpoch(manager);
  const [row] = await manager.query<{ epoch: number | string }[]>('SELECT epoch FROM scheduler_epoch WHERE id = 1');
  return Number(row.epoch);
}
