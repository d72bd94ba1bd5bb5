import { AgentError, AgentErrorCode } from '../errors/agent.error';

/** What a handle holds: a read or a write in progress, and how to let it go. */
export interface OpenFile {
  readonly containerId: string;
  /** Frees everything the handle holds (a write not committed leaves nothing behind). */
  close(): Promise<void>;
}

export interface FileHandlesOptions {
  /** At most this many handles at once (the host's transfers in flight). */
  maxOpen: number;
  /** A handle nobody used for this long is closed (its host went away). */
  idleMs: number;
}

/**
 * The file handles the host holds: numbered, bounded in count, and closed when idle, so a host
 * that vanished mid-transfer leaves no descriptors or half-written files in the guest.
 */
export class FileHandles<F extends OpenFile = OpenFile> {
  private readonly open = new Map<number, { file: F; usedAt: number }>();
  private next = 1;
  private readonly sweeper: NodeJS.Timeout;

  constructor(
    private readonly options: FileHandlesOptions,
    private readonly now: () => number = Date.now,
  ) {
    this.sweeper = setInterval(() => void this.closeIdle(), Math.max(1_000, options.idleMs / 4));
    this.sweeper.unref();
  }

  /** Refuses before the caller opens anything when every handle is taken. */
  ensureRoom(): void {
    if (this.open.size >= this.options.maxOpen) {
      throw new AgentError(AgentErrorCode.FILE_HANDLES_EXHAUSTED, `${this.options.maxOpen} file transfers are open already; finish one first`);
    }
  }

  add(file: F): number {
    this.ensureRoom();
    const handle = this.next;
    this.next = this.next >= 0xffff_ffff ? 1 : this.next + 1;
    this.open.set(handle, { file, usedAt: this.now() });
    return handle;
  }

  /** The open file, marked as used now. */
  get(handle: number): F {
    const entry = this.open.get(handle);
    if (!entry) throw new AgentError(AgentErrorCode.INVALID_ARGUMENT, `no open file handle ${handle} (closed, or idle too long)`);
    entry.usedAt = this.now();
    return entry.file;
  }

  /** Forgets the handle without closing it (its owner finished it). */
  take(handle: number): F {
    const file = this.get(handle);
    this.open.delete(handle);
    return file;
  }

  async close(handle: number): Promise<void> {
    const entry = this.open.get(handle);
    this.open.delete(handle);
    await entry?.file.close();
  }

  /** Closes every handle into the container (it is being removed). */
  async closeContainer(containerId: string): Promise<void> {
    const handles = [...this.open].filter(([, entry]) => entry.file.containerId === containerId).map(([handle]) => handle);
    await Promise.all(handles.map((handle) => this.close(handle)));
  }

  async closeIdle(): Promise<void> {
    const cutoff = this.now() - this.options.idleMs;
    const idle = [...this.open].filter(([, entry]) => entry.usedAt <= cutoff).map(([handle]) => handle);
    await Promise.all(idle.map((handle) => this.close(handle)));
  }

  get size(): number {
    return this.open.size;
  }

  dispose(): void {
    clearInterval(this.sweeper);
  }
}
