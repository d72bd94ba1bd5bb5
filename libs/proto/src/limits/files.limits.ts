/**
 * Files in sandboxes (`/v1/sandboxes/:id/files`): the bounds the control plane, node agents and
 * guest agents agree on.
 */
import { AGENT_MAX_CHUNK_BYTES } from './process.limits';

/** Linux's PATH_MAX: no container path is longer. */
export const MAX_FILE_PATH_LENGTH = 4096;

/** Linux's NAME_MAX (bytes; a name of multibyte characters has fewer characters). */
export const MAX_FILE_NAME_LENGTH = 255;

/** The largest uid/gid a file may be given (2^32 - 2; -1 means "unchanged" to chown). */
export const MAX_FILE_OWNER_ID = 0xffff_fffe;

export const FILE_TYPES = ['file', 'directory', 'symlink', 'other'] as const;
export type FileType = (typeof FILE_TYPES)[number];

/** Most entries one directory listing returns; the rest is reported as truncated. */
export const MAX_FILE_LIST_ENTRIES = 1000;

/** Bytes per chunk of a file moving between control plane, node and guest. */
export const FILE_CHUNK_BYTES = AGENT_MAX_CHUNK_BYTES;

/** Transfers one guest agent keeps open at once. */
export const MAX_OPEN_FILE_TRANSFERS = 32;

/**
 * A transfer nobody touched for this long is closed (a write abandoned, its new file removed)
 * on the node and in the guest: a client or control plane that went away leaves nothing.
 */
export const FILE_TRANSFER_IDLE_MS = 60_000;
