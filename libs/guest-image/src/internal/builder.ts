import { mkdir, readdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { GuestImageError, GuestImageErrorCode } from '../errors/guest-image.error';
import type { GuestImage } from '../image/guest-image';
import { fileExists } from './host/files';
import type { ProcessRunner } from './host/process.adapter';
import { computeImageId } from './image-id';
import {
  createBuildDir,
  imagePaths,
  type Manifest,
  publishImage,
  pruneImages,
  readCurrentId,
  readImage,
  writeCurrentId,
} from './image-store';
import { INITRAMFS_APPLETS, initScript } from './initramfs/init-script';
import { buildInitramfs } from './initramfs/initramfs';
import { GUEST_MODULES } from './kernel/guest-modules';
import { prepareKernel } from './kernel/kernel';
import { fetchKernelDeb, resolveKernelPackage } from './kernel/kernel-package';
import { collectHostFiles } from './rootfs/host-files';
import { buildRootfs } from './rootfs/rootfs';
import { ROOTFS_DIRS, ROOTFS_TEMPLATES } from './rootfs/rootfs-templates';

/**
 * Bump when the build steps change in a way the guest-side texts (init scripts, config files,
 * module list) do not show (mkfs options, layout): the image id covers both, so old images
 * are then rebuilt.
 */
const BUILDER_VERSION = '2';

export interface BuildOptions {
  dataDir: string;
  agentBundle: string;
  log: (msg: string) => void;
  /** The node binary to put in the guest; the one running the builder. */
  nodeBinary: string;
}

/** The guest-side texts, as one string for the image id. */
const TEMPLATES_FINGERPRINT = JSON.stringify([
  initScript(['<modules>']),
  GUEST_MODULES,
  INITRAMFS_APPLETS,
  ROOTFS_DIRS,
  ROOTFS_TEMPLATES,
]);

/**
 * Builds the guest image for the current inputs unless it already exists, makes it current
 * and deletes the others. The id is computed before anything expensive happens: the kernel
 * is identified by the apt archive's checksum, so a warm run downloads nothing.
 */
export async function buildImage(opts: BuildOptions, processes: ProcessRunner): Promise<GuestImage> {
  const { dataDir, log } = opts;
  if (!(await fileExists(opts.agentBundle))) {
    throw new GuestImageError(
      GuestImageErrorCode.AGENT_BUNDLE_MISSING,
      `guest agent bundle ${opts.agentBundle} does not exist; run \`npx nx run guest-agent:build\` first`,
    );
  }
  const kernelPackage = await resolveKernelPackage(processes, log);
  const files = await collectHostFiles(processes, opts.nodeBinary, opts.agentBundle);
  const id = computeImageId({ builderVersion: BUILDER_VERSION, templates: TEMPLATES_FINGERPRINT, kernel: kernelPackage, files });

  const existing = await readImage(dataDir, id);
  if (existing) {
    log(`reusing guest image ${id} (inputs unchanged)`);
  } else {
    log(`building guest image ${id} (${kernelPackage.name} ${kernelPackage.version})`);
    const started = Date.now();
    const debPath = await fetchKernelDeb(processes, kernelPackage, join(dataDir, 'cache', 'debs'), log);
    const buildDir = await createBuildDir(dataDir);
    try {
      const imageDir = join(buildDir, 'image');
      await mkdir(imageDir);
      const paths = imagePaths(imageDir);

      log('extracting kernel, vmlinux and modules');
      const kernel = await prepareKernel(processes, debPath, join(buildDir, 'kernel'), paths.kernel);
      log(`kernel ${kernel.release}: ${kernel.loadOrder.length} modules in the initramfs`);
      await buildInitramfs(kernel, paths.initrd);
      log('building rootfs.ext4');
      await buildRootfs(processes, files, opts.nodeBinary, join(buildDir, 'rootfs'), paths.rootfs);

      const manifest: Manifest = {
        id,
        builderVersion: BUILDER_VERSION,
        kernelRelease: kernel.release,
        kernelPackage: { name: kernelPackage.name, version: kernelPackage.version, sha256: kernelPackage.sha256 },
        modules: kernel.loadOrder,
        inputs: files.map(({ guestPath, hostPath, sha256 }) => ({ guestPath, hostPath, sha256 })),
        createdAt: new Date().toISOString(),
      };
      await writeFile(paths.manifest, `${JSON.stringify(manifest, null, 2)}\n`);
      await publishImage(dataDir, imageDir, id);
    } finally {
      await rm(buildDir, { recursive: true, force: true });
    }
    log(`built in ${((Date.now() - started) / 1000).toFixed(1)} s`);
  }

  const image = (await readImage(dataDir, id)) ?? notBuilt(dataDir);
  if ((await readCurrentId(dataDir)) !== id) await writeCurrentId(dataDir, id);
  for (const removed of await pruneImages(dataDir, id)) log(`removed old guest image ${removed}`);
  await pruneDebCache(join(dataDir, 'cache', 'debs'), kernelPackage.fileName);
  return image;
}

/** Keeps only the current kernel .deb: each one is ~70 MB. */
async function pruneDebCache(cacheDir: string, keep: string): Promise<void> {
  if (!(await fileExists(cacheDir))) return;
  for (const name of await readdir(cacheDir)) {
    if (name.endsWith('.deb') && name !== keep) await rm(join(cacheDir, name), { force: true });
  }
}

/** Resolves the current image; throws IMAGE_NOT_BUILT when there is none or it is incomplete. */
export async function resolveCurrentImage(dataDir: string): Promise<GuestImage> {
  const id = await readCurrentId(dataDir);
  const image = id ? await readImage(dataDir, id) : undefined;
  return image ?? notBuilt(dataDir);
}

function notBuilt(dataDir: string): never {
  throw new GuestImageError(
    GuestImageErrorCode.IMAGE_NOT_BUILT,
    `no complete guest image in ${dataDir}; run \`node libs/guest-image/dist/cli.js --data-dir ${dataDir}\``,
  );
}
