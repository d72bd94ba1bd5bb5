/** An entry of an initramfs archive. Owner is always root and mtime 0, so output is reproducible. */
export type CpioEntry =
  | { type: 'dir'; path: string; mode: number }
  | { type: 'file'; path: string; mode: number; data: Buffer }
  | { type: 'symlink'; path: string; target: string }
  | { type: 'char'; path: string; mode: number; major: number; minor: number };

const S_IFDIR = 0o040000;
const S_IFREG = 0o100000;
const S_IFLNK = 0o120000;
const S_IFCHR = 0o020000;
const TRAILER = 'TRAILER!!!';

/**
 * Writes a cpio archive in the "newc" format, the one the kernel's initramfs unpacker reads
 * (Documentation/driver-api/early-userspace/buffer-format.rst). Writing it here rather than
 * running `cpio` lets the archive hold a /dev/console node without mknod privileges: the
 * kernel opens it for /init's stdio before devtmpfs is mounted.
 */
export function writeNewcArchive(entries: readonly CpioEntry[]): Buffer {
  const parts: Buffer[] = [];
  entries.forEach((entry, index) => {
    const data = entryData(entry);
    parts.push(header(entry.path, index + 1, entryMode(entry), data.length, entry.type === 'char' ? entry : undefined));
    parts.push(data, padding(data.length));
  });
  parts.push(header(TRAILER, 0, 0, 0));
  return Buffer.concat(parts);
}

function entryData(entry: CpioEntry): Buffer {
  switch (entry.type) {
    case 'file':
      return entry.data;
    case 'symlink':
      return Buffer.from(entry.target, 'utf8');
    case 'dir':
    case 'char':
      return Buffer.alloc(0);
  }
}

function entryMode(entry: CpioEntry): number {
  switch (entry.type) {
    case 'dir':
      return S_IFDIR | entry.mode;
    case 'file':
      return S_IFREG | entry.mode;
    case 'symlink':
      return S_IFLNK | 0o777;
    case 'char':
      return S_IFCHR | entry.mode;
  }
}

function header(path: string, inode: number, mode: number, size: number, device?: { major: number; minor: number }): Buffer {
  // The archive holds paths relative to the initramfs root, without a leading slash.
  const name = Buffer.from(`${path.replace(/^\/+/, '')}\0`, 'utf8');
  const fields = [
    inode,
    mode,
    0, // uid
    0, // gid
    // nlink 1 everywhere: the unpacker only consults it to join hard links, which we never write.
    1,
    0, // mtime
    size,
    0, // devmajor
    0, // devminor
    device?.major ?? 0,
    device?.minor ?? 0,
    name.length,
    0, // check (only used by the "crc" variant)
  ];
  const head = Buffer.from(`070701${fields.map((f) => f.toString(16).padStart(8, '0')).join('')}`, 'latin1');
  return Buffer.concat([head, name, padding(head.length + name.length)]);
}

/** newc aligns both the header+name and the data to 4 bytes. */
function padding(length: number): Buffer {
  return Buffer.alloc((4 - (length % 4)) % 4);
}
