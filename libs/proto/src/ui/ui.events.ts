/** The control plane → dashboards channel (socket.io namespace {@link UI_NAMESPACE}). */

/** The namespace dashboards connect on (`auth: {token}`); they only listen. */
export const UI_NAMESPACE = '/ui';

/**
 * The REST representations the events carry. Each side names its own types for them (the
 * control plane its DTOs, the dashboard its API client's), so these contracts copy no REST
 * shapes; a payload a side does not name is `unknown`.
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

/** The type `P` names for payload `K`, else `unknown`. */
type Payload<P, K extends keyof UiPayloads> = P extends Record<K, infer T> ? T : unknown;

/**
 * Events pushed to dashboards; payloads are the REST representations `P` names, e.g.
 * `UiEvents<{ sandbox: Sandbox }>` for a listener that reads only sandboxes.
 */
export interface UiEvents<P extends Partial<UiPayloads> = UiPayloads> {
  'sandbox:updated': (sandbox: Payload<P, 'sandbox'>) => void;
  'sandbox:deleted': (ref: { id: string }) => void;
  'node:updated': (node: Payload<P, 'node'>) => void;
  'deployment:updated': (deployment: Payload<P, 'deployment'>) => void;
  'deployment:deleted': (ref: { id: string }) => void;
  'rollout:updated': (rollout: Payload<P, 'rollout'>) => void;
  'template:updated': (template: UiTemplateUpdate) => void;
  'tenant:updated': (tenant: Payload<P, 'tenant'>) => void;
  'audit:appended': (entry: Payload<P, 'audit'>) => void;
}
