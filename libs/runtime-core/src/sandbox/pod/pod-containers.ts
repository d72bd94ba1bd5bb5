import { lstat, mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { basename, join } from 'node:path';
import type { AgentApi } from '../../agent/agent.client';
import { describeError, RuntimeError, RuntimeErrorCode } from '../../errors/runtime.errors';
import type { Log } from '../../log/log.types';
import { bundleBinds, type BundleBind } from '../../rootfs/oci-bundle';
import type { RootfsProvider } from '../../rootfs/sandbox.rootfs';
import { GUEST_SHARED_DIR } from '../../sharefs/shared-fs';
import type { SandboxEntry } from '../model/sandbox.entry';
import { buildContainerSpec, type OciSpec } from '../model/oci-spec';
import { hostnameOf, isContainerdIdentifier } from '../model/sandbox-spec';
import type { PodContainerState, SandboxStateStore } from '../model/sandbox.state';
import type { PodContainerSpec } from '../model/sandbox.types';

/** Seconds a removed container's init gets between SIGTERM and SIGKILL. */
const CONTAINER_STOP_SECONDS = 2;
/** Where added containers' rootfses live, on the host inside the shared dir and in the guest under its mount. */
const CONTAINERS_DIR = 'containers';
/** Where a container's volumes are bound for it, likewise. */
const VOLUMES_DIR = 'volumes';
/** Where the pod's files CRI binds into a container (hosts, resolv.conf, hostname) are copied for it, likewise. */
const POD_FILES_DIR = 'pod-files';
/** Those files are a few lines each: a bigger one is not what CRI wrote. */
const MAX_POD_FILE_BYTES = 64 * 1024;

/**
 * The containers a pod adds to its VM after its own: each one's bundle rootfs is bound under the
 * pod's shared dir (a shared mount, so it reaches the guest through the running virtiofsd or
 * 9p share), then created in the guest beside the pod's own container, sharing its kernel and
 * network. Each is recorded in the sandbox's state before its rootfs is mounted, so the rootfs
 * step's release finds it after any crash.
 */
export class PodContainers {
  constructor(
    private readonly rootfs: Pick<RootfsProvider, 'addBundle' | 'bindVolume' | 'unbind'>,
    private readonly store: Pick<SandboxStateStore, 'save'>,
    private readonly log: Log,
  ) {}

  /** Creates the container, its init waiting for {@link start}. */
  async add(entry: SandboxEntry, agent: AgentApi, spec: PodContainerSpec): Promise<void> {
    const { state } = entry;
    const { containerId } = spec;
    if (!state.spec.pod) throw new RuntimeError(RuntimeErrorCode.INVALID_SPEC, `sandbox ${state.spec.id} is not a pod's VM: it takes no more containers`);
    if (!isContainerdIdentifier(containerId) || containerId === state.spec.id) {
      throw new RuntimeError(RuntimeErrorCode.INVALID_SPEC, `container id ${JSON.stringify(containerId)} must be a containerd identifier other than the sandbox's`);
    }
    if (state.podContainers?.[containerId]) throw new RuntimeError(RuntimeErrorCode.CONTAINER_EXISTS, `pod ${state.spec.id} already holds container ${containerId}`);
    const container: PodContainerState = { rootfsDir: join(state.paths.sharedDir, CONTAINERS_DIR, containerId), created: false };
    state.podContainers = { ...state.podContainers, [containerId]: container };
    await this.store.save(state);
    try {
      const process = await this.rootfs.addBundle(spec.bundle, container.rootfsDir);
      const { podFiles, volumes } = await bundleBinds(spec.bundle);
      const ociSpec = buildContainerSpec({
        containerId,
        rootPath: `${GUEST_SHARED_DIR}/${CONTAINERS_DIR}/${containerId}`,
        mounts: [
          ...(await copyPodFiles(podFiles, join(state.paths.sharedDir, POD_FILES_DIR, containerId), `${GUEST_SHARED_DIR}/${POD_FILES_DIR}/${containerId}`)),
          ...(await this.bindVolumes(entry, containerId, volumes)),
        ],
        hostname: hostnameOf(state.spec),
        env: process.env,
        command: process.args,
        cwd: process.cwd,
        user: process.user,
        terminal: spec.tty,
      });
      await agent.createContainer({ containerId, ociSpecJson: JSON.stringify(ociSpec), storages: [] });
      container.created = true;
      container.initWaiting = true;
      await this.store.save(state);
    } catch (error) {
      await this.remove(entry, agent, containerId).catch((releaseError: unknown) =>
        this.log('error', "releasing a pod's failed container left something behind", { sandboxId: state.spec.id, containerId, error: describeError(releaseError) }),
      );
      throw error;
    }
  }

  /**
   * The container's volumes bound under the shared dir, each recorded before it is mounted, and
   * the guest mounts that put them where the bundle says.
   */
  private async bindVolumes(entry: SandboxEntry, containerId: string, volumes: readonly BundleBind[]): Promise<OciSpec['mounts']> {
    const container = this.get(entry, containerId);
    const mounts: OciSpec['mounts'] = [];
    for (const [i, volume] of volumes.entries()) {
      const name = `${VOLUMES_DIR}/${containerId}/${i}`;
      const target = join(entry.state.paths.sharedDir, name);
      container.volumes = [...(container.volumes ?? []), target];
      await this.store.save(entry.state);
      await this.rootfs.bindVolume(volume.source, target, volume.readonly);
      mounts.push({ destination: volume.destination, type: 'bind', source: `${GUEST_SHARED_DIR}/${name}`, options: ['rbind', volume.readonly ? 'ro' : 'rw'] });
    }
    return mounts;
  }

  /** Starts the added container's waiting init. */
  async start(entry: SandboxEntry, agent: AgentApi, containerId: string): Promise<void> {
    const container = this.get(entry, containerId);
    if (!container.initWaiting) throw new RuntimeError(RuntimeErrorCode.CONTAINER_WRONG_STATE, `container ${containerId}'s init is not waiting to start`);
    await agent.startContainer(containerId);
    container.initWaiting = undefined;
    await this.store.save(entry.state);
  }

  /** The added container, or CONTAINER_NOT_FOUND. */
  get(entry: SandboxEntry, containerId: string): PodContainerState {
    const container = entry.state.podContainers?.[containerId];
    if (!container) throw new RuntimeError(RuntimeErrorCode.CONTAINER_NOT_FOUND, `sandbox ${entry.state.spec.id} holds no container ${containerId}`);
    return container;
  }

  /** Stops and removes the added container in the guest (`agent`: while the VM runs), then its rootfs; idempotent. */
  async remove(entry: SandboxEntry, agent: AgentApi | undefined, containerId: string): Promise<void> {
    const { state } = entry;
    const container = state.podContainers?.[containerId];
    if (!container) return;
    if (container.created && agent) {
      await agent.removeContainer(containerId, CONTAINER_STOP_SECONDS);
      // A retry after a later step failed must not ask the guest again.
      container.created = false;
      await this.store.save(state);
    }
    await unbindPodContainer(this.rootfs, container);
    await rm(join(state.paths.sharedDir, POD_FILES_DIR, containerId), { recursive: true, force: true });
    delete state.podContainers?.[containerId];
    await this.store.save(state);
  }
}

/** Detaches an added container's volumes and rootfs (its removal, or its VM's release after a crash). */
export async function unbindPodContainer(rootfs: Pick<RootfsProvider, 'unbind'>, container: PodContainerState): Promise<void> {
  for (const volume of container.volumes ?? []) await rootfs.unbind(volume);
  await rootfs.unbind(container.rootfsDir);
}

/**
 * The pod's files the bundle binds in (CRI writes the pod's hosts, resolv.conf and hostname on
 * the host), copied into `hostDir` inside the shared dir, and the mounts that bind them read-only
 * over the container's own from `guestDir`: the guest agent then adds none of its own there.
 */
async function copyPodFiles(files: readonly BundleBind[], hostDir: string, guestDir: string): Promise<OciSpec['mounts']> {
  if (files.length > 0) await mkdir(hostDir, { recursive: true, mode: 0o755 });
  const mounts: OciSpec['mounts'] = [];
  for (const { destination, source } of files) {
    const stat = await lstat(source);
    if (!stat.isFile() || stat.size > MAX_POD_FILE_BYTES) {
      throw new RuntimeError(RuntimeErrorCode.INVALID_SPEC, `the bundle binds ${source} at ${destination}: not a file of at most ${MAX_POD_FILE_BYTES} bytes`);
    }
    const name = basename(destination);
    await writeFile(join(hostDir, name), await readFile(source), { mode: 0o644 });
    mounts.push({ destination, type: 'bind', source: `${guestDir}/${name}`, options: ['rbind', 'ro', 'nosuid', 'nodev', 'noexec'] });
  }
  return mounts;
}
