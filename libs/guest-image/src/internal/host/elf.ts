/** ELF magic plus ELFCLASS64. */
export function isElf64(data: Buffer): boolean {
  return data.length >= 5 && data.readUInt32BE(0) === 0x7f454c46 && data[4] === 2;
}

const PT_INTERP = 3;

/**
 * Whether a little-endian 64-bit ELF names a program interpreter, i.e. is dynamically linked.
 * `elf` needs only the file's head, as far as the program headers reach.
 */
export function hasProgramInterpreter(elf: Buffer): boolean {
  if (!isElf64(elf) || elf.length < 0x40) return false;
  const phoff = Number(elf.readBigUInt64LE(0x20));
  const phentsize = elf.readUInt16LE(0x36);
  const phnum = elf.readUInt16LE(0x38);
  for (let i = 0; i < phnum; i++) {
    const entry = phoff + i * phentsize;
    if (entry + 4 > elf.length) break;
    if (elf.readUInt32LE(entry) === PT_INTERP) return true;
  }
  return false;
}
