import { resolve } from 'node:path';
import type { GuestImage } from './image/guest-image';
import { buildImage, resolveCurrentImage } from './internal/builder';
import { SpawnProcessRunner } from './internal/host/process.adapter';

export { GuestImageError, GuestImageErrorCode } from './errors/guest-image.error';
export type { GuestImage } from './image/guest-image';

/** Options for {@link buildGuestImage}. */
export interface BuildGuestImageOptions {
  /** Moat's data directory; the image goes to `<dataDir>/guest-images/<id>/`. */
  dataDir: string;
  /** The bundled guest agent (`apps/guest-agent/dist/guest-agent.js`). */
  agentBundle: string;
  /** Receives one line per build step. */
  log?: (msg: string) => void;
}

/**
 * Builds the guest image (kernel, initramfs, rootfs) from Debian's kernel package and the
 * host's busybox-static, node and crun, unless an image with the same inputs exists; makes
 * it current and deletes older images. Needs apt-get, dpkg-deb, depmod, xz, mkfs.ext4 and
 * resize2fs on the host.
 *
 * @throws GuestImageError `AGENT_BUNDLE_MISSING` if the agent is not built, or a code naming
 *   the step that failed.
 */
export function buildGuestImage(opts: BuildGuestImageOptions): Promise<GuestImage> {
  return buildImage(
    {
      dataDir: resolve(opts.dataDir),
      agentBundle: resolve(opts.agentBundle),
      log: opts.log ?? (() => undefined),
      nodeBinary: process.execPath,
    },
    new SpawnProcessRunner(),
  );
}

/**
 * The current guest image of a data directory, as named by `guest-images/current.json`.
 *
 * @throws GuestImageError `IMAGE_NOT_BUILT` if none was built or its files are missing.
 */
export function resolveGuestImage(dataDir: string): Promise<GuestImage> {
  return resolveCurrentImage(resolve(dataDir));
}

