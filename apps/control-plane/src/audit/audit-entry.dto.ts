import { ApiProperty } from '@nestjs/swagger';
import type { ActorKind, AuditEntryEntity, AuditResult } from './audit-entry.entity';

class ActorDto {
  @ApiProperty({ enum: ['admin', 'tenant', 'node'] })
  kind!: ActorKind;

  @ApiProperty({ description: '"admin", the tenant API key id, or the node id' })
  id!: string;
}

export class AuditEntryDto {
  @ApiProperty({ description: 'Increasing; pass it as `before` to page back' })
  id!: string;

  @ApiProperty({ format: 'date-time' })
  at!: string;

  @ApiProperty({ type: ActorDto })
  actor!: ActorDto;

  @ApiProperty({ nullable: true, type: String })
  tenantId!: string | null;

  @ApiProperty({ example: 'sandbox.create' })
  action!: string;

  @ApiProperty({ example: 'sandbox' })
  targetType!: string;

  @ApiProperty({ nullable: true, type: String })
  targetId!: string | null;

  @ApiProperty({ enum: ['success', 'failure'] })
  result!: AuditResult;

  @ApiProperty({ example: 201 })
  status!: number;

  @ApiProperty({
    nullable: true,
    type: String,
    description: "A failure's error message; on success what some actions record of their result (sandbox.fork: its clones), else null",
  })
  message!: string | null;

  static from(entry: AuditEntryEntity): AuditEntryDto {
    return {
      id: String(entry.id),
      at: entry.at.toISOString(),
      actor: { kind: entry.actorKind, id: entry.actorId },
      tenantId: entry.tenantId,
      action: entry.action,
      targetType: entry.targetType,
      targetId: entry.targetId,
      result: entry.result,
      status: entry.status,
      message: entry.message,
    };
  }
}

export class AuditPageDto {
  @ApiProperty({ type: [AuditEntryDto] })
  items!: AuditEntryDto[];

  @ApiProperty({ nullable: true, type: String, description: 'Pass as `before` for the next (older) page' })
  nextBefore!: string | null;
}
