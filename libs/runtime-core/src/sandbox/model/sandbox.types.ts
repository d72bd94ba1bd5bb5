import type { GuestImage } from '@moat/guest-image';
import type { DnsConfig } from '@moat/proto';
import type { Accel } from '../../host/host-info';
import type { AgentTransportKind } from '../../agent/transport/agent-transport';
import type { NetworkOptions } from '../../network/sandbox-networks';
import type { PortMapping, SandboxNetworkSpec } from '../../network/network.types';
import type { SharedFsKind } from '../../sharefs/shared-fs';
import type { RegistryCredentials } from '../../image/registry.client';
import type { IdRange } from '../../jail/jail-ids';
import type { Log } from '../../log/log.types';

export type { GuestImage };

/** Options for {@link SandboxRuntime.open}. */
export interface RuntimeOptions {
  /** Per-sandbox directories and state live under `<dataDir>/sandboxes/<id>/`. */
  dataDir: string;
  /** Unix sockets live under `<runDir>/<id>/` (short paths: sun_path is 108 bytes). Default `/run/moat`. */
  runDir?: string;
  guestImage: GuestImage;
  /** `auto` (default) uses KVM when the CPU has vmx/svm and /dev/kvm opens read-write, else TCG. */
  accel?: 'auto' | Accel;
  /** How the container rootfs reaches the guest when a sandbox does not say; default `virtiofs`. */
  sharedFs?: SharedFsKind;
  /** Image pulls: registries reached over plain HTTP, credentials, and the layer cache bound. */
  images?: ImageOptions;
  /**
   * Restore VMs from boot snapshots instead of booting them, where the transport allows it
   * (virtio-serial) and `memoryDir` is tmpfs. Default true.
   */
  bootSnapshots?: boolean;
  /** tmpfs dir holding restored VMs' RAM files; default `/dev/shm/moat`. */
  memoryDir?: string;
  /** CNI and tenant-network settings; without them a sandbox that asks for a network fails. */
  network?: NetworkOptions;
  /** Resolvers for sandboxes that name none (`MOAT_DNS_SERVERS`, or the node's own minus loopback ones). */
  dnsServers?: string[];
  /**
   * Jail every VMM (its own uid from `jailIdRange`, namespaces, root, seccomp, no capabilities).
   * Default true; false exists for debugging only. Host cgroups apply either way.
   */
  jail?: boolean;
  /** uids (and gids) jailed VMMs run as; default 200000-265535. */
  jailIdRange?: IdRange;
  /** Host-wide uid leases, shared by every runtime on the host; default `/run/moat/jail-ids`. */
  jailIdsDir?: string;
  /** Sandbox cgroups are `<cgroupParent>/<sandbox id>` in each hierarchy; default `moat`. */
  cgroupParent?: string;
  /**
   * VMs per shape started ahead of time (`MOAT_WARM_POOL`): a create of a matching shape whose
   * rootfs is shared by virtio-fs is handed one. Needs boot snapshots; default none.
   */
  warmPool?: readonly PoolSize[];
  /** Bytes of each sandbox's main-process output kept on the node (oldest dropped first); default 1 MiB. */
  logBufferBytes?: number;
  log?: Log;
}

export interface ImageOptions {
  /** `host[:port]` of registries reached over plain HTTP (loopback registries always are). */
  insecureRegistries?: readonly string[];
  credentials?: (registry: string) => RegistryCredentials | undefined;
  /** Unreferenced layers are kept up to this many bytes; default 10 GiB. */
  maxCacheBytes?: number;
}

/** The size of the VMs of one warm pool: what a sandbox must ask for to be handed one. */
export interface PoolShape {
  vcpus: number;
  memoryMiB: number;
}

/** How many VMs of one shape wait ready in the warm pool. */
export interface PoolSize extends PoolShape {
  count: number;
}

/** What the node agent asks for. */
/** Which running sandbox a clone is forked from, and the fork (one capture) it is one of `count` clones of. */
export interface ForkOf {
  sandboxId: string;
  forkId: string;
  count: number;
}

