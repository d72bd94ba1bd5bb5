/** A sandbox state as the control plane stamped it (`updatedAt` of a `sandbox:updated` event). */
export interface ServerChange {
  id: string;
  state: string;
  /** Epoch ms. */
  at: number;
}

/** The moment an open page first showed a sandbox in a state (same host clock). */
export interface PageChange {
  id: string;
  state: string;
  at: number;
}

/**
 * How long each state change took from the control plane to the page: for every state the
 * page showed, the server's first stamp for that sandbox and state. Changes the page never
 * showed (it may skip a state that lasted a few milliseconds) are left out.
 */
export function changeLatencies(server: readonly ServerChange[], page: readonly PageChange[]): number[] {
  const stamped = new Map<string, number>();
  for (const change of server) {
    const key = `${change.id}/${change.state}`;
    if (!stamped.has(key)) stamped.set(key, change.at);
  }
  const seen = new Set<string>();
  const result: number[] = [];
  for (const change of page) {
    const key = `${change.id}/${change.state}`;
    const at = stamped.get(key);
    if (at === undefined || seen.has(key)) continue;
    seen.add(key);
    result.push(change.at - at);
  }
  return result;
}
