import { applyDecorators } from '@nestjs/common';
import { ApiProperty } from '@nestjs/swagger';
import { MAX_IDLE_TIMEOUT_SECONDS, MIN_IDLE_TIMEOUT_SECONDS, SANDBOX_STATES, type RootfsKind, type SandboxState } from '@moat/proto';
import { IsIn, IsInt, IsOptional, Max, Min, ValidateBy } from 'class-validator';
import {
  MAX_BACKOFF_SECONDS,
  MAX_RESTARTS,
  resolveRestartPolicy,
  RESTART_DEFAULTS,
  RESTART_POLICY_TYPES,
  type RestartPolicy,
  type RestartPolicyType,
} from '../model/restart-policy';

/** The OpenAPI schema of `maxRestarts`, the same in requests and responses. */
const MAX_RESTARTS_SCHEMA = { required: false, type: 'integer', minimum: 0, maximum: MAX_RESTARTS } as const;

/** The OpenAPI schema of `backoffSeconds`, the same in requests and responses. */
const BACKOFF_SECONDS_SCHEMA = { required: false, type: 'integer', minimum: 1, maximum: MAX_BACKOFF_SECONDS } as const;

/** Refuses a limit on a policy that never restarts: it would limit nothing. */
function OnFailureOnly(): PropertyDecorator {
  return ValidateBy({
    name: 'onFailureOnly',
    validator: {
      validate: (_value: unknown, args) => (args?.object as Partial<RestartPolicyRequestDto> | undefined)?.type === 'on-failure',
      defaultMessage: () => '$property applies to type "on-failure" only',
    },
  });
}

/** Refuses an idle timeout on a sandbox that could not hibernate: only a `rootfs: "block"` one can. */
function NeedsBlockRootfs(): PropertyDecorator {
  return ValidateBy({
    name: 'needsBlockRootfs',
    validator: {
      validate: (_value: unknown, args) => (args?.object as { rootfs?: RootfsKind } | undefined)?.rootfs === 'block',
      defaultMessage: () => '$property needs rootfs "block": only such a sandbox can hibernate (QEMU saves no shared filesystem)',
    },
  });
}

/** `idleTimeoutSeconds` (auto-hibernate) as `POST /v1/sandboxes` and templates take it. */
export function IdleTimeoutSeconds(): PropertyDecorator {
  return applyDecorators(
    ApiProperty({
      required: false,
      type: 'integer',
      minimum: MIN_IDLE_TIMEOUT_SECONDS,
      maximum: MAX_IDLE_TIMEOUT_SECONDS,
      description:
        'Auto-hibernate: once it has had no exec, attach session, file transfer or network traffic for this long, it hibernates by itself, ' +
        'and the next exec, attach or file request wakes it first. Only with `rootfs: "block"`. Absent: never',
    }),
    IsOptional(),
    IsInt(),
    Min(MIN_IDLE_TIMEOUT_SECONDS),
    Max(MAX_IDLE_TIMEOUT_SECONDS),
    NeedsBlockRootfs(),
  );
}

/** A restart policy as `POST /v1/sandboxes` and templates take it. */
export class RestartPolicyRequestDto {
  @ApiProperty({
    enum: RESTART_POLICY_TYPES,
    description: '`never`: a failed sandbox stays failed. `on-failure`: it is started again on its node, under the same id as a fresh VM',
  })
  @IsIn(RESTART_POLICY_TYPES)
  type!: RestartPolicyType;

  @ApiProperty({
    ...MAX_RESTARTS_SCHEMA,
    default: RESTART_DEFAULTS.maxRestarts,
    description: 'Restarts allowed (on-failure only); once used up the sandbox stays failed',
  })
  @IsOptional()
  @IsInt()
  @Min(0)
  @Max(MAX_RESTARTS)
  @OnFailureOnly()
  maxRestarts?: number;

  @ApiProperty({
    ...BACKOFF_SECONDS_SCHEMA,
    default: RESTART_DEFAULTS.backoffSeconds,
    description: `Wait before the first restart (on-failure only); doubled after each restart, at most ${MAX_BACKOFF_SECONDS} s`,
  })
  @IsOptional()
  @IsInt()
  @Min(1)
  @Max(MAX_BACKOFF_SECONDS)
  @OnFailureOnly()
  backoffSeconds?: number;
}

/** The policy as stored: defaults filled in, only the fields of its type. */
export function restartPolicyOf(dto: RestartPolicyRequestDto | undefined): RestartPolicy {
  return resolveRestartPolicy(dto && { type: dto.type, maxRestarts: dto.maxRestarts, backoffSeconds: dto.backoffSeconds });
}

/** A restart policy as the API shows it, defaults filled in. */
export class RestartPolicyDto {
  @ApiProperty({ enum: RESTART_POLICY_TYPES })
  type!: RestartPolicyType;

  @ApiProperty({ ...MAX_RESTARTS_SCHEMA, description: 'With on-failure: restarts allowed' })
  maxRestarts?: number;

  @ApiProperty({ ...BACKOFF_SECONDS_SCHEMA, description: 'With on-failure: seconds before the first restart, doubled after each one' })
  backoffSeconds?: number;
}

export class EventReasonDto {
  @ApiProperty({
    example: 'VMM_EXITED',
    description:
      "The node's error code for failures and refused hibernations; RESTARTED, DELETED, NODE_DOWN, NODE_UNKNOWN or IDLE (auto-hibernate) for the control plane's own changes",
  })
  code!: string;

  @ApiProperty({ example: 'the VMM was killed by signal 9 (SIGKILL)' })
  message!: string;
}

/** One state change of a sandbox. */
export class SandboxEventDto {
  @ApiProperty({ format: 'date-time' })
  at!: string;

  @ApiProperty({ enum: SANDBOX_STATES, description: 'The state it changed into' })
  state!: SandboxState;

  @ApiProperty({ required: false, type: EventReasonDto, description: 'Why, for failures, restarts, deletes, nodes going away, refused hibernations and idle ones' })
  reason?: EventReasonDto;
}
