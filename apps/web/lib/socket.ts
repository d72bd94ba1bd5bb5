import { UI_NAMESPACE, type UiEvents } from '@moat/proto/ui';
import { io, type Socket } from 'socket.io-client';
import type { AuditEntry, Deployment, FleetNode, Rollout, Sandbox, Tenant } from '@moat/sdk';

/** Events the control plane pushes on the `/ui` namespace, with the dashboard's REST types. */
export type UiServerEvents = UiEvents<{
  sandbox: Sandbox;
  node: FleetNode;
  deployment: Deployment;
  rollout: Rollout;
  tenant: Tenant;
  audit: AuditEntry;
}>;

/** The dashboard only listens. */
export type UiSocket = Socket<UiServerEvents, Record<string, never>>;

/** Opens the live-update connection; socket.io reconnects by itself after network drops. */
export function connectUi(apiBase: string, token: string): UiSocket {
  // WebSocket only: no long-polling fallback, so several control-plane replicas behind a
  // plain load balancer need no sticky sessions (the same choice the node agents make).
  return io(`${apiBase}${UI_NAMESPACE}`, { auth: { token }, transports: ['websocket'] });
}
