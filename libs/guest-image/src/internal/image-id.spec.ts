import { describe, expect, it } from '@jest/globals';
import { computeImageId, type ImageInputs } from './image-id';

const INPUTS: ImageInputs = {
  builderVersion: '1',
  templates: '::sysinit:/etc/init.d/rcS',
  kernel: { name: 'linux-image-6.1.0-56-amd64', version: '6.1.192-2', sha256: 'a'.repeat(64) },
  files: [
    { guestPath: '/usr/bin/node', sha256: 'b'.repeat(64), mode: 0o755 },
    { guestPath: '/bin/busybox', sha256: 'c'.repeat(64), mode: 0o755 },
  ],
};

describe('computeImageId', () => {
  it('is a sha256 that does not depend on the order files were collected in', () => {
    const id = computeImageId(INPUTS);
    expect(id).toMatch(/^[0-9a-f]{64}$/);
    expect(computeImageId({ ...INPUTS, files: [...INPUTS.files].reverse() })).toBe(id);
  });

  it('changes when any input changes', () => {
    const id = computeImageId(INPUTS);
    const variants: ImageInputs[] = [
      { ...INPUTS, builderVersion: '2' },
      { ...INPUTS, templates: '::sysinit:/etc/rc' },
      { ...INPUTS, kernel: { ...INPUTS.kernel, version: '6.1.193-1' } },
      { ...INPUTS, kernel: { ...INPUTS.kernel, sha256: 'd'.repeat(64) } },
      { ...INPUTS, files: [{ ...INPUTS.files[0], sha256: 'e'.repeat(64) }, INPUTS.files[1]] },
      { ...INPUTS, files: [{ ...INPUTS.files[0], mode: 0o700 }, INPUTS.files[1]] },
      { ...INPUTS, files: [INPUTS.files[0]] },
    ];
    const ids = new Set(variants.map(computeImageId));
    expect(ids.size).toBe(variants.length);
    expect(ids.has(id)).toBe(false);
  });
});
