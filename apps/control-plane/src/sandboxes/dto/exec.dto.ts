import { ApiProperty } from '@nestjs/swagger';
import { ArrayMaxSize, ArrayMinSize, IsArray, IsInt, IsOptional, IsString, Max, MaxLength, Min } from 'class-validator';
import { ENV_MAP, IsStringMap } from '../../common/string-map.validator';

export class ExecDto {
  @ApiProperty({ type: [String], minItems: 1, example: ['uname', '-r'] })
  @IsArray()
  @ArrayMinSize(1)
  @ArrayMaxSize(4096)
  @IsString({ each: true })
  command!: string[];

  @ApiProperty({ required: false, description: 'Written to the process stdin, then closed' })
  @IsOptional()
  @IsString()
  stdin?: string;

  @ApiProperty({ required: false, type: Object, additionalProperties: { type: 'string' } })
  @IsOptional()
  @IsStringMap(ENV_MAP)
  env?: Record<string, string>;

  @ApiProperty({ required: false, maxLength: 4096 })
  @IsOptional()
  @IsString()
  @MaxLength(4096)
  cwd?: string;

  @ApiProperty({ required: false, minimum: 1, maximum: 3_600_000, description: 'Default: 60 s in total' })
  @IsOptional()
  @IsInt()
  @Min(1)
  @Max(3_600_000)
  timeoutMs?: number;
}

export class ExecResultDto {
  @ApiProperty()
  exitCode!: number;

  @ApiProperty()
  stdout!: string;

  @ApiProperty()
  stderr!: string;
}
