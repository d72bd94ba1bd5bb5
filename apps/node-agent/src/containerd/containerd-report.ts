import { isContainerdSandboxState, MAX_CONTAINERD_SANDBOXES, type ContainerdSandbox, type NodeHeartbeat } from '@moat/proto';
import type { SandboxInfo } from '@moat/runtime-core';

/**
 * What a heartbeat says of the node's sandboxes: the ids of those the control plane placed,
 * and every sandbox containerd started (containerd owns them; the control plane counts what
 * they hold and shows them), each with the time it entered its current state. Remembers those
 * times from beat to beat; a sandbox no longer listed is forgotten.
 */
export class HeartbeatReport {
  private readonly since = new Map<string, { state: SandboxInfo['state']; since: string }>();

  constructor(private readonly now: () => Date = () => new Date()) {}

  of(sandboxes: readonly SandboxInfo[]): NodeHeartbeat {
    const containerd: ContainerdSandbox[] = [];
    const seen = new Set<string>();
    for (const s of sandboxes) {
      if (!s.containerd || !isContainerdSandboxState(s.state)) continue;
      seen.add(s.id);
      let known = this.since.get(s.id);
      if (known?.state !== s.state) {
        known = { state: s.state, since: this.now().toISOString() };
        this.since.set(s.id, known);
      }
      if (containerd.length < MAX_CONTAINERD_SANDBOXES) {
        containerd.push({ id: s.id, containerd: { ...s.containerd }, vcpus: s.vcpus, memoryMiB: s.memoryMiB, state: s.state, since: known.since });
      }
    }
    for (const id of this.since.keys()) if (!seen.has(id)) this.since.delete(id);
    return { sandboxIds: sandboxes.filter((s) => !s.containerd).map((s) => s.id), containerd };
  }
}
