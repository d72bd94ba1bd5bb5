import { io, type Socket } from 'socket.io-client';
import type { AuditEntry, Deployment, FleetNode, Rollout, Sandbox, TemplateSummary, Tenant } from './types';

/** Events the control plane pushes on the `/ui` namespace; payloads are REST representations. */
export interface UiServerEvents {
  'sandbox:updated': (sandbox: Sandbox) => void;
  'sandbox:deleted': (ref: { id: string }) => void;
  'node:updated': (node: FleetNode) => void;
  'tenant:updated': (tenant: Tenant) => void;
  'deployment:updated': (deployment: Deployment) => void;
  'deployment:deleted': (ref: { id: string }) => void;
  'rollout:updated': (rollout: Rollout) => void;
  'template:updated': (template: TemplateSummary) => void;
  'audit:appended': (entry: AuditEntry) => void;
}

/** The dashboard only listens. */
export type UiSocket = Socket<UiServerEvents, Record<string, never>>;

/** Opens the live-update connection; socket.io reconnects by itself after network drops. */
export function connectUi(apiBase: string, token: string): UiSocket {
  // WebSocket only: no long-polling fallback, so several control-plane replicas behind a
  // plain load balancer need no sticky sessions (the same choice the node agents make).
  return io(`${apiBase}/ui`, { auth: { token }, transports: ['websocket'] });
}
