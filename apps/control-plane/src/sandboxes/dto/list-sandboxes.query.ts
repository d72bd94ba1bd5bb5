import { ApiProperty } from '@nestjs/swagger';
import { SANDBOX_STATES, type SandboxState } from '@moat/proto';
import { IsIn, IsOptional, IsUUID } from 'class-validator';

export class ListSandboxesQuery {
  @ApiProperty({ required: false, enum: SANDBOX_STATES })
  @IsOptional()
  @IsIn(SANDBOX_STATES)
  state?: SandboxState;

  @ApiProperty({ required: false, format: 'uuid', description: 'Only the sandboxes of this deployment' })
  @IsOptional()
  @IsUUID()
  deploymentId?: string;
  @ApiProperty({ required: false, format: 'uuid' })
  @IsOptional()
  @IsUUID()
  nodeId?: string;

  @ApiProperty({ required: false, format: 'uuid', description: 'Admin only; a tenant always sees its own' })
  @IsOptional()
  @IsUUID()
  tenantId?: string;
}
