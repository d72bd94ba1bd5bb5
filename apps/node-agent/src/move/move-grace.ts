import { MOVE_ARRIVAL_GRACE_MS } from '@moat/proto';

/**
 * Sandboxes a move left in a state the control plane has yet to catch up with, each for a
 * grace: recorded, held until forgotten or until the grace has passed — then forgotten, and
 * `onGraceEnd`'s listener (the reconciler) told, once, to look at it again.
 */
export class MoveGrace {
  private readonly held = new Map<string, NodeJS.Timeout>();
  private graceEnded: (sandboxId: string) => void = () => undefined;

  constructor(private readonly graceMs = MOVE_ARRIVAL_GRACE_MS) {}

  /** Who is told, once, that a record's grace has passed. */
  onGraceEnd(listener: (sandboxId: string) => void): void {
    this.graceEnded = listener;
  }

  record(sandboxId: string): void {
    this.forget(sandboxId);
    const timer = setTimeout(() => {
      this.held.delete(sandboxId);
      this.graceEnded(sandboxId);
    }, this.graceMs);
    // A pending grace never keeps a stopping agent alive.
    timer.unref();
    this.held.set(sandboxId, timer);
  }

  /** Whether the sandbox is recorded and its grace has not passed. */
  holds(sandboxId: string): boolean {
    return this.held.has(sandboxId);
  }

  forget(sandboxId: string): void {
    clearTimeout(this.held.get(sandboxId));
    this.held.delete(sandboxId);
  }

  clear(): void {
    for (const sandboxId of [...this.held.keys()]) this.forget(sandboxId);
  }
}
