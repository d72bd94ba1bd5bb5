import { mkdir, readdir, readFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { z } from 'zod';
import { RuntimeError, RuntimeErrorCode } from '../../errors/runtime.errors';
import { AGENT_TRANSPORT_KINDS } from '../../agent/transport/agent-transport';
import { mkdirDurable, writeFileAtomic } from '../../host/fs.helpers';
import type { SavedVmFiles } from '../../hypervisor/hypervisor';
import { isolationStateSchema } from '../../jail/isolation';
import { SHARED_FS_KINDS } from '../../sharefs/shared-fs';
import { NETWORK_MODELS } from '../../network/models/network-model';
import { egressPolicySchema, networkStateSchema, plannedAddressSchema, portMappingSchema } from '../../network/network.types';
import { dnsConfigSchema } from '@moat/proto';

const sandboxPathsSchema = z
  .object({
    sandboxDir: z.string(),
    sharedDir: z.string(),
    rootfsDir: z.string(),
    consoleLog: z.string(),
    stateFile: z.string(),
    /** The runtime's own per-sandbox dir (root only); short because sun_path is limited to 108 bytes. */
    runDir: z.string(),
    /** The VMM's sockets, inside `runDir`: the one dir a jailed VMM may write to. States older than jails kept them in `runDir`. */
    socketDir: z.string().optional(),
    agentSocket: z.string(),
    qmpSocket: z.string(),
    pidFile: z.string(),
    /** How the VMM ended; optional because states written before it lack it. */
    statusFile: z.string().optional(),
    /** On tmpfs; optional because states written before boot snapshots lack it. */
    guestMemory: z.string().optional(),
  })
  .transform((paths) => ({ ...paths, socketDir: paths.socketDir ?? dirname(paths.agentSocket) }));

/** Every host path of one sandbox, derived once from the runtime's dirs and the sandbox id. */
export type SandboxPaths = z.infer<typeof sandboxPathsSchema>;

/** Where restored VMs keep their RAM: it must be tmpfs, or guest memory would be written to disk. */
export const DEFAULT_MEMORY_DIR = '/dev/shm/moat';

export function sandboxPaths(dataDir: string, runDir: string, id: string, memoryDir = DEFAULT_MEMORY_DIR): SandboxPaths {
  const sandboxDir = join(dataDir, 'sandboxes', id);
  const sandboxRunDir = join(runDir, id);
  const socketDir = join(sandboxRunDir, 'vm');
  return {
    sandboxDir,
    sharedDir: join(sandboxDir, 'shared'),
    rootfsDir: join(sandboxDir, 'shared', 'rootfs'),
    consoleLog: join(sandboxDir, 'console.log'),
    stateFile: join(sandboxDir, 'state.json'),
    runDir: sandboxRunDir,
    socketDir,
    agentSocket: join(socketDir, 'agent.sock'),
    qmpSocket: join(socketDir, 'qmp.sock'),
    pidFile: join(sandboxRunDir, 'vmm.pid'),
    statusFile: join(sandboxRunDir, 'vmm.status'),
    guestMemory: join(memoryDir, `${id}.mem`),
  };
}

const attachmentSchema = z.discriminatedUnion('kind', [
  z.object({ kind: z.literal('9p'), hostPath: z.string(), mountTag: z.string() }),
  z.object({ kind: z.literal('virtiofs'), socketPath: z.string(), mountTag: z.string() }),
  z.object({ kind: z.literal('block'), imagePath: z.string() }),
]);

/** A container added to a pod's VM, as its progress stands. */
const podContainerSchema = z.object({
  /** Its rootfs on the host, inside the shared dir. */
  rootfsDir: z.string(),
  /** Where its volumes are bound on the host, inside the shared dir (recorded before each is mounted). */
  volumes: z.array(z.string()).optional(),
  /** Set once it exists in the guest. */
  created: z.boolean(),
  /** Created, its init waiting for `startContainer`. */
  initWaiting: z.boolean().optional(),
});
export type PodContainerState = z.infer<typeof podContainerSchema>;

export const sandboxStateSchema = z.object({
  version: z.literal(1),
  spec: z.object({
    id: z.string(),
    vcpus: z.number().int().positive(),
    memoryMiB: z.number().int().positive(),
    env: z.record(z.string(), z.string()),
    command: z.array(z.string()).optional(),
    image: z.string().optional(),
    rootfs: z.enum(SHARED_FS_KINDS).optional(),
    tenantId: z.string().optional(),
    dns: dnsConfigSchema.optional(),
    network: z
      .object({
        model: z.enum(NETWORK_MODELS),
        ports: z.array(portMappingSchema.partial({ hostPort: true })),
        egress: egressPolicySchema.optional(),
        planned: plannedAddressSchema.optional(),
      })
      .optional(),
    bundle: z.string().optional(),
    containerd: z.object({ namespace: z.string(), id: z.string() }).optional(),
    deferStart: z.boolean().optional(),
    tty: z.boolean().optional(),
    pod: z.object({ netns: z.string().optional(), hostname: z.string().optional() }).optional(),
    forkOf: z.object({ sandboxId: z.string(), forkId: z.string(), count: z.number().int().positive() }).optional(),
  }),
  state: z.enum(['creating', 'running', 'hibernating', 'hibernated', 'waking', 'stopping', 'failed']),
  /** A clone's container id in its guest: its source's (the guest is the source's, copied). Absent: the sandbox id. */
  guestContainerId: z.string().optional(),
  /** While a clone starts: the fork's captured VM state it is woken from (see sandbox/forks). */
  fork: z.object({ stateFile: z.string(), memoryFile: z.string().optional() }).optional(),
  /**
   * Set once its VM is saved (see sandbox/hibernation): what waking it needs. Its VM, VMM and
   * network plumbing are released; its rootfs, jail and disk are kept.
   */
  hibernation: z
    .object({
      stateFile: z.string(),
      /** The guest's RAM, beside the state (a restored VM's, whose RAM is a file); absent: it is in the state. */
      memoryFile: z.string().optional(),
      savedBytes: z.number().int().nonnegative(),
      /** The guest NIC's MAC and address, which the woken guest still has: the network is plumbed with them again. */
      mac: z.string().optional(),
      address: z.string().optional(),
    })
    .optional(),
  /** It came from another node (see sandbox/moves): its VM id, not its sandbox id, names what it holds on this host, its network included. */
  moved: z.boolean().optional(),
  /**
   * While it arrives by live migration (see sandbox/live-migration): the size of the disk the
   * stream fills, and the guest NIC's MAC and address, which the network is plumbed with.
   */
  arriving: z.object({ diskBytes: z.number().int().nonnegative(), mac: z.string().optional(), address: z.string().optional() }).optional(),
  /**
   * The id the VM, its jail and its dirs are named by, when it is not the sandbox's own: a VM
   * started for the warm pool and handed to this sandbox.
   */
  vmId: z.string().optional(),
  /** A warm-pool VM waiting for a sandbox: never re-adopted, released when found after a restart. */
  pooled: z.boolean().optional(),
  accel: z.enum(['kvm', 'tcg']),
  transport: z.enum(AGENT_TRANSPORT_KINDS),
  sharedFsKind: z.enum(SHARED_FS_KINDS),
  /** Set once the shared fs is started; what `stop` needs to release it. */
  sharedFs: z.object({ kind: z.enum(SHARED_FS_KINDS), daemonPid: z.number().int().optional(), attachment: attachmentSchema }).optional(),
  /** Set before the network is plumbed, completed as it is; what release needs to undo it. */
  network: networkStateSchema.optional(),
  /** The VMM's jail and host cgroup, set as they are acquired; what release needs to undo them. */
  isolation: isolationStateSchema.optional(),
  /** Set once the VMM is started. */
  vmmPid: z.number().int().positive().optional(),
  /** The VM was restored from a boot snapshot rather than booted. */
  restored: z.boolean().optional(),
  paths: sandboxPathsSchema,
  timings: z.array(z.object({ phase: z.string(), ms: z.number() })),
  guest: z.object({ kernelRelease: z.string(), agentVersion: z.string() }).optional(),
  /**
   * The instance the guest agent answered its health checks with, from the first one on (see
   * SandboxWatchdog): it moves with the VM, and another one means the agent was started again.
   */
  agentInstance: z.string().optional(),
  /** For images and bundles: what the container's init runs (image config, config.json); exec inherits env and cwd. */
  process: z
    .object({
      args: z.array(z.string()),
      env: z.record(z.string(), z.string()),
      cwd: z.string(),
      user: z.object({ uid: z.number().int(), gid: z.number().int() }),
    })
    .optional(),
  manifestDigest: z.string().optional(),
  /** Progress markers so teardown only undoes what was done. */
  sandboxCreated: z.boolean(),
  containerCreated: z.boolean(),
  /** The container is created and its init waits for `startContainer` (a `deferStart` sandbox). */
  initWaiting: z.boolean().optional(),
  /** A pod's VM: its shared dir is a shared mount, so rootfses bound under it later reach the guest. */
  podShare: z.boolean().optional(),
  /** A pod's VM: the containers added to it, by id; recorded before their rootfs is mounted. */
  podContainers: z.record(z.string(), podContainerSchema).optional(),
});

/** What `state.json` holds: enough to re-adopt the sandbox or release everything it holds. */
export type SandboxState = z.infer<typeof sandboxStateSchema>;

/** A sandbox's (or a warm-pool VM's) state before anything is acquired for it. */
export function newSandboxState(
  spec: SandboxState['spec'],
  vm: Pick<SandboxState, 'accel' | 'transport' | 'sharedFsKind' | 'paths' | 'pooled'>,
): SandboxState {
  return { version: 1, spec: structuredClone(spec), state: 'creating', ...vm, timings: [], sandboxCreated: false, containerCreated: false };
}

/** The id the sandbox's VM, jail and dirs are named by. */
export function vmIdOf(state: Pick<SandboxState, 'spec' | 'vmId'>): string {
  return state.vmId ?? state.spec.id;
}

/** Why this sandbox's VM cannot be saved (hibernated, forked), or undefined when it can. */
export function vmNotSavable(state: Pick<SandboxState, 'sharedFsKind' | 'spec' | 'transport'>): string | undefined {
  if (state.sharedFsKind !== 'block') {
    return `its rootfs is ${state.sharedFsKind}: QEMU 7.2 saves neither a vhost-user-fs device nor a mounted 9p share, so only a rootfs: block sandbox can hibernate`;
  }
  if (state.spec.pod) return "it is a CRI pod's VM";
  if (state.transport !== 'virtio-serial') return `its agent channel is ${state.transport}, whose connections QEMU does not save`;
  return undefined;
}

/**
 * Where this sandbox's VM is saved (hibernated, or captured for a fork): its state, and its RAM
 * beside it when its RAM is a file (a restored VM's). `dir` and `base` name the files.
 */
export function savedVmFilesFor(state: Pick<SandboxState, 'restored'>, dir: string, base: string): { stateFile: string; memoryFile?: string } {
  return { stateFile: join(dir, `${base}.state`), ...(state.restored && { memoryFile: join(dir, `${base}.ram`) }) };
}

/** A saved VM's files as `state.json` records them (`stateFile`, `memoryFile`), as the hypervisor takes them. */
export function savedVmOf(saved: { stateFile: string; memoryFile?: string }): SavedVmFiles {
  return { state: saved.stateFile, ...(saved.memoryFile !== undefined && { memory: saved.memoryFile }) };
}

/** The id the guest knows the sandbox's container by. */
export function containerIdOf(state: Pick<SandboxState, 'spec' | 'guestContainerId'>): string {
  return state.guestContainerId ?? state.spec.id;
}

export interface LoadedStates {
  states: SandboxState[];
  /** Sandbox dirs with no state file: a start that died before it saved one, so it holds nothing else. */
  empty: { id: string; dir: string }[];
  /** Sandbox dirs whose state could not be read; the caller decides what to do with them. */
  unreadable: { dir: string; error: RuntimeError }[];
}

/** `<dataDir>/sandboxes/<id>/state.json`, one file per sandbox, written atomically. */
export class SandboxStateStore {
  readonly sandboxesDir: string;

  constructor(dataDir: string) {
    this.sandboxesDir = join(dataDir, 'sandboxes');
  }

  async save(state: SandboxState): Promise<void> {
    await mkdirDurable(state.paths.sandboxDir);
    await writeFileAtomic(state.paths.stateFile, `${JSON.stringify(state, null, 2)}\n`);
  }

  async loadAll(): Promise<LoadedStates> {
    await mkdir(this.sandboxesDir, { recursive: true });
    const result: LoadedStates = { states: [], empty: [], unreadable: [] };
    for (const entry of await readdir(this.sandboxesDir, { withFileTypes: true })) {
      if (!entry.isDirectory()) continue;
      const dir = join(this.sandboxesDir, entry.name);
      try {
        const text = await readFile(join(dir, 'state.json'), 'utf8').catch((error: NodeJS.ErrnoException) => {
          if (error.code === 'ENOENT') return undefined;
          throw error;
        });
        if (text === undefined) {
          result.empty.push({ id: entry.name, dir });
          continue;
        }
        const state = sandboxStateSchema.parse(JSON.parse(text));
        if (vmIdOf(state) !== entry.name) throw new Error(`state.json names VM ${vmIdOf(state)}`);
        result.states.push(state);
      } catch (cause) {
        result.unreadable.push({ dir, error: new RuntimeError(RuntimeErrorCode.STATE_CORRUPT, `read sandbox state in ${dir}`, { cause }) });
      }
    }
    return result;
  }
}
