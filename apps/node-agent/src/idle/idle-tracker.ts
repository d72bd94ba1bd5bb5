import type { SandboxStatus } from '@moat/proto';

/**
 * How often the node looks for sandboxes gone idle: every few seconds, against idle timeouts of
 * at least MIN_IDLE_TIMEOUT_SECONDS. A check reads two sysfs counters per watched sandbox.
 */
export const IDLE_CHECK_INTERVAL_MS = 3_000;

/** What the node's relays tell the idle tracker: a sandbox is being used (exec, attach session, file transfer). */
export interface SandboxActivity {
  /** Used just now. */
  touch(sandboxId: string): void;
  /** In use until the returned release is called (a running exec, an open session or transfer); releasing twice is harmless. */
  hold(sandboxId: string): () => void;
}

/** A watched sandbox. */
interface Watch {
  /** When it was last seen in use, on the tracker's clock (ms). */
  activeAt: number;
  /** Its NIC's byte count at the last check (undefined: it has no NIC). */
  bytes: number | undefined;
  /** Unused for its whole idle timeout: its reports say so until it is used again. */
  idle: boolean;
}

/**
 * Tells when running sandboxes with an idle timeout have gone unused that long: no exec, attach
 * session or file transfer (the relays say so through {@link SandboxActivity}) and no NIC
 * traffic (its byte counters did not move between two checks). It only says so, in the
 * sandbox's status (`idleSeconds`): the control plane decides whether it hibernates.
 */
export class IdleTracker implements SandboxActivity {
  private readonly watched = new Map<string, Watch>();
  private readonly holds = new Map<string, number>();

  constructor(
    private readonly trafficBytes: (sandboxId: string) => Promise<number | undefined>,
    private readonly now: () => number = Date.now,
  ) {}

  touch(sandboxId: string): void {
    const watch = this.watched.get(sandboxId);
    if (watch) this.used(watch, this.now());
  }

  hold(sandboxId: string): () => void {
    this.holds.set(sandboxId, (this.holds.get(sandboxId) ?? 0) + 1);
    this.touch(sandboxId);
    let held = true;
    return () => {
      if (!held) return;
      held = false;
      const left = (this.holds.get(sandboxId) ?? 1) - 1;
      if (left > 0) this.holds.set(sandboxId, left);
      else this.holds.delete(sandboxId);
      this.touch(sandboxId);
    };
  }

  /**
   * Checks the running sandboxes that have an idle timeout (`timeouts`: seconds, by id; any
   * other sandbox is no longer watched) and answers those that have just become idle. One seen
   * for the first time starts its idle time now.
   */
  async check(timeouts: ReadonlyMap<string, number>): Promise<string[]> {
    for (const id of this.watched.keys()) if (!timeouts.has(id)) this.watched.delete(id);
    const counts = await Promise.all(
      [...timeouts].map(async ([id, timeoutSeconds]) => ({
        id,
        timeoutMs: timeoutSeconds * 1000,
        // Undefined when the counters could not be read: it counts as in use, as nobody can tell it is not.
        read: await this.trafficBytes(id).then(
          (bytes) => ({ bytes }),
          () => undefined,
        ),
      })),
    );
    const now = this.now();
    const idle: string[] = [];
    for (const { id, timeoutMs, read } of counts) {
      const watch = this.watched.get(id);
      if (!watch || !read) {
        this.watched.set(id, { activeAt: now, bytes: read?.bytes, idle: false });
      } else if (read.bytes !== watch.bytes || this.holds.has(id)) {
        watch.bytes = read.bytes;
        this.used(watch, now);
      } else if (!watch.idle && now - watch.activeAt >= timeoutMs) {
        watch.idle = true;
        idle.push(id);
      }
    }
    return idle;
  }

  /**
   * Every status the node sends passes here: a sandbox reported in any state but `running` is
   * no longer watched (hibernating, restarting: its idle time starts afresh once it runs
   * again); a running one that is idle says for how long.
   */
  observe(status: SandboxStatus): SandboxStatus {
    if (status.state !== 'running') {
      this.watched.delete(status.id);
      return status;
    }
    const watch = this.watched.get(status.id);
    return watch?.idle ? { ...status, idleSeconds: Math.floor((this.now() - watch.activeAt) / 1000) } : status;
  }

  private used(watch: Watch, now: number): void {
    watch.activeAt = now;
    watch.idle = false;
  }
}
