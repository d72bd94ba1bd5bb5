import { describe, expect, it } from '@jest/globals';
import { GuestImageErrorCode } from '../../errors/guest-image.error';
import { locateCompressedPayload } from './vmlinux';

/** A synthetic bzImage: setup header fields as the boot protocol places them, then a payload. */
function bzImage(opts: { setupSects: number; payloadOffset: number; payload: Buffer; uncompressedSize: number }): Buffer {
  const protectedModeStart = ((opts.setupSects || 4) + 1) * 512;
  const start = protectedModeStart + opts.payloadOffset;
  const image = Buffer.alloc(start + opts.payload.length + 4 + 64);
  image.writeUInt8(opts.setupSects, 0x1f1);
  image.write('HdrS', 0x202, 'latin1');
  image.writeUInt16LE(0x020f, 0x206);
  image.writeUInt32LE(opts.payloadOffset, 0x248);
  image.writeUInt32LE(opts.payload.length + 4, 0x24c);
  opts.payload.copy(image, start);
  image.writeUInt32LE(opts.uncompressedSize, start + opts.payload.length);
  return image;
}

const XZ = Buffer.concat([Buffer.from([0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00]), Buffer.alloc(100, 7)]);

describe('locateCompressedPayload', () => {
  it('finds the payload from the setup header and drops the size trailer', () => {
    // The numbers of Debian's 6.1.0-56-amd64 bzImage.
    const image = bzImage({ setupSects: 39, payloadOffset: 716, payload: XZ, uncompressedSize: 65906612 });
    expect(locateCompressedPayload(image)).toEqual({
      format: 'xz',
      offset: 40 * 512 + 716,
      length: XZ.length,
      uncompressedSize: 65906612,
    });
  });

  it('reads setup_sects 0 as 4', () => {
    const zstd = Buffer.from([0x28, 0xb5, 0x2f, 0xfd, 1, 2, 3]);
    const image = bzImage({ setupSects: 0, payloadOffset: 0x100, payload: zstd, uncompressedSize: 42 });
    expect(locateCompressedPayload(image)).toMatchObject({ format: 'zstd', offset: 5 * 512 + 0x100 });
  });

  it('ignores a magic elsewhere in the image: only the header decides', () => {
    const image = bzImage({ setupSects: 4, payloadOffset: 0x80, payload: Buffer.from([0x5d, 0, 0, 0x80, 0]), uncompressedSize: 1 });
    XZ.copy(image, 0x300);
    expect(() => locateCompressedPayload(image)).toThrow(expect.objectContaining({ code: GuestImageErrorCode.KERNEL_UNSUPPORTED }));
  });

  it('rejects files that are not bzImages', () => {
    expect(() => locateCompressedPayload(Buffer.alloc(4096))).toThrow(/HdrS/);
  });
});
