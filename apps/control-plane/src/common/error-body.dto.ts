import { applyDecorators } from '@nestjs/common';
import { ApiProperty, ApiResponse } from '@nestjs/swagger';
import { ErrorCode } from './api.error';

class ErrorDetailDto {
  @ApiProperty({ enum: ErrorCode, enumName: 'ErrorCode' })
  code!: ErrorCode;

  @ApiProperty({ example: 'vcpus must not be greater than 32' })
  message!: string;
}

/** The shape of every error response. */
export class ErrorBodyDto {
  @ApiProperty({ type: ErrorDetailDto })
  error!: ErrorDetailDto;
}

const DESCRIPTIONS: Record<number, string> = {
  400: 'VALIDATION_FAILED, MALFORMED_JSON or FILE_PATH_INVALID',
  401: 'UNAUTHENTICATED: missing or unknown bearer token',
  403: 'FORBIDDEN (needs the admin token), QUOTA_EXCEEDED or TENANT_SUSPENDED',
  404: 'NOT_FOUND, FILE_NOT_FOUND for a container path, or NODE_NOT_FOUND for a node named in the body (a migration\'s target)',
  409: 'CONFLICT, SANDBOX_NOT_RUNNING, INVALID_STATE, FILE_NOT_WRITABLE, HIBERNATE_UNSUPPORTED, FORK_UNSUPPORTED or MIGRATION_UNSUPPORTED (only a rootfs block sandbox hibernates, forks or live-migrates), INSUFFICIENT_RESOURCES (the clones of a fork do not fit on the node of their source; a woken sandbox fits neither on its node nor on another; a migrated one on no other node, or not on the one named), SAVED_STATE_UNREACHABLE (the saved state of a hibernated sandbox is on a node that is down), TENANT_NETWORK_FULL, or MANAGED_BY_CONTAINERD: the sandbox was started through containerd, which alone may change or delete it',
  413: 'PAYLOAD_TOO_LARGE: the JSON body exceeds 1 MiB; FILE_TOO_LARGE: an upload exceeds MOAT_FILES_MAX_BYTES',
  415: 'UNSUPPORTED_MEDIA_TYPE: a body of a media type the route does not take',
  429: 'TOO_MANY_TRANSFERS: too many file transfers in flight into the sandbox or its node; retry shortly',
  502: 'EXEC_FAILED: the node agent could not run the command; WAKE_FAILED: the hibernated sandbox the request woke failed to wake',
  503: 'NODE_UNAVAILABLE: the sandbox node is not connected',
  504: 'EXEC_TIMEOUT: the node agent did not answer in time; WAKE_TIMEOUT: the hibernated sandbox the request woke was not running in time',
  507: "FILE_NO_SPACE: the sandbox's filesystem is full",
};

/** Documents the error responses a route can give, all with the common error body. */
export function ApiErrorResponses(...statuses: (keyof typeof DESCRIPTIONS)[]): MethodDecorator & ClassDecorator {
  return applyDecorators(
    ...statuses.map((status) => ApiResponse({ status, description: DESCRIPTIONS[status], type: ErrorBodyDto })),
  );
}
