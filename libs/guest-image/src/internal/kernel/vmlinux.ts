import { gunzipSync } from 'node:zlib';
import { GuestImageError, GuestImageErrorCode } from '../../errors/guest-image.error';
import { isElf64 } from '../host/elf';
import type { ProcessRunner } from '../host/process.adapter';

export type PayloadFormat = 'xz' | 'zstd' | 'gzip';

/** Where the compressed kernel sits inside a bzImage. */
export interface CompressedPayload {
  format: PayloadFormat;
  offset: number;
  /** Bytes of compressed stream, without the 4-byte size trailer the kernel build appends. */
  length: number;
  /** The size the build recorded after the stream: the decompressed vmlinux.bin (+ relocs). */
  uncompressedSize: number;
}

const MAGICS: ReadonlyArray<{ format: PayloadFormat; magic: Buffer }> = [
  { format: 'xz', magic: Buffer.from([0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00]) },
  { format: 'zstd', magic: Buffer.from([0x28, 0xb5, 0x2f, 0xfd]) },
  { format: 'gzip', magic: Buffer.from([0x1f, 0x8b, 0x08]) },
];

// Offsets in the x86 boot protocol's setup header (Documentation/arch/x86/boot.rst).
const SETUP_SECTS = 0x1f1;
const HEADER_MAGIC = 0x202;
const PROTOCOL_VERSION = 0x206;
const PAYLOAD_OFFSET = 0x248;
const PAYLOAD_LENGTH = 0x24c;
const SIZE_TRAILER = 4;

/**
 * Finds the compressed vmlinux in a bzImage. Unlike scripts/extract-vmlinux, which tries
 * every magic it can find, this reads the exact span from the setup header (protocol ≥ 2.08)
 * and then checks the magic there, so a stray magic in the setup code cannot be picked.
 */
export function locateCompressedPayload(bzImage: Buffer): CompressedPayload {
  if (bzImage.length < PAYLOAD_LENGTH + 4 || bzImage.toString('latin1', HEADER_MAGIC, HEADER_MAGIC + 4) !== 'HdrS') {
    throw unsupported('not a bzImage (no HdrS setup header)');
  }
  const protocol = bzImage.readUInt16LE(PROTOCOL_VERSION);
  if (protocol < 0x0208) throw unsupported(`boot protocol ${protocol.toString(16)} has no payload fields`);
  // setup_sects == 0 means 4 for historical reasons; the real-mode part also has the boot sector.
  const setupSectors = bzImage.readUInt8(SETUP_SECTS) || 4;
  const offset = (setupSectors + 1) * 512 + bzImage.readUInt32LE(PAYLOAD_OFFSET);
  const total = bzImage.readUInt32LE(PAYLOAD_LENGTH);
  if (total <= SIZE_TRAILER || offset + total > bzImage.length) {
    throw unsupported(`payload ${offset}+${total} lies outside the ${bzImage.length}-byte image`);
  }
  const length = total - SIZE_TRAILER;
  const found = MAGICS.find(({ magic }) => bzImage.subarray(offset, offset + magic.length).equals(magic));
  if (!found) {
    throw unsupported(`payload at ${offset} is not xz, zstd or gzip (starts ${bzImage.toString('hex', offset, offset + 6)})`);
  }
  return { format: found.format, offset, length, uncompressedSize: bzImage.readUInt32LE(offset + length) };
}

/** Decompresses a bzImage's payload to the ELF vmlinux that QEMU can boot via its PVH note. */
export async function extractVmlinux(processes: ProcessRunner, bzImage: Buffer): Promise<Buffer> {
  const payload = locateCompressedPayload(bzImage);
  const stream = bzImage.subarray(payload.offset, payload.offset + payload.length);
  const vmlinux = await decompress(processes, payload.format, stream);
  if (vmlinux.length !== payload.uncompressedSize) {
    throw unsupported(`${payload.format} payload gave ${vmlinux.length} bytes, the image records ${payload.uncompressedSize}`);
  }
  if (!isElf64(vmlinux)) throw unsupported('the decompressed payload is not a 64-bit ELF');
  return vmlinux;
}

async function decompress(processes: ProcessRunner, format: PayloadFormat, stream: Buffer): Promise<Buffer> {
  switch (format) {
    case 'gzip':
      return gunzipSync(stream);
    case 'xz':
      return (await processes.run('xz', ['--decompress', '--stdout', '--single-stream'], { input: stream })).stdout;
    case 'zstd':
      return (await processes.run('zstd', ['--decompress', '--stdout', '--quiet'], { input: stream })).stdout;
  }
}

function unsupported(message: string): GuestImageError {
  return new GuestImageError(GuestImageErrorCode.KERNEL_UNSUPPORTED, message);
}
