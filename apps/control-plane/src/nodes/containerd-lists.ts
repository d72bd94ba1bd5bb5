import type { ContainerdSandbox } from '@moat/proto';
import { In, type EntityManager } from 'typeorm';
import { NodeEntity } from './node.entity';

/** A node's containerd list before and after a beat changed it. */
export interface ContainerdChange {
  nodeId: string;
  before: ContainerdSandbox[];
  after: ContainerdSandbox[];
}

/** What heartbeats carry of each node's containerd list (older agents carry none). */
export type ContainerdBeats = ReadonlyMap<string, { containerd?: readonly ContainerdSandbox[] }>;

/** A containerd list as this replica remembers it: its JSON, none and empty alike. */
function listKey(list: readonly ContainerdSandbox[]): string {
  return JSON.stringify(list);
}

/**
 * The containerd lists heartbeats carry, stored on the nodes' rows (`containerdSandboxes`) by
 * NodesService, inside its transactions, through this. It remembers each node's list as this
 * replica last stored or found it, so that a flush of beats whose lists did not change reads and
 * writes nothing more. NodesService makes it forget a node that says hello or goes down.
 */
export class ContainerdLists {
  private readonly known = new Map<string, string>();

  /** Whether a beat's list may differ from the node's stored one: it lists one, and not the one last seen here. */
  mayDiffer(nodeId: string, beats: ContainerdBeats): boolean {
    const listed = beats.get(nodeId)?.containerd;
    return listed !== undefined && this.known.get(nodeId) !== listKey(listed);
  }

  /** Replaces the stored list of each of `nodeIds` whose beat lists another; returns what changed. */
  async store(manager: EntityManager, nodeIds: readonly string[], beats: ContainerdBeats): Promise<ContainerdChange[]> {
    const reporting = nodeIds.filter((id) => beats.get(id)?.containerd !== undefined);
    if (reporting.length === 0) return [];
    const changed: ContainerdChange[] = [];
    const stored = await manager.find(NodeEntity, { select: { id: true, containerdSandboxes: true }, where: { id: In(reporting) } });
    for (const node of stored) {
      const listed = beats.get(node.id)?.containerd ?? [];
      const next = listed.length > 0 ? listed.map((s) => ({ ...s, containerd: { ...s.containerd } })) : null;
      if (listKey(next ?? []) === listKey(node.containerdSandboxes ?? [])) {
        this.known.set(node.id, listKey(listed));
        continue;
      }
      await manager.update(NodeEntity, { id: node.id }, { containerdSandboxes: next });
      changed.push({ nodeId: node.id, before: node.containerdSandboxes ?? [], after: next ?? [] });
    }
    return changed;
  }

  /** Once stored: a rolled-back flush leaves what this replica remembers as it was. */
  remember(changes: readonly ContainerdChange[]): void {
    for (const { nodeId, after } of changes) this.known.set(nodeId, listKey(after));
  }

  forget(nodeId: string): void {
    this.known.delete(nodeId);
  }
}
