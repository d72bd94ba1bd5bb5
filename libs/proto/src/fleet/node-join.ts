/**
 * Joining the fleet: an admin creates a single-use join token (`POST /v1/nodes/join-tokens`);
 * the node agent exchanges it once for its own credential (`POST /v1/nodes/join`), keeps the
 * credential (mode 0600) and presents only that from then on.
 */
import { z } from 'zod';
import { MAX_NODE_NAME_LENGTH } from '../limits/fleet.limits';

/** REST path of the exchange, relative to the control plane's URL. */
export const NODE_JOIN_PATH = '/v1/nodes/join';

export const nodeJoinRequestSchema = z.object({
  token: z.string().min(1).max(256),
  /** The node's stable id, kept in its data dir. */
  nodeId: z.string().uuid(),
  name: z.string().min(1).max(MAX_NODE_NAME_LENGTH),
});
export type NodeJoinRequest = z.infer<typeof nodeJoinRequestSchema>;

export const nodeJoinResponseSchema = z.object({
  nodeId: z.string().uuid(),
  /** The node's credential: shown only in this response, stored hashed by the control plane. */
  credential: z.string().min(1),
});
export type NodeJoinResponse = z.infer<typeof nodeJoinResponseSchema>;

/** Prefix of node credentials, so a leaked one is recognisable. */
export const NODE_CREDENTIAL_PREFIX = 'moatn_';
