import { ApiProperty } from '@nestjs/swagger';
import { QuotaDto } from './quota.dto';

/** What a tenant's sandboxes use, against its quota. */
export class UsageDto {
  @ApiProperty()
  sandboxes!: number;

  @ApiProperty()
  vcpus!: number;

  @ApiProperty()
  memoryMiB!: number;

  @ApiProperty({ type: QuotaDto })
  quota!: QuotaDto;
}
