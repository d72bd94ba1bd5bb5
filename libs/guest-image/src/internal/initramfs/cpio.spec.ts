import { describe, expect, it } from '@jest/globals';
import { writeNewcArchive } from './cpio';

interface Decoded {
  name: string;
  mode: number;
  rdevmajor: number;
  rdevminor: number;
  data: Buffer;
}

/** Reads a newc archive back the way the kernel's unpacker walks it. */
function decode(archive: Buffer): Decoded[] {
  const out: Decoded[] = [];
  let at = 0;
  for (;;) {
    expect(archive.toString('latin1', at, at + 6)).toBe('070701');
    const field = (i: number) => parseInt(archive.toString('latin1', at + 6 + i * 8, at + 14 + i * 8), 16);
    const size = field(6);
    const nameSize = field(11);
    const name = archive.toString('utf8', at + 110, at + 110 + nameSize - 1);
    const dataAt = Math.ceil((at + 110 + nameSize) / 4) * 4;
    if (name === 'TRAILER!!!') return out;
    out.push({ name, mode: field(1), rdevmajor: field(9), rdevminor: field(10), data: archive.subarray(dataAt, dataAt + size) });
    at = Math.ceil((dataAt + size) / 4) * 4;
  }
}

describe('writeNewcArchive', () => {
  it('round-trips files, directories, symlinks and device nodes with 4-byte alignment', () => {
    const archive = writeNewcArchive([
      { type: 'dir', path: '/dev', mode: 0o755 },
      { type: 'char', path: '/dev/console', mode: 0o600, major: 5, minor: 1 },
      { type: 'file', path: '/init', mode: 0o755, data: Buffer.from('#!/bin/sh\n') },
      { type: 'symlink', path: '/bin/sh', target: 'busybox' },
    ]);
    expect(archive.length % 4).toBe(0);
    const entries = decode(archive);
    expect(entries.map((e) => e.name)).toEqual(['dev', 'dev/console', 'init', 'bin/sh']);
    expect(entries[0].mode).toBe(0o040755);
    expect(entries[1]).toMatchObject({ mode: 0o020600, rdevmajor: 5, rdevminor: 1 });
    expect(entries[2].mode).toBe(0o100755);
    expect(entries[2].data.toString()).toBe('#!/bin/sh\n');
    expect(entries[3].mode).toBe(0o120777);
    expect(entries[3].data.toString()).toBe('busybox');
  });
});
