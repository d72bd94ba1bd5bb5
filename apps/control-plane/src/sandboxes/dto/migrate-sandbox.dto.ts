import { ApiProperty } from '@nestjs/swagger';
import { IsOptional, IsUUID } from 'class-validator';

export class MigrateSandboxDto {
  @ApiProperty({
    required: false,
    format: 'uuid',
    description: 'The node to migrate to: ready, another than its own, with room for it. Absent: the scheduler places it among the other nodes.',
  })
  @IsOptional()
  @IsUUID()
  nodeId?: string;
}
