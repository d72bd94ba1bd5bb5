// What every API answer and caller shares.
import type { ErrorInfo } from './sandboxes';

/** Body of every API error response. */
export interface ApiErrorBody {
  error: ErrorInfo;
}

/** Admins see the fleet; a tenant key sees that tenant's sandboxes only. */
export type Role = 'admin' | 'tenant';
