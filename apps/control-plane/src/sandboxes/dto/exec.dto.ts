import { ApiProperty } from '@nestjs/swagger';
import { MAX_ARGV_ENTRIES, MAX_CWD_LENGTH, MAX_EXEC_TIMEOUT_MS } from '@moat/proto';
import { ArrayMaxSize, ArrayMinSize, IsArray, IsBoolean, IsInt, IsOptional, IsString, Max, MaxLength, Min } from 'class-validator';
import { ENV_MAP, OptionalStringMap } from '../../common/string-map.validator';
import { IsAbsolutePath, IsArgv } from '../../common/text.validator';

export class ExecDto {
  @ApiProperty({ type: [String], minItems: 1, example: ['uname', '-r'] })
  @IsArray()
  @ArrayMinSize(1)
  @ArrayMaxSize(MAX_ARGV_ENTRIES)
  @IsString({ each: true })
  @IsArgv()
  command!: string[];

  @ApiProperty({ required: false, description: 'Written to the process stdin, then closed' })
  @IsOptional()
  @IsString()
  stdin?: string;

  @OptionalStringMap(ENV_MAP)
  env?: Record<string, string>;

  @ApiProperty({ required: false, maxLength: MAX_CWD_LENGTH, pattern: '^/[^\\u0000]*$', example: '/tmp', description: 'An absolute path' })
  @IsOptional()
  @IsString()
  @MaxLength(MAX_CWD_LENGTH)
  @IsAbsolutePath()
  cwd?: string;

  @ApiProperty({ required: false, minimum: 1, maximum: MAX_EXEC_TIMEOUT_MS, description: 'Default: 60 s in total' })
  @IsOptional()
  @IsInt()
  @Min(1)
  @Max(MAX_EXEC_TIMEOUT_MS)
  timeoutMs?: number;

  @ApiProperty({ required: false, description: 'Run on a pseudo-terminal (24x80); stderr arrives merged into stdout' })
  @IsOptional()
  @IsBoolean()
  tty?: boolean;
}

export class ExecResultDto {
  @ApiProperty({ description: 'The exit code, or 128 + the signal number' })
  exitCode!: number;

  @ApiProperty()
  stdout!: string;

  @ApiProperty()
  stderr!: string;

  @ApiProperty({ required: false, description: 'The signal that killed the process, 0 if it exited' })
  signal?: number;

  @ApiProperty({ required: false, description: 'Killed, with everything it started, when timeoutMs passed' })
  timedOut?: boolean;

  @ApiProperty({ required: false, description: "Killed by the kernel's OOM killer: the container hit its memory limit" })
  oomKilled?: boolean;
}

class CpuStatsDto {
  @ApiProperty() usageUsec!: number;
  @ApiProperty() userUsec!: number;
  @ApiProperty() systemUsec!: number;
}

class MemoryStatsDto {
  @ApiProperty() currentBytes!: number;
  @ApiProperty({ description: 'The peak since the container started' }) maxBytes!: number;
  @ApiProperty({ description: '0: no limit' }) limitBytes!: number;
}

class PidsStatsDto {
  @ApiProperty() current!: number;
  @ApiProperty({ description: '0: no limit' }) limit!: number;
}

class IoStatsDto {
  @ApiProperty() readBytes!: number;
  @ApiProperty() writeBytes!: number;
}

/** `GET /v1/sandboxes/:id/stats`: the container's cgroup v2 counters in the guest. */
export class SandboxStatsDto {
  @ApiProperty({ type: CpuStatsDto }) cpu!: CpuStatsDto;
  @ApiProperty({ type: MemoryStatsDto }) memory!: MemoryStatsDto;
  @ApiProperty({ type: PidsStatsDto }) pids!: PidsStatsDto;
  @ApiProperty({ type: IoStatsDto }) io!: IoStatsDto;
  @ApiProperty({ format: 'date-time', description: 'When the node read the counters' }) at!: string;
}
