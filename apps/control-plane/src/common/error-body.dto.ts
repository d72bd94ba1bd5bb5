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
  400: 'VALIDATION_FAILED or MALFORMED_JSON',
  401: 'UNAUTHENTICATED: missing or unknown bearer token',
  403: 'FORBIDDEN (needs the admin token), QUOTA_EXCEEDED or TENANT_SUSPENDED',
  404: 'NOT_FOUND',
  409: 'CONFLICT, SANDBOX_NOT_RUNNING or INVALID_STATE',
  413: 'PAYLOAD_TOO_LARGE: the JSON body exceeds 1 MiB',
  502: 'EXEC_FAILED: the node agent could not run the command',
  503: 'NODE_UNAVAILABLE: the sandbox node is not connected',
  504: 'EXEC_TIMEOUT: the node agent did not answer in time',
};

/** Documents the error responses a route can give, all with the common error body. */
export function ApiErrorResponses(...statuses: (keyof typeof DESCRIPTIONS)[]): MethodDecorator & ClassDecorator {
  return applyDecorators(
    ...statuses.map((status) => ApiResponse({ status, description: DESCRIPTIONS[status], type: ErrorBodyDto })),
  );
}
