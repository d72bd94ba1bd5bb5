import {
  FILE_TRANSFER_IDLE_MS,
  type FileChunk,
  type FilePathRef,
  type FileReadOpen,
  type FileWriteChunk,
  type FileWriteOpen,
  type SandboxFileCommit,
  type SandboxFileInfo,
  type SandboxFileList,
} from '@moat/proto';
import { RuntimeError, RuntimeErrorCode, type FileDownload, type FileUpload, type SandboxRuntime } from '@moat/runtime-core';
import type { SandboxActivity } from '../idle/idle-tracker';

/** A transfer in flight; `release` ends its hold on its sandbox's activity. */
type Transfer = { release: () => void; usedAt: number } & (
  | { kind: 'read'; download: FileDownload; stop: AbortController }
  | { kind: 'write'; upload: FileUpload }
);

export interface FileTransfersOptions {
  /** Transfers in flight on this node at once. */
  maxOpen: number;
  /** A transfer the control plane has not touched for this long is closed. */
  idleMs: number;
}

const DEFAULTS: FileTransfersOptions = { maxOpen: 256, idleMs: FILE_TRANSFER_IDLE_MS };

/**
 * The file transfers this node relays between the control plane and guests, by the control
 * plane's transfer id. Each `file:read`/`file:write` moves one chunk, so a transfer goes only
 * as fast as the client at the other end; one the control plane abandoned (its client or its
 * connection went) is closed when idle, and a write closed before its commit leaves nothing.
 * A transfer keeps its sandbox in use (never idle) while it is open; a stat or list uses it.
 */
export class FileTransfers {
  private readonly transfers = new Map<string, Transfer>();
  private readonly sweeper: NodeJS.Timeout;

  constructor(
    private readonly runtime: Pick<SandboxRuntime, 'files'>,
    private readonly activity: SandboxActivity,
    private readonly options: FileTransfersOptions = DEFAULTS,
    private readonly now: () => number = Date.now,
  ) {
    this.sweeper = setInterval(() => this.closeIdle(), Math.max(1_000, options.idleMs / 4));
    this.sweeper.unref();
  }

  stat({ sandboxId, path }: FilePathRef): Promise<SandboxFileInfo> {
    this.activity.touch(sandboxId);
    return this.runtime.files(sandboxId).stat(path);
  }

  list({ sandboxId, path }: FilePathRef): Promise<SandboxFileList> {
    this.activity.touch(sandboxId);
    return this.runtime.files(sandboxId).list(path);
  }

  async openRead({ sandboxId, path, transferId }: FileReadOpen): Promise<SandboxFileInfo> {
    this.claim(transferId);
    const release = this.activity.hold(sandboxId);
    const download = await this.runtime.files(sandboxId).openRead(path).catch(releasing(release));
    this.transfers.set(transferId, { kind: 'read', download, stop: new AbortController(), release, usedAt: this.now() });
    return download.info;
  }

  /** The next chunk; at the end the transfer is closed. */
  async read(transferId: string): Promise<FileChunk> {
    const transfer = this.get(transferId, 'read');
    const data = await transfer.download.next(transfer.stop.signal);
    transfer.usedAt = this.now();
    if (data.length > 0) return { data, eof: false };
    this.close(transferId);
    return { data, eof: true };
  }

  async openWrite({ sandboxId, path, transferId, mode, uid, gid }: FileWriteOpen): Promise<void> {
    this.claim(transferId);
    const owner = uid !== undefined && gid !== undefined ? { uid, gid } : undefined;
    const release = this.activity.hold(sandboxId);
    const upload = await this.runtime.files(sandboxId).openWrite(path, { mode, owner }).catch(releasing(release));
    this.transfers.set(transferId, { kind: 'write', upload, release, usedAt: this.now() });
  }

  async write({ transferId, data }: FileWriteChunk): Promise<void> {
    const transfer = this.get(transferId, 'write');
    await transfer.upload.write(data);
    transfer.usedAt = this.now();
  }

  async commit(transferId: string): Promise<SandboxFileCommit> {
    const transfer = this.get(transferId, 'write');
    this.transfers.delete(transferId);
    try {
      return await transfer.upload.commit();
    } finally {
      transfer.release();
    }
  }

  /** Ends a read or abandons a write; unknown ids are ignored (it may have ended already). */
  close(transferId: string): void {
    const transfer = this.transfers.get(transferId);
    this.transfers.delete(transferId);
    if (!transfer) return;
    transfer.release();
    if (transfer.kind === 'read') {
      transfer.stop.abort();
      void transfer.download.close().catch(() => undefined);
    } else {
      void transfer.upload.abort().catch(() => undefined);
    }
  }

  /** The control plane is gone: nobody will finish these. */
  closeAll(): void {
    for (const transferId of [...this.transfers.keys()]) this.close(transferId);
  }

  closeIdle(): void {
    const cutoff = this.now() - this.options.idleMs;
    for (const [transferId, transfer] of [...this.transfers]) if (transfer.usedAt <= cutoff) this.close(transferId);
  }

  get size(): number {
    return this.transfers.size;
  }

  dispose(): void {
    clearInterval(this.sweeper);
    this.closeAll();
  }

  private claim(transferId: string): void {
    if (this.transfers.has(transferId)) throw new RuntimeError(RuntimeErrorCode.INVALID_SPEC, `transfer ${transferId} exists already`);
    if (this.transfers.size >= this.options.maxOpen) {
      throw new RuntimeError(RuntimeErrorCode.FILE_TRANSFERS_EXHAUSTED, `this node has ${this.options.maxOpen} file transfers open; try again shortly`);
    }
  }

  private get<K extends Transfer['kind']>(transferId: string, kind: K): Extract<Transfer, { kind: K }> {
    const transfer = this.transfers.get(transferId);
    if (!transfer || transfer.kind !== kind) {
      throw new RuntimeError(RuntimeErrorCode.FILE_TRANSFER_GONE, `no ${kind} transfer ${transferId} on this node (finished, or idle too long)`);
    }
    return transfer as Extract<Transfer, { kind: K }>;
  }
}

/** A rejection handler that ends a hold before passing the failure on. */
function releasing(release: () => void): (error: unknown) => never {
  return (error) => {
    release();
    throw error;
  };
}
