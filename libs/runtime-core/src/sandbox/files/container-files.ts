import type { SandboxFileCommit, SandboxFileInfo, SandboxFileList } from '@moat/proto';
import type { FileWriteOptions, GuestFilesApi } from '../../agent/guest-files';

/** A file (or a directory's tar) being read out of a container, chunk by chunk. */
export interface FileDownload {
  readonly info: SandboxFileInfo;
  /** The next chunk; empty at the end. */
  next(signal: AbortSignal): Promise<Buffer>;
  close(): Promise<void>;
}

/** A file being written into a container: in place only once committed. */
export interface FileUpload {
  write(data: Uint8Array): Promise<void>;
  commit(): Promise<SandboxFileCommit>;
  /** Abandons the upload; the path stays as it was. */
  abort(): Promise<void>;
}

/**
 * One running sandbox's container files, through its guest agent. `onError` sees every failure
 * first (the runtime fails a sandbox whose guest broke the protocol).
 */
export class ContainerFiles {
  constructor(
    private readonly guest: GuestFilesApi,
    private readonly containerId: string,
    private readonly onError: (error: unknown) => Promise<void>,
  ) {}

  stat(path: string): Promise<SandboxFileInfo> {
    return this.watch(() => this.guest.stat(this.containerId, path));
  }

  list(path: string): Promise<SandboxFileList> {
    return this.watch(() => this.guest.list(this.containerId, path));
  }

  async openRead(path: string): Promise<FileDownload> {
    const { handle, info } = await this.watch(() => this.guest.openRead(this.containerId, path));
    return {
      info,
      next: (signal) => this.watch(() => this.guest.read(handle, signal)),
      close: () => this.guest.close(handle),
    };
  }

  async openWrite(path: string, options: FileWriteOptions): Promise<FileUpload> {
    const handle = await this.watch(() => this.guest.openWrite(this.containerId, path, options));
    return {
      write: (data) => this.watch(() => this.guest.write(handle, data)),
      commit: () => this.watch(() => this.guest.commit(handle)),
      abort: () => this.guest.close(handle),
    };
  }

  private async watch<T>(call: () => Promise<T>): Promise<T> {
    try {
      return await call();
    } catch (error) {
      await this.onError(error);
      throw error;
    }
  }
}
