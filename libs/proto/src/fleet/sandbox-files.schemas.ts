/**
 * Files in a sandbox's container, between the control plane and node agents (`file:*` on
 * `/agents`). Pull-based, like exec: every call is one acknowledged request to the node, so a
 * transfer works from any control-plane replica and moves only as fast as its reader or writer.
 * The node relays to the guest agent; guest replies are validated with the same schemas.
 */
import { z } from 'zod';
import { FILE_CHUNK_BYTES, FILE_TYPES, MAX_FILE_LIST_ENTRIES, MAX_FILE_NAME_LENGTH, MAX_FILE_OWNER_ID, MAX_FILE_PATH_LENGTH } from '../limits/files.limits';

/** An absolute container path: the guest resolves it inside the container and refuses `.`/`..`. */
export const containerPathSchema = z
  .string()
  .min(1)
  .max(MAX_FILE_PATH_LENGTH)
  .refine((path) => path.startsWith('/') && !path.includes('\0'), 'must be an absolute path without NUL characters');

const ownerIdSchema = z.number().int().min(0).max(MAX_FILE_OWNER_ID);

export const fileInfoSchema = z.object({
  name: z.string().min(1).max(MAX_FILE_NAME_LENGTH * 4),
  type: z.enum(FILE_TYPES),
  size: z.number().int().min(0).max(Number.MAX_SAFE_INTEGER),
  mode: z.number().int().min(0).max(0o7777),
  uid: ownerIdSchema,
  gid: ownerIdSchema,
  mtimeMs: z.number().int().min(0).max(Number.MAX_SAFE_INTEGER),
  /** A symlink's target; empty otherwise. */
  linkTarget: z.string().max(MAX_FILE_PATH_LENGTH),
});
export type SandboxFileInfo = z.infer<typeof fileInfoSchema>;

export const fileListSchema = z.object({
  entries: z.array(fileInfoSchema).max(MAX_FILE_LIST_ENTRIES),
  truncated: z.boolean(),
});
export type SandboxFileList = z.infer<typeof fileListSchema>;

export const fileCommitSchema = z.object({ info: fileInfoSchema, created: z.boolean() });
export type SandboxFileCommit = z.infer<typeof fileCommitSchema>;

export const transferIdSchema = z.string().uuid();

export const filePathRefSchema = z.object({ sandboxId: z.string().uuid(), path: containerPathSchema });
export type FilePathRef = z.infer<typeof filePathRefSchema>;

export const fileReadOpenSchema = filePathRefSchema.extend({ transferId: transferIdSchema });
export type FileReadOpen = z.infer<typeof fileReadOpenSchema>;

export const fileWriteOpenSchema = filePathRefSchema
  .extend({
    transferId: transferIdSchema,
    /** Permission bits; default 0644. */
    mode: z.number().int().min(0).max(0o7777).optional(),
    /** Owner; both or neither (default: the container process's user). */
    uid: ownerIdSchema.optional(),
    gid: ownerIdSchema.optional(),
  })
  .refine((open) => (open.uid === undefined) === (open.gid === undefined), 'give uid and gid together');
export type FileWriteOpen = z.infer<typeof fileWriteOpenSchema>;

export const fileTransferRefSchema = z.object({ transferId: transferIdSchema });
export type FileTransferRef = z.infer<typeof fileTransferRefSchema>;

const chunkDataSchema = z
  .custom<Uint8Array<ArrayBufferLike>>((value) => value instanceof Uint8Array)
  .refine((data) => data.length <= FILE_CHUNK_BYTES, `a chunk holds at most ${FILE_CHUNK_BYTES} bytes`);

/** What one `file:read` answers: empty `data` with `eof` at the end. */
export const fileChunkSchema = z.object({ data: chunkDataSchema, eof: z.boolean() });
export type FileChunk = z.infer<typeof fileChunkSchema>;

export const fileWriteChunkSchema = fileTransferRefSchema.extend({ data: chunkDataSchema });
export type FileWriteChunk = z.infer<typeof fileWriteChunkSchema>;
