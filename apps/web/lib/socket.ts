import { io, type Socket } from 'socket.io-client';
import type { FleetNode, Sandbox } from './types';

/** Events the control plane pushes on the `/ui` namespace; payloads are REST representations. */
export interface UiServerEvents {
  'sandbox:updated': (sandbox: Sandbox) => void;
  'sandbox:deleted': (ref: { id: string }) => void;
  'node:updated': (node: FleetNode) => void;
}

/** The dashboard only listens. */
export type UiSocket = Socket<UiServerEvents, Record<string, never>>;

/** Opens the live-update connection; socket.io reconnects by itself after network drops. */
export function connectUi(apiBase: string, token: string): UiSocket {
  // WebSocket only: no long-polling fallback, so several control-plane replicas behind a
  // plain load balancer need no sticky sessions (the same choice the node agents make).
  return io(`${apiBase}/ui`, { auth: { token }, transports: ['websocket'] });
}
