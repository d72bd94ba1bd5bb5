import { In, IsNull, Not, type FindOptionsWhere } from 'typeorm';
import type { SandboxEntity } from '../sandboxes/model/sandbox.entity';

/**
 * The sandboxes a node is to hold, narrowed by `where`. A failed sandbox is no longer wanted,
 * unless its restart policy starts it again: then its node keeps it (failed) until the restart
 * is due and restartCount moves on.
 */
export function wantedSandboxes(where: FindOptionsWhere<SandboxEntity>): FindOptionsWhere<SandboxEntity>[] {
  return [
    { ...where, desiredState: 'running', state: Not('failed') },
    { ...where, desiredState: 'running', state: 'failed', restartAt: Not(IsNull()) },
  ];
}

/** Sandboxes of these nodes. */
export function onNodes(nodeIds: readonly string[]): FindOptionsWhere<SandboxEntity> {
  return { nodeId: In([...nodeIds]) };
}
