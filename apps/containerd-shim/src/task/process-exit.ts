/** The exit status of a process that went down with its VM, unseen: 128 + SIGKILL. */
export const KILLED_EXIT_STATUS = 137;
/** The exit status of a process the node agent no longer knows (containerd's own for a lost shim). */
export const LOST_EXIT_STATUS = 255;

/** How a process ended, as the shim reports it to containerd. */
export interface ProcessEnd {
  readonly pid: number;
  readonly exitStatus: number;
  /** Milliseconds since the Unix epoch; always set. */
  readonly exitedAtMs: number;
}

/**
 * The one end of a process. Whoever learns it first settles it — the watcher on the node agent's
 * Wait, or a Delete — and its announcement (TaskExit) runs once, before any waiter is answered;
 * a later settle gets the first end, whatever it was told.
 */
export class ExitLatch {
  /** Resolves once the end is settled and announced. */
  readonly ended: Promise<ProcessEnd>;
  private release!: (end: ProcessEnd) => void;
  private settling: Promise<ProcessEnd> | undefined;

  constructor() {
    this.ended = new Promise((resolve) => (this.release = resolve));
  }

  /** Whether an end has been settled (its announcement may still be on its way). */
  get isSettled(): boolean {
    return this.settling !== undefined;
  }

  /** Settles `end` unless an end was settled already; resolves to the end that counts. */
  settle(end: ProcessEnd, announce: (end: ProcessEnd) => Promise<unknown>): Promise<ProcessEnd> {
    this.settling ??= announce(end).then(() => {
      this.release(end);
      return end;
    });
    return this.settling;
  }
}
