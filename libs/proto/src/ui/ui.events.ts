/** The control plane → dashboards channel (socket.io namespace {@link UI_NAMESPACE}). */

export const UI_NAMESPACE = '/ui';

/** Events pushed to dashboards; payloads are the REST representations. */
export interface UiEvents {
  'sandbox:updated': (sandbox: unknown) => void;
  'sandbox:deleted': (ref: { id: string }) => void;
  'node:updated': (node: unknown) => void;
  'deployment:updated': (deployment: unknown) => void;
  'deployment:deleted': (ref: { id: string }) => void;
  'rollout:updated': (rollout: unknown) => void;
  'template:updated': (template: { id: string; name: string; latestVersion: number }) => void;
  'tenant:updated': (tenant: unknown) => void;
  'audit:appended': (entry: unknown) => void;
}
