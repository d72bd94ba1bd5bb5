import { createHash } from 'node:crypto';

/** Everything an image is built from; two builds from equal inputs give equivalent images. */
export interface ImageInputs {
  builderVersion: string;
  /** The builder's guest-side texts (scripts, config files, module list), as they are written. */
  templates: string;
  kernel: { name: string; version: string; sha256: string };
  files: ReadonlyArray<{ guestPath: string; sha256: string; mode: number }>;
}

/** The image id: SHA-256 over a canonical encoding of the inputs (file order does not matter). */
export function computeImageId(inputs: ImageInputs): string {
  const files = [...inputs.files]
    .sort((a, b) => (a.guestPath < b.guestPath ? -1 : a.guestPath > b.guestPath ? 1 : 0))
    .map(({ guestPath, sha256, mode }) => [guestPath, sha256, mode]);
  const canonical = JSON.stringify([
    inputs.builderVersion,
    inputs.templates,
    [inputs.kernel.name, inputs.kernel.version, inputs.kernel.sha256],
    files,
  ]);
  return createHash('sha256').update(canonical).digest('hex');
}
