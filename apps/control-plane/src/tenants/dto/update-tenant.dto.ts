import { ApiProperty } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import { IsOptional, ValidateNested } from 'class-validator';
import { QuotaInputDto } from './quota.dto';

export class UpdateTenantDto {
  @ApiProperty({ required: false, type: QuotaInputDto, description: 'Limits given replace the current ones' })
  @IsOptional()
  @ValidateNested()
  @Type(() => QuotaInputDto)
  quota?: QuotaInputDto;
}
