import { MoatError } from '@moat/proto';

/** Why this node's side of a move failed; the codes travel to the control plane in the AckReply. */
export enum MoveErrorCode {
  /** The node knows no underlay address to listen on (no MOAT_NODE_ADDRESS, no desired set yet). */
  MOVE_NO_ADDRESS = 'MOVE_NO_ADDRESS',
  /** This sandbox is already moving into or out of this node. */
  MOVE_IN_PROGRESS = 'MOVE_IN_PROGRESS',
  /** The other node could not be reached, or did not connect, in time. */
  MOVE_CONNECT_FAILED = 'MOVE_CONNECT_FAILED',
  /** The other end does not hold this move's key, or named another move. */
  MOVE_KEY_REJECTED = 'MOVE_KEY_REJECTED',
  /** The connection broke, or the transfer took longer than MOVE_TRANSFER_TIMEOUT_MS. */
  MOVE_TRANSFER_FAILED = 'MOVE_TRANSFER_FAILED',
  /** A file name that is absolute or leaves its dir, or an archive member that is not a plain file. */
  MOVE_PATH_UNSAFE = 'MOVE_PATH_UNSAFE',
  /** tar failed to pack or unpack the saved state (its stderr is in the message). */
  MOVE_ARCHIVE_FAILED = 'MOVE_ARCHIVE_FAILED',
  /** The target could not take the sandbox in for a reason of its own (no room for the files…). */
  MOVE_RECEIVE_FAILED = 'MOVE_RECEIVE_FAILED',
  /** The other end did not follow the move protocol (an answer that is no JSON line, bytes after the end). */
  MOVE_PROTOCOL_VIOLATION = 'MOVE_PROTOCOL_VIOLATION',
}

/** A failure of this node's side of a move. */
export class MoveError extends MoatError<MoveErrorCode> {}

/**
 * The target's answer to a send: it could not take the sandbox in. `code` is the target's, as it
 * reported it (a MoveErrorCode or a runtime code such as SANDBOX_NOT_FOUND), so the control
 * plane sees why the target, not the source, failed.
 */
export class MoveRefusedError extends MoatError<string> {}
