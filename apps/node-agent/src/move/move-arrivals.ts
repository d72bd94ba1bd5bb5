import { MOVE_ARRIVAL_GRACE_MS } from '@moat/proto';

/**
 * The sandboxes this node took in from another node that the control plane has not placed here
 * yet. The reconciler deletes whatever is not desired; it leaves an arrival alone until the
 * sandbox is desired (then the arrival is forgotten) or its grace has passed (the move was
 * abandoned): then the arrival is forgotten, and `onGraceEnd`'s listener looks at it again.
 */
export class MoveArrivals {
  private readonly arrivals = new Map<string, NodeJS.Timeout>();
  private graceEnded: (sandboxId: string) => void = () => undefined;

  constructor(private readonly graceMs = MOVE_ARRIVAL_GRACE_MS) {}

  /** Who is told, once, that an arrival's grace has passed (the reconciler). */
  onGraceEnd(listener: (sandboxId: string) => void): void {
    this.graceEnded = listener;
  }

  /** Recorded before the sandbox is taken in, so the reconciler never sees it unrecorded. */
  record(sandboxId: string): void {
    this.forget(sandboxId);
    const timer = setTimeout(() => {
      this.arrivals.delete(sandboxId);
      this.graceEnded(sandboxId);
    }, this.graceMs);
    // A pending grace never keeps a stopping agent alive.
    timer.unref();
    this.arrivals.set(sandboxId, timer);
  }

  /** Whether the sandbox arrived and its grace has not passed. */
  holds(sandboxId: string): boolean {
    return this.arrivals.has(sandboxId);
  }

  forget(sandboxId: string): void {
    clearTimeout(this.arrivals.get(sandboxId));
    this.arrivals.delete(sandboxId);
  }

  clear(): void {
    for (const sandboxId of [...this.arrivals.keys()]) this.forget(sandboxId);
  }
}
