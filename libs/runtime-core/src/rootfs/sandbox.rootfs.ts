import { lstat, mkdir, rmdir, stat, unlink, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { describeError, RuntimeError, RuntimeErrorCode } from '../errors/runtime.errors';
import { imageProcess, type ImageProcess } from '../image/image-config';
import type { ImageStore, PullProgress } from '../image/image.store';
import type { BusyboxRootfs } from './busybox.rootfs';
import { ensureMountTargets } from './mount-targets';
import { bundleProcess, bundleRootfs } from './oci-bundle';
import type { RootfsMounts } from './rootfs-mounts';

export interface RootfsRequest {
  sandboxId: string;
  /** An image reference; without one (or a bundle) the sandbox gets the default busybox rootfs. */
  image?: string;
  /** An OCI bundle whose mounted `rootfs/` and config.json process the sandbox takes. */
  bundle?: string;
  /** Replaces the image's Entrypoint and Cmd. */
  command?: string[];
  /** Where the container rootfs must appear. */
  rootfsDir: string;
  /** A per-sandbox directory for the overlay's upper and work dirs. */
  scratchDir: string;
  onProgress?: (progress: PullProgress) => void;
}

export interface PreparedRootfs {
  /** For images: what the container's init runs, as the image config says. */
  process?: ImageProcess;
  /** For images: the resolved manifest. */
  manifestDigest?: string;
}

/** Builds and releases a sandbox's container rootfs, and those of the containers a pod adds. */
export interface RootfsProvider {
  prepare(req: RootfsRequest): Promise<PreparedRootfs>;
  /** Unmounts the rootfs and drops the sandbox's hold on image layers; idempotent. */
  release(sandboxId: string, rootfsDir: string): Promise<void>;
  /** A pod's shared dir becomes a shared mount: rootfses bound under it later reach the guest. */
  sharePodDir(sharedDir: string): Promise<void>;
  /** Undoes {@link sharePodDir}; idempotent. */
  unsharePodDir(sharedDir: string): Promise<void>;
  /** A pod's added container: its bundle's rootfs bound at `rootfsDir`, and its process. */
  addBundle(bundle: string, rootfsDir: string): Promise<ImageProcess>;
  /** A pod's container's volume: the host's `source` (a dir or a file) bound at `target`, read-only if it is the container's. */
  bindVolume(source: string, target: string, readonly: boolean): Promise<void>;
  /** Detaches what an added container's rootfs or volume mounted at `target`, and removes the empty mount point; idempotent. */
  unbind(target: string): Promise<void>;
}

/**
 * The container rootfs of a sandbox: the default busybox tree, an OCI image as an overlay of its
 * read-only layers (shared by every sandbox on the node) under a per-sandbox upper dir, or the
 * rootfs of an OCI bundle (containerd's), bound in.
 */
export class SandboxRootfs implements RootfsProvider {
  constructor(
    private readonly busybox: BusyboxRootfs,
    private readonly images: ImageStore,
    private readonly mounts: RootfsMounts,
  ) {}

  async prepare(req: RootfsRequest): Promise<PreparedRootfs> {
    if (req.bundle !== undefined) return { process: await this.addBundle(req.bundle, req.rootfsDir) };
    if (req.image === undefined) {
      await this.busybox.prepare(req.rootfsDir);
      await ensureMountTargets(req.rootfsDir);
      return {};
    }
    const image = await this.images.acquire(req.sandboxId, req.image, req.onProgress);
    const upperDir = join(req.scratchDir, 'upper');
    const workDir = join(req.scratchDir, 'work');
    await Promise.all([req.rootfsDir, upperDir, workDir].map((dir) => mkdir(dir, { recursive: true, mode: 0o755 })));
    try {
      await this.mounts.overlay(image.layerDirs, { target: req.rootfsDir, upperDir, workDir });
    } catch (cause) {
      throw new RuntimeError(RuntimeErrorCode.ROOTFS_FAILED, `mount the layers of ${image.reference}: ${describeError(cause)}`, { cause });
    }
    await ensureMountTargets(req.rootfsDir);
    return { process: await imageProcess(image.config, req.rootfsDir, req.command), manifestDigest: image.manifestDigest };
  }

  /** The bundle's process first, so a bad config.json fails before anything is mounted. */
  async addBundle(bundle: string, rootfsDir: string): Promise<ImageProcess> {
    const process = await bundleProcess(bundle);
    await mkdir(rootfsDir, { recursive: true, mode: 0o755 });
    try {
      await this.mounts.bind(bundleRootfs(bundle), rootfsDir);
    } catch (cause) {
      throw new RuntimeError(RuntimeErrorCode.ROOTFS_FAILED, `mount the bundle's rootfs of ${bundle}: ${describeError(cause)}`, { cause });
    }
    await ensureMountTargets(rootfsDir);
    return process;
  }

  async bindVolume(source: string, target: string, readonly: boolean): Promise<void> {
    const dir = (await stat(source)).isDirectory();
    await mkdir(dir ? target : dirname(target), { recursive: true, mode: 0o755 });
    if (!dir) await writeFile(target, '', { flag: 'a', mode: 0o644 });
    try {
      // Read-only on the host too, not only in the container: guest root gets no write to it either.
      await this.mounts.bind(source, target, { readonly });
    } catch (cause) {
      throw new RuntimeError(RuntimeErrorCode.ROOTFS_FAILED, `mount the volume ${source}: ${describeError(cause)}`, { cause });
    }
  }

  /**
   * Detached rather than unmounted: the pod's virtiofsd may hold files of it until the guest lets
   * go of them, or its VM ends. Only the empty mount point is removed, never what was mounted.
   */
  async unbind(target: string): Promise<void> {
    await this.mounts.detach(target);
    const point = await lstat(target).catch(() => undefined);
    if (point?.isDirectory()) await rmdir(target);
    else if (point) await unlink(target);
  }

  async sharePodDir(sharedDir: string): Promise<void> {
    await mkdir(sharedDir, { recursive: true, mode: 0o755 });
    try {
      await this.mounts.share(sharedDir);
    } catch (cause) {
      throw new RuntimeError(RuntimeErrorCode.ROOTFS_FAILED, `make the pod's ${sharedDir} a shared mount: ${describeError(cause)}`, { cause });
    }
  }

  async unsharePodDir(sharedDir: string): Promise<void> {
    await this.mounts.unmount(sharedDir);
  }

  async release(sandboxId: string, rootfsDir: string): Promise<void> {
    await this.mounts.unmount(rootfsDir);
    await this.images.release(sandboxId);
  }
}
