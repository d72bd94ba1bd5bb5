import { MoatError } from '@moat/proto';

/** Why building or resolving a guest image failed. */
export enum GuestImageErrorCode {
  IMAGE_NOT_BUILT = 'IMAGE_NOT_BUILT',
  AGENT_BUNDLE_MISSING = 'AGENT_BUNDLE_MISSING',
  HOST_BINARY_UNUSABLE = 'HOST_BINARY_UNUSABLE',
  COMMAND_FAILED = 'COMMAND_FAILED',
  KERNEL_PACKAGE_NOT_FOUND = 'KERNEL_PACKAGE_NOT_FOUND',
  KERNEL_PACKAGE_CORRUPT = 'KERNEL_PACKAGE_CORRUPT',
  KERNEL_UNSUPPORTED = 'KERNEL_UNSUPPORTED',
  MODULE_NOT_FOUND = 'MODULE_NOT_FOUND',
  MANIFEST_INVALID = 'MANIFEST_INVALID',
}

/**
 * An error raised by `@moat/guest-image`: a machine-readable `code`, a message that names
 * the file or command involved, and the low-level `cause`.
 */
export class GuestImageError extends MoatError<GuestImageErrorCode> {}
