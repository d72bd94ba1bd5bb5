import type { NodeEntity } from '../../nodes/node.entity';

/**
 * Where a hibernated sandbox (its VM released) wakes: on its own node, which has its saved
 * state; on another, the saved state moving there, when its own takes no sandboxes now
 * (cordoned, draining) or has no room for it (`why` says which); or nowhere while its node is
 * down or gone, its saved state out of reach.
 */
export type WakePlacement = { kind: 'here' } | { kind: 'elsewhere'; why: string } | { kind: 'unreachable'; why: string };

/**
 * The wake placement of a hibernated sandbox on `node` (null: no longer known), given what the
 * node lacks for it (`roomShortfall`, read for a ready node only). A node not heard from since
 * the control plane started (`unknown`) keeps it: it wakes there once the node says hello.
 */
export function wakePlacement(node: Pick<NodeEntity, 'name' | 'state'> | null, shortfall: string | undefined): WakePlacement {
  if (!node) return { kind: 'unreachable', why: 'is gone' };
  switch (node.state) {
    case 'ready':
      return shortfall === undefined ? { kind: 'here' } : { kind: 'elsewhere', why: `has no room for it (${shortfall})` };
    case 'cordoned':
    case 'draining':
      return { kind: 'elsewhere', why: `is ${node.state}` };
    case 'down':
      return { kind: 'unreachable', why: 'is down' };
    case 'unknown':
      return { kind: 'here' };
  }
}
