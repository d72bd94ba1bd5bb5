import type { FileList, MoatApi, UploadedFile } from './api.types';
import { bodyOf } from './body-of';
import { MoatApiError } from './moat.error';

/** What a file being written may be: bytes, text, or a stream of bytes (sent as it is read). */
export type FileData = Uint8Array | string | Blob | ReadableStream<Uint8Array>;

export interface WriteFileOptions {
  /** Permission bits, e.g. `0o600` (default 0644). */
  mode?: number;
  /** Owner (with `gid`); default: the container process's user. */
  uid?: number;
  gid?: number;
}

/**
 * `sandbox.files`: files in the sandbox's container (`/v1/sandboxes/{id}/files`). Paths are
 * absolute container paths; errors are MoatApiErrors with the API's code (`FILE_NOT_FOUND`,
 * `FILE_PATH_INVALID`, `FILE_TOO_LARGE`, …).
 */
export class SandboxFiles {
  constructor(
    private readonly api: MoatApi,
    private readonly sandboxId: string,
  ) {}

  /** A directory's entries (a file lists itself). */
  async list(path: string): Promise<FileList> {
    // The route answers bytes too (without `list`), so the generated type is a union.
    const listing = await bodyOf(this.api.GET('/v1/sandboxes/{id}/files', { params: { path: { id: this.sandboxId }, query: { path, list: 'true' } } }));
    return listing as FileList;
  }

  /** A file's bytes, or a directory's tree as a tar stream, as it arrives. */
  async read(path: string, { signal }: { signal?: AbortSignal } = {}): Promise<ReadableStream<Uint8Array>> {
    const { response, error } = await this.api.GET('/v1/sandboxes/{id}/files', {
      params: { path: { id: this.sandboxId }, query: { path } },
      parseAs: 'stream',
      ...(signal && { signal }),
    });
    if (!response.ok || !response.body) throw MoatApiError.fromResponse(response.status, response.statusText, error);
    return response.body;
  }

  /** A whole file's bytes (for small files; `read` streams). */
  async readBytes(path: string): Promise<Uint8Array> {
    return new Uint8Array(await new Response(await this.read(path)).arrayBuffer());
  }

  /** Writes `data` to `path`, making missing directories; the file appears only once complete. */
  write(path: string, data: FileData, { mode, uid, gid }: WriteFileOptions = {}): Promise<UploadedFile> {
    const query = {
      path,
      ...(mode !== undefined && { mode: mode.toString(8).padStart(4, '0') }),
      ...(uid !== undefined && { uid: String(uid) }),
      ...(gid !== undefined && { gid: String(gid) }),
    };
    return bodyOf(
      this.api.PUT('/v1/sandboxes/{id}/files', {
        params: { path: { id: this.sandboxId }, query },
        // The generated type says `string` (binary); the bytes go as they are.
        body: data as unknown as string,
        bodySerializer: (body: unknown) => body as Blob,
        headers: { 'content-type': 'application/octet-stream' },
        // Needed by fetch to send a stream as the body.
        ...(data instanceof ReadableStream && { duplex: 'half' }),
      }),
    );
  }
}
