import { ApiProperty } from '@nestjs/swagger';
import { IsOptional, IsString, MaxLength } from 'class-validator';
import { IsText } from '../../common/text.validator';
import type { ApiKeyEntity } from '../../auth/api-key.entity';

export class CreateApiKeyDto {
  @ApiProperty({ required: false, maxLength: 128, example: 'ci' })
  @IsOptional()
  @IsString()
  @IsText()
  @MaxLength(128)
  name?: string;
}

/** An API key as listed: never the key itself. */
export class ApiKeyDto {
  @ApiProperty({ format: 'uuid' })
  id!: string;

  @ApiProperty({ nullable: true, type: String })
  name!: string | null;

  @ApiProperty({ example: 'moat_AbC123x', description: 'The first characters of the key' })
  prefix!: string;

  @ApiProperty({ format: 'date-time' })
  createdAt!: string;

  @ApiProperty({ format: 'date-time', nullable: true, type: String })
  lastUsedAt!: string | null;

  @ApiProperty({ format: 'date-time', nullable: true, type: String })
  revokedAt!: string | null;

  static from(key: ApiKeyEntity): ApiKeyDto {
    return {
      id: key.id,
      name: key.name,
      prefix: key.prefix,
      createdAt: key.createdAt.toISOString(),
      lastUsedAt: key.lastUsedAt?.toISOString() ?? null,
      revokedAt: key.revokedAt?.toISOString() ?? null,
    };
  }
}

export class CreatedApiKeyDto {
  @ApiProperty({ format: 'uuid' })
  id!: string;

  @ApiProperty({ nullable: true, type: String })
  name!: string | null;

  @ApiProperty()
  prefix!: string;

  @ApiProperty({ description: 'The key. Shown only in this response; store it now.', example: 'moat_…' })
  key!: string;

  @ApiProperty({ format: 'date-time' })
  createdAt!: string;
}