export interface SandboxSpec {
  /** A UUID; names every host object of the sandbox. */
  id: string;
  vcpus: number;
  memoryMiB: number;
  env: Record<string, string>;
  /**
   * The container's init process. With an image it replaces the image's Entrypoint and Cmd;
   * without, the default is an idle shell that exits on SIGTERM.
   */
  command?: string[];
  /** An OCI image reference (`registry/name:tag`); without one the container gets a busybox rootfs. */
  image?: string;
  /** How the rootfs reaches the guest; default the runtime's `sharedFs`. */
  rootfs?: SharedFsKind;
  /** Sandboxes of one tenant share a network segment; other tenants' are unreachable. Default `default`. */
  tenantId?: string;
  /** Absent: the VM gets no NIC at all. */
  network?: SandboxNetworkSpec;
  /** The containers' resolvers; absent: the node's (`RuntimeOptions.dns`). */
  dns?: DnsConfig;
  /**
   * An OCI bundle dir (`config.json` and a mounted `rootfs/`, as containerd makes one), instead
   * of an image: the container's rootfs is that tree, bind-mounted (the runtime never unmounts
   * the bundle's own mount), and its process is config.json's (args, env, cwd, uid and gid).
   */
  bundle?: string;
  /** The sandbox runs a containerd task: containerd owns it, the control plane only sees it. */
  containerd?: ContainerdTaskRef;
  /**
   * Create the container but leave its init process waiting for {@link SandboxRuntime.startContainer}
   * (containerd creates a task and starts it in two calls). Default false: it starts with the sandbox.
   */
  deferStart?: boolean;
  /** The container's init runs on a terminal (`ctr run -t`); its session's output is the pty's. Default false. */
  tty?: boolean;
  /**
   * The VM is a pod's (Kubernetes' through containerd's CRI): more containers join it later
   * ({@link SandboxRuntime.addContainer}), each with its own bundle rootfs, all sharing the VM's
   * kernel and network. Needs a shared-directory rootfs (virtiofs or 9p).
   */
  pod?: PodOptions;
  /**
   * A clone of a running sandbox on this node (see sandbox/forks): it starts from that
   * sandbox's memory, processes and files, captured once for the fork's `count` clones, with an
   * identity of its own (id, hostname, MAC, address, RNG).
   */
  forkOf?: ForkOf;
}

export interface PodOptions {
  /**
   * The network namespace CRI's CNI set up for the pod (`/var/run/netns/<name>`): the VM's NIC
   * joins it (a tap redirected to and from its interface, Kata's tcfilter) and the guest takes
   * that interface's MAC, addresses and routes. Absent: the pod's VM has no NIC.
   */
  netns?: string;
  /** The pod's hostname (CRI's `hostname`); absent: the sandbox id's first group, as for every sandbox. */
  hostname?: string;
}

/** A container added to a pod's VM: how its bundle and terminal were given. */
export interface PodContainerSpec {
  /** Its id in the guest and in containerd. */
  containerId: string;
  /** Its OCI bundle (config.json and a mounted rootfs/). */
  bundle: string;
  /** Its init runs on a terminal. */
  tty?: boolean;
}

/** How containerd names a task: its namespace and its id there. */
export interface ContainerdTaskRef {
  namespace: string;
  id: string;
}

/** `hibernating` → `hibernated`: its VM is being saved to / is saved on disk and gone; `waking`: being restored from there. */
export type SandboxPhaseState = 'creating' | 'running' | 'hibernating' | 'hibernated' | 'waking' | 'stopping' | 'failed';

export interface PhaseTiming {
  phase: string;
  ms: number;
}

/** The observed state of one sandbox, as reported to the control plane. */
export interface SandboxInfo {
  id: string;
  state: SandboxPhaseState;
  /** Its size, as its spec asks: what it holds of the node (its VMM's overhead comes on top). */
  vcpus: number;
  memoryMiB: number;
  /** Start phases in order: rootfs, sharefs, vmm, agent, sandbox, container. */
  timings: PhaseTiming[];
  error?: { code: string; message: string };
  /** While an image is being pulled. */
  progress?: { phase: 'pull'; bytesDone: number; bytesTotal: number };
  rootfs: SharedFsKind;
  guest?: { kernelRelease: string; agentVersion: string };
  accel: Accel;
  transport: AgentTransportKind;
  /** The guest's address and the ports published for it, once plumbed. */
  network?: { ip: string; ports: PortMapping[] };
  /** How the sandbox's VMM is fenced on the host, once its jail step ran. */
  isolation?: SandboxIsolationInfo;
  /** The containerd task it runs, when containerd started it. */
  containerd?: ContainerdTaskRef;
  /** Its VMM's host pid, while it runs. */
  vmmPid?: number;
  /** A pod's VM: the containers added to it (their ids), its own container aside. */
  podContainers?: string[];
  /** While hibernated: the bytes its saved VM state and writable rootfs take on disk. */
  savedBytes?: number;
}

/** What `GET /v1/sandboxes/:id` shows of a sandbox's fences. */
export interface SandboxIsolationInfo {
  /** The VMM runs in its own jail (uid, namespaces, root, no capabilities). */
  jailed: boolean;
  /** The host uid it runs as (0 when unjailed). */
  uid: number;
  /** QEMU's seccomp filter is on. */
  seccomp: boolean;
  /** Its host cgroup, as /proc/<pid>/cgroup names it. */
  cgroup?: string;
}

export interface ExecOptions {
  command: string[];
  stdin?: Buffer;
  env?: Record<string, string>;
  cwd?: string;
  /** Kill the process and everything it started (SIGKILL) after this long and report `timedOut`. */
  timeoutMs?: number;
  /** Run on a pseudo-terminal: stdout and stderr arrive merged on stdout. */
  tty?: boolean;
}
