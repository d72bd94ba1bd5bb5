import { ApiProperty } from '@nestjs/swagger';
import { DRAIN_MODES, MAX_NODE_NAME_LENGTH, type DrainMode } from '@moat/proto';
import { IsIn, IsInt, IsOptional, IsString, IsUUID, Max, MaxLength, Min } from 'class-validator';
import { IsText } from '../../common/text.validator';
import { IsStringMap, LABEL_MAP, OptionalStringMap } from '../../common/string-map.validator';

export class CreateJoinTokenDto {
  @OptionalStringMap(LABEL_MAP, { example: { zone: 'eu-1' } })
  labels?: Record<string, string>;

  @ApiProperty({ required: false, minimum: 60, maximum: 604_800, default: 3600 })
  @IsOptional()
  @IsInt()
  @Min(60)
  @Max(604_800)
  ttlSeconds?: number;
}

export class JoinTokenDto {
  @ApiProperty({ format: 'uuid' })
  id!: string;

  @ApiProperty({ description: 'Single use; shown only here. Give it to the node agent as MOAT_JOIN_TOKEN.' })
  token!: string;

  @ApiProperty({ format: 'date-time' })
  expiresAt!: string;
}

export class JoinNodeDto {
  @ApiProperty({ description: 'The join token' })
  @IsString()
  @IsText()
  @MaxLength(256)
  token!: string;

  @ApiProperty({ format: 'uuid', description: "The node's stable id, kept in its data dir" })
  @IsUUID()
  nodeId!: string;

  @ApiProperty({ example: 'host-17' })
  @IsString()
  @IsText()
  @MaxLength(MAX_NODE_NAME_LENGTH)
  name!: string;
}

export class NodeCredentialDto {
  @ApiProperty({ format: 'uuid' })
  nodeId!: string;

  @ApiProperty({ description: "The node's credential: shown only here, stored hashed" })
  credential!: string;
}

export class UpdateNodeDto {
  @ApiProperty({ type: Object, additionalProperties: { type: 'string' }, description: 'Replaces all labels' })
  @IsStringMap(LABEL_MAP)
  labels!: Record<string, string>;
}

export class DrainNodeDto {
  @ApiProperty({
    required: false,
    enum: DRAIN_MODES,
    default: 'replace',
    description:
      '"replace": deployment-managed sandboxes are replaced on other nodes before the old ones stop; sandboxes created directly keep running until deleted. ' +
      '"migrate": every running sandbox that can (rootfs "block", not a deployment\'s replica) is live-migrated to where the scheduler places it, a few at a time; ' +
      'the others are handled as by "replace". Each sandbox gets an event saying which: DRAIN_MIGRATED, or DRAIN_FALLBACK with the reason.',
  })
  @IsOptional()
  @IsIn(DRAIN_MODES)
  mode?: DrainMode;
}
