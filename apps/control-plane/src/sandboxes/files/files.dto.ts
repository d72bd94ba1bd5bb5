import { ApiProperty } from '@nestjs/swagger';
import { FILE_TYPES, MAX_FILE_LIST_ENTRIES, MAX_FILE_OWNER_ID, MAX_FILE_PATH_LENGTH, type FileType, type SandboxFileInfo } from '@moat/proto';
import { IsIn, IsOptional, IsString, Matches, MaxLength } from 'class-validator';

const PATH_DESCRIPTION =
  'An absolute path in the container (`/` is its root). Symlinks are followed inside the container only; ' +
  '`.` and `..` components, NUL characters and paths into /proc, /sys or /dev are refused (400 FILE_PATH_INVALID).';

export class FilePathQuery {
  @ApiProperty({ description: PATH_DESCRIPTION, example: '/tmp/report.txt', maxLength: MAX_FILE_PATH_LENGTH })
  @IsString()
  @MaxLength(MAX_FILE_PATH_LENGTH)
  path!: string;
}

export class ReadFilesQuery extends FilePathQuery {
  @ApiProperty({
    required: false,
    enum: ['true', 'false'],
    description: `\`true\`: the directory's entries as JSON (at most ${MAX_FILE_LIST_ENTRIES}; a file lists itself) instead of its contents`,
  })
  @IsOptional()
  @IsIn(['true', 'false'])
  list?: 'true' | 'false';
}

export class UploadFileQuery extends FilePathQuery {
  @ApiProperty({ required: false, pattern: '^[0-7]{3,4}$', example: '0644', description: 'Permission bits in octal (default 0644)' })
  @IsOptional()
  @Matches(/^[0-7]{3,4}$/, { message: 'mode must be 3 or 4 octal digits, such as 0644' })
  mode?: string;

  @ApiProperty({ required: false, pattern: '^[0-9]{1,10}$', description: `Owner (with gid; 0-${MAX_FILE_OWNER_ID}); default: the container process's user` })
  @IsOptional()
  @Matches(/^[0-9]{1,10}$/, { message: 'uid must be a decimal number' })
  uid?: string;

  @ApiProperty({ required: false, pattern: '^[0-9]{1,10}$', description: 'Group (with uid)' })
  @IsOptional()
  @Matches(/^[0-9]{1,10}$/, { message: 'gid must be a decimal number' })
  gid?: string;
}

export class FileInfoDto {
  @ApiProperty({ description: 'The last component of the path (`/` for the root)' })
  name!: string;

  @ApiProperty({ enum: FILE_TYPES, description: '`other`: a device, FIFO or socket' })
  type!: FileType;

  @ApiProperty({ description: 'Bytes (0 for anything but a regular file)' })
  size!: number;

  @ApiProperty({ description: 'Permission bits (decimal; 420 is 0644)' })
  mode!: number;

  @ApiProperty() uid!: number;
  @ApiProperty() gid!: number;

  @ApiProperty({ description: 'Last modified, ms since the epoch' })
  mtimeMs!: number;

  @ApiProperty({ required: false, description: "A symlink's target, as stored" })
  linkTarget?: string;

  static from(info: SandboxFileInfo): FileInfoDto {
    const { linkTarget, ...rest } = info;
    return { ...rest, ...(linkTarget !== '' && { linkTarget }) };
  }
}

export class FileListDto {
  @ApiProperty({ description: 'The path listed, as asked' })
  path!: string;

  @ApiProperty({ type: [FileInfoDto], description: 'By name' })
  entries!: FileInfoDto[];

  @ApiProperty({ description: `The directory has more than ${MAX_FILE_LIST_ENTRIES} entries; only the first are here` })
  truncated!: boolean;
}

export class UploadedFileDto extends FileInfoDto {
  @ApiProperty({ description: 'The path written, as asked' })
  path!: string;
}
