import type { FleetNode, Sandbox } from '@moat/sdk';
import { formatMemory } from './format';

/** A node the migrate dialog offers, with its free room in words. */
export interface MigrationTarget {
  id: string;
  label: string;
}

/**
 * The nodes a sandbox can be sent to by name: ready ones other than its own, by name, each with
 * what it has free (the control plane still has the last word: 409 INSUFFICIENT_RESOURCES).
 */
export function migrationTargets(sandbox: Pick<Sandbox, 'nodeId'>, nodes: readonly FleetNode[]): MigrationTarget[] {
  return nodes
    .filter((node) => node.state === 'ready' && node.id !== sandbox.nodeId)
    .sort((a, b) => a.name.localeCompare(b.name))
    .map((node) => {
      const vcpus = node.allocatable.vcpus - node.allocated.vcpus;
      const memoryMiB = node.allocatable.memoryMiB - node.allocated.memoryMiB;
      return { id: node.id, label: `${node.name} (${vcpus} vCPU${vcpus === 1 ? '' : 's'}, ${formatMemory(memoryMiB)} free)` };
    });
}

/** Where a migrating sandbox's move stands, for its page. */
export interface MigrationProgress {
  /** What its latest event says of the move (e.g. the node it goes to), if anything. */
  note: string | null;
  /** How much of its memory and disk has been copied, when its node reports it. */
  copied: { bytesDone: number; bytesTotal: number } | null;
}

/** The move under way while the sandbox is `migrating`; null otherwise. */
export function migrationProgress(sandbox: Pick<Sandbox, 'state' | 'events' | 'progress'>): MigrationProgress | null {
  if (sandbox.state !== 'migrating') return null;
  const latest = sandbox.events.at(-1);
  const note = latest?.state === 'migrating' && latest.reason ? latest.reason.message : null;
  const copied = sandbox.progress ? { bytesDone: sandbox.progress.bytesDone, bytesTotal: sandbox.progress.bytesTotal } : null;
  return { note, copied };
}

/** The failure of its last migration, while that is the latest thing that happened to it (it runs on its old node). */
export function failedMigration(sandbox: Pick<Sandbox, 'events'>): { message: string } | null {
  const reason = sandbox.events.at(-1)?.reason;
  return reason?.code === 'MIGRATION_FAILED' ? { message: reason.message } : null;
}
