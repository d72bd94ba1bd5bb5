import { createHash } from 'node:crypto';
import { join, posix } from 'node:path';
import { ShimError, ShimErrorCode } from '../errors/shim.error';

/**
 * The longest socket path the shim makes: a unix socket address holds 108 bytes with the
 * trailing NUL; containerd's shims stop at 106 (runtime/v2/shim `socketPathLimit`), and so do we.
 */
export const MAX_SOCKET_PATH_BYTES = 106;
/** The shortest digest the name may be cut to (128 bits) when the directory is long. */
export const MIN_DIGEST_HEX = 32;

export interface ShimSocketInput {
  /** Where shim sockets go (`<MOAT_RUN_DIR>/s`). */
  readonly socketDir: string;
  /** containerd's gRPC address (`-address`). */
  readonly containerdAddress: string;
  readonly namespace: string;
  /** The shim's group: the task id, until tasks share a shim (see start/shim-group.ts). */
  readonly group: string;
}

/**
 * The shim's socket path, named like containerd's `SocketAddress`: the sha256 of containerd's
 * address, the namespace and the group joined as a path, in hex — cut to fit when `socketDir`
 * is long, but never below MIN_DIGEST_HEX (SOCKET_PATH_TOO_LONG then).
 */
export function shimSocketPath({ socketDir, containerdAddress, namespace, group }: ShimSocketInput): string {
  const digest = createHash('sha256').update(posix.join(containerdAddress, namespace, group)).digest('hex');
  const room = MAX_SOCKET_PATH_BYTES - Buffer.byteLength(join(socketDir, '/'));
  if (room < MIN_DIGEST_HEX) {
    throw new ShimError(ShimErrorCode.SOCKET_PATH_TOO_LONG, `shim socket directory ${socketDir} is too long for a unix socket path (${MAX_SOCKET_PATH_BYTES} bytes at most)`);
  }
  return join(socketDir, digest.slice(0, room));
}

/** The address containerd is given for a socket path (without `unix://` it would take an abstract socket). */
export function socketAddressOf(path: string): string {
  return `unix://${path}`;
}

/** The socket path in an address containerd was given (`unix://<path>`); undefined for any other kind. */
export function socketPathOf(address: string): string | undefined {
  return address.startsWith('unix://') ? address.slice('unix://'.length) : undefined;
}
