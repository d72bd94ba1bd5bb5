import { ApiProperty, ApiPropertyOptional, IntersectionType } from '@nestjs/swagger';
import type { TemplateEntity, TemplateVersionEntity } from '../model/template.entity';
import { TenantOwnedDto } from '../../common/tenant-owned';
import { DnsConfigDto, EgressPolicyDto } from '../../sandboxes/dto/sandbox-fences.dto';
import { RestartPolicyDto } from '../../sandboxes/dto/sandbox-lifecycle.dto';
import { HealthCheckDto } from './template-spec.dto';
import { NETWORK_MODELS, ROOTFS_KINDS } from '@moat/proto';
import type { TemplateSpec } from '../model/template-spec';

/** One template version as the API returns it. */
export class TemplateVersionDto {
  @ApiProperty()
  version!: number;

  @ApiPropertyOptional()
  image?: string;

  @ApiPropertyOptional({ type: [String] })
  command?: string[];

  @ApiProperty()
  vcpus!: number;

  @ApiProperty()
  memoryMiB!: number;

  @ApiPropertyOptional({ type: Object, additionalProperties: { type: 'string' } })
  env?: Record<string, string>;

  @ApiPropertyOptional({ enum: NETWORK_MODELS })
  networkModel?: TemplateSpec['networkModel'];

  @ApiPropertyOptional({ enum: ROOTFS_KINDS })
  rootfs?: TemplateSpec['rootfs'];

  @ApiPropertyOptional({ type: 'integer', description: 'Its sandboxes hibernate once unused this long; absent: never' })
  idleTimeoutSeconds?: number;

  @ApiPropertyOptional({ type: Object, additionalProperties: { type: 'string' } })
  labels?: Record<string, string>;

  @ApiPropertyOptional({ type: EgressPolicyDto })
  egress?: EgressPolicyDto;

  @ApiPropertyOptional({ type: DnsConfigDto })
  dns?: DnsConfigDto;

  @ApiPropertyOptional({ type: HealthCheckDto })
  healthCheck?: HealthCheckDto;

  @ApiPropertyOptional({ type: RestartPolicyDto, description: 'Absent: never restarted' })
  restartPolicy?: RestartPolicyDto;

  @ApiProperty({ format: 'date-time' })
  createdAt!: string;

  static from(version: TemplateVersionEntity): TemplateVersionDto {
    return { version: version.version, ...version.spec, createdAt: version.createdAt.toISOString() };
  }
}

/** A template version together with its template's identity (the answer to creating one). */
export class TemplateVersionWithTemplateDto extends IntersectionType(TemplateVersionDto, TenantOwnedDto) {
  static of(template: TemplateEntity, version: TemplateVersionEntity): TemplateVersionWithTemplateDto {
    return { id: template.id, name: template.name, tenantId: template.tenantId, ...TemplateVersionDto.from(version) };
  }
}

/** A template in lists and in `template:updated` events. */
export class TemplateSummaryDto extends TenantOwnedDto {
  @ApiProperty()
  latestVersion!: number;

  @ApiProperty({ format: 'date-time' })
  createdAt!: string;

  static from(template: TemplateEntity): TemplateSummaryDto {
    return {
      id: template.id,
      name: template.name,
      latestVersion: template.latestVersion,
      tenantId: template.tenantId,
      createdAt: template.createdAt.toISOString(),
    };
  }
}

/** A template with every version. */
export class TemplateDetailDto extends TemplateSummaryDto {
  @ApiProperty({ type: [TemplateVersionDto] })
  versions!: TemplateVersionDto[];
}
