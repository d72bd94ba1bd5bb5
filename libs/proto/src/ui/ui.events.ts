/** The control plane → dashboards channel (socket.io namespace {@link UI_NAMESPACE}). */

/** The namespace dashboards connect on (`auth: {token}`); they only listen. */
export const UI_NAMESPACE = '/ui';

/**
 * The REST representations the events carry. Each side names its own types for them (the
 * control plane its DTOs, the dashboard its API client's), so these contracts copy no REST
 * shapes; `unknown` where a side does not say.
 */
export interface UiPayloads {
  sandbox: unknown;
  node: unknown;
  deployment: unknown;
  rollout: unknown;
  tenant: unknown;
  audit: unknown;
}

/** What `template:updated` carries: enough to list the template, not its versions. */
export interface UiTemplateUpdate {
  id: string;
  name: string;
  latestVersion: number;
}

/** Events pushed to dashboards; payloads are the REST representations named by `P`. */
export interface UiEvents<P extends UiPayloads = UiPayloads> {
  'sandbox:updated': (sandbox: P['sandbox']) => void;
  'sandbox:deleted': (ref: { id: string }) => void;
  'node:updated': (node: P['node']) => void;
  'deployment:updated': (deployment: P['deployment']) => void;
  'deployment:deleted': (ref: { id: string }) => void;
  'rollout:updated': (rollout: P['rollout']) => void;
  'template:updated': (template: UiTemplateUpdate) => void;
  'tenant:updated': (tenant: P['tenant']) => void;
  'audit:appended': (entry: P['audit']) => void;
}
