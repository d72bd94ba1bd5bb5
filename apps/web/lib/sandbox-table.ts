import type { Sandbox } from '@moat/sdk';

export type SandboxSortKey = 'id' | 'state' | 'node' | 'vcpus' | 'memoryMiB' | 'createdAt';
export type SortDirection = 'ascending' | 'descending';

export interface SandboxFilter {
  /** Matched against id, image, state, labels and the node name. */
  text: string;
  state: string;
  nodeId: string;
}

export const NO_FILTER: SandboxFilter = { text: '', state: '', nodeId: '' };

export function filterSandboxes(
  sandboxes: readonly Sandbox[],
  filter: SandboxFilter,
  nodeName: (id: string | null) => string,
): Sandbox[] {
  const needle = filter.text.trim().toLowerCase();
  return sandboxes.filter((s) => {
    if (filter.state && s.state !== filter.state) return false;
    if (filter.nodeId && s.nodeId !== filter.nodeId) return false;
    if (!needle) return true;
    const haystack = [s.id, s.image ?? '', s.state, nodeName(s.nodeId), ...Object.entries(s.labels).map(([k, v]) => `${k}=${v}`)];
    return haystack.some((h) => h.toLowerCase().includes(needle));
  });
}

export function sortSandboxes(
  sandboxes: readonly Sandbox[],
  key: SandboxSortKey,
  direction: SortDirection,
  nodeName: (id: string | null) => string,
): Sandbox[] {
  const value = (s: Sandbox): string | number => {
    switch (key) {
      case 'id':
        return s.id;
      case 'state':
        return s.state;
      case 'node':
        return nodeName(s.nodeId);
      case 'vcpus':
        return s.vcpus;
      case 'memoryMiB':
        return s.memoryMiB;
      case 'createdAt':
        return Date.parse(s.createdAt);
    }
  };
  const sign = direction === 'ascending' ? 1 : -1;
  return [...sandboxes].sort((a, b) => {
    const va = value(a);
    const vb = value(b);
    const order = typeof va === 'number' && typeof vb === 'number' ? va - vb : String(va).localeCompare(String(vb));
    return sign * order || a.id.localeCompare(b.id);
  });
}
