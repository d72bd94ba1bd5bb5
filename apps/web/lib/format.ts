/** The first block of a UUID: enough to tell sandboxes apart on one screen. */
export function shortId(id: string): string {
  return id.split('-')[0] ?? id;
}

export function formatMemory(mib: number): string {
  if (mib < 1024) return `${mib} MiB`;
  const gib = mib / 1024;
  return `${Number.isInteger(gib) ? gib : gib.toFixed(1)} GiB`;
}

/** Bytes in the largest binary unit that keeps the number at least 1 (`12.3 MiB`). */
export function formatBytes(bytes: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return unit === 0 ? `${value} B` : `${value.toFixed(1)} ${units[unit]}`;
}

export function formatDuration(ms: number): string {
  if (ms < 1000) return `${Math.round(ms)} ms`;
  return `${(ms / 1000).toFixed(ms < 10_000 ? 2 : 1)} s`;
}

/** Whole seconds in the largest unit that divides them: `45 s`, `15 min`, `2 h`, `7 d` (`90 s` stays in seconds). */
export function formatSeconds(seconds: number): string {
  const units = [
    ['d', 86_400],
    ['h', 3_600],
    ['min', 60],
  ] as const;
  const unit = units.find(([, size]) => seconds >= size && seconds % size === 0);
  return unit ? `${seconds / unit[1]} ${unit[0]}` : `${seconds} s`;
}

/** "just now", "42 s ago", "5 min ago", "3 h ago", "2 d ago". */
export function formatAge(iso: string, now: number): string {
  const seconds = Math.max(0, Math.floor((now - Date.parse(iso)) / 1000));
  if (seconds < 5) return 'just now';
  if (seconds < 60) return `${seconds} s ago`;
  const minutes = Math.floor(seconds / 60);
  if (minutes < 60) return `${minutes} min ago`;
  const hours = Math.floor(minutes / 60);
  if (hours < 48) return `${hours} h ago`;
  return `${Math.floor(hours / 24)} d ago`;
}

/** Absolute time for tooltips; ISO-like and unambiguous for operators in any locale. */
export function formatTimestamp(iso: string): string {
  return new Date(iso).toISOString().replace('T', ' ').replace(/\.\d+Z$/, ' UTC');
}

/** A node's warm pool in words (`2 × 1 vCPU, 256 MiB · 1 × 2 vCPUs, 1 GiB`); empty without one. */
export function formatWarmPool(pool: readonly { vcpus: number; memoryMiB: number; count: number }[]): string {
  return pool.map((size) => `${size.count} × ${size.vcpus} ${size.vcpus === 1 ? 'vCPU' : 'vCPUs'}, ${formatMemory(size.memoryMiB)}`).join(' · ');
}

/** A node's name when known; tenants cannot list nodes, so they get its short id. */
export function nodeLabel(nodeId: string | null, nodes: Readonly<Record<string, { name: string }>>): string {
  if (!nodeId) return 'not scheduled';
  return nodes[nodeId]?.name ?? shortId(nodeId);
}

/**
 * Who manages a sandbox, for a badge: `containerd default/web` for one containerd started on its
 * node (only containerd may change or delete it), null for Moat's own.
 */
export function containerdLabel(sandbox: { origin?: string; containerd?: { namespace: string; id: string } }): string | null {
  if (sandbox.origin !== 'containerd') return null;
  return sandbox.containerd ? `containerd ${sandbox.containerd.namespace}/${sandbox.containerd.id}` : 'containerd';
}
