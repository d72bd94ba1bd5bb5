import type { Stats } from 'node:fs';
import type { FileInfo, FileType } from '@moat/proto';

export function fileTypeOf(stats: Stats): FileType {
  if (stats.isFile()) return 'file';
  if (stats.isDirectory()) return 'directory';
  if (stats.isSymbolicLink()) return 'symlink';
  return 'other';
}

/** A file as the host sees it; `linkTarget` only for symlinks. */
export function fileInfo(name: string, stats: Stats, linkTarget = ''): FileInfo {
  return {
    name,
    type: fileTypeOf(stats),
    size: stats.isFile() ? stats.size : 0,
    mode: stats.mode & 0o7777,
    uid: stats.uid,
    gid: stats.gid,
    mtimeMs: Math.trunc(stats.mtimeMs),
    linkTarget,
  };
}
