// Test support: the guest image libs/guest-image built, and a leak check by argv.
import { readFileSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { GuestImage, RuntimeOptions } from '../../../src';

const repoRoot = resolve(__dirname, '../../../../..');
export const dataDirOfImages = process.env.MOAT_DATA_DIR ?? join(repoRoot, '.moat');
export const accel = (process.env.MOAT_ACCEL ?? 'auto') as RuntimeOptions['accel'];

/** The image libs/guest-image built last, read the way the node agent will (current.json + manifest.json). */
export function findGuestImage(): GuestImage | undefined {
  const imagesDir = join(dataDirOfImages, 'guest-images');
  try {
    const { id } = JSON.parse(readFileSync(join(imagesDir, 'current.json'), 'utf8')) as { id: string };
    const dir = join(imagesDir, id);
    const { kernelRelease } = JSON.parse(readFileSync(join(dir, 'manifest.json'), 'utf8')) as { kernelRelease: string };
    const rootfs = join(dir, 'rootfs.ext4');
    return { id, dir, kernel: join(dir, 'vmlinux'), initrd: join(dir, 'initrd.img'), rootfs, rootfsBytes: statSync(rootfs).size, kernelRelease };
  } catch {
    return undefined;
  }
}


