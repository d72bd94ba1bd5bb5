// Test support: a SandboxActivity that counts what the relays tell it.
import type { SandboxActivity } from '../idle-tracker';

/** Counts each sandbox's touches and the holds it has open. */
export class CountingActivity implements SandboxActivity {
  readonly touches = new Map<string, number>();
  readonly holds = new Map<string, number>();

  touch(sandboxId: string): void {
    this.touches.set(sandboxId, (this.touches.get(sandboxId) ?? 0) + 1);
  }

  hold(sandboxId: string): () => void {
    this.holds.set(sandboxId, (this.holds.get(sandboxId) ?? 0) + 1);
    return () => this.holds.set(sandboxId, (this.holds.get(sandboxId) ?? 0) - 1);
  }
}
