import { ApiProperty } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import { IsOptional, IsString, Matches, ValidateNested } from 'class-validator';
import { QuotaInputDto } from './quota.dto';

export class CreateTenantDto {
  @ApiProperty({ example: 'acme', pattern: '^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$' })
  @IsString()
  @Matches(/^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/, {
    message: 'name must be 1-128 letters, digits, ".", "_" or "-", starting with a letter or digit',
  })
  name!: string;

  @ApiProperty({ required: false, type: QuotaInputDto })
  @IsOptional()
  @ValidateNested()
  @Type(() => QuotaInputDto)
  quota?: QuotaInputDto;
}
