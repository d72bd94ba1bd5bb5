/** CRI (runtime.v1) over gRPC on containerd's socket (see cri.mjs and cri/api.proto). */
import type { TestRegistry } from '@moat/test-registry';
import type { OwnContainerd } from './containerd.mjs';

export const CRI_PROTO: string;
/** containerd's namespace for everything of CRI's. */
export const CRI_NAMESPACE: string;
/** The pause image's entrypoint: waits until SIGTERM. */
export const PAUSE_ENTRYPOINT: string[];

export interface CallOptions {
  /** The call's deadline; 120 s by default. */
  timeoutMs?: number;
}
type Call<Request, Response> = (request: Request, opts?: CallOptions) => Promise<Response>;
type Labels = Record<string, string>;

// Messages as cri.mjs decodes them: the proto's snake_case names, enums by name, int64 as
// number, bytes as Buffer, every field present (an unset message field is null).

export type PodSandboxState = 'SANDBOX_READY' | 'SANDBOX_NOTREADY';
export type ContainerState = 'CONTAINER_CREATED' | 'CONTAINER_RUNNING' | 'CONTAINER_EXITED' | 'CONTAINER_UNKNOWN';

export interface PodSandboxMetadata {
  name: string;
  uid: string;
  namespace: string;
  attempt?: number;
}

export interface PodSandboxConfig {
  metadata: PodSandboxMetadata;
  hostname?: string;
  log_directory?: string;
  dns_config?: { servers?: string[]; searches?: string[]; options?: string[] };
  labels?: Labels;
  annotations?: Labels;
  linux?: {
    cgroup_parent?: string;
    sysctls?: Labels;
    security_context?: Record<string, unknown>;
    /** The sum of the pod's containers' limits (the kubelet's, 1.23 and later). */
    resources?: { memory_limit_in_bytes?: number; cpu_quota?: number; cpu_period?: number };
  };
}

export interface ContainerMetadata {
  name: string;
  attempt?: number;
}

export interface ContainerConfig {
  metadata: ContainerMetadata;
  image: { image: string };
  command?: string[];
  args?: string[];
  working_dir?: string;
  envs?: { key: string; value: string }[];
  /** Volumes: a host dir or file at container_path. */
  mounts?: { container_path: string; host_path: string; readonly?: boolean }[];
  labels?: Labels;
  annotations?: Labels;
  /** Relative to the pod's log_directory. */
  log_path?: string;
  linux?: { resources?: Record<string, unknown>; security_context?: Record<string, unknown> };
}

export interface PodSandboxStatus {
  id: string;
  metadata: Required<PodSandboxMetadata>;
  state: PodSandboxState;
  created_at: number;
  network: { ip: string; additional_ips: { ip: string }[] } | null;
  labels: Labels;
  annotations: Labels;
  runtime_handler: string;
}

export interface PodSandbox {
  id: string;
  metadata: Required<PodSandboxMetadata>;
  state: PodSandboxState;
  created_at: number;
  labels: Labels;
  annotations: Labels;
  runtime_handler: string;
}

export interface ContainerStatus {
  id: string;
  metadata: Required<ContainerMetadata>;
  state: ContainerState;
  /** Nanoseconds since the epoch, like started_at and finished_at. */
  created_at: number;
  started_at: number;
  finished_at: number;
  exit_code: number;
  image: { image: string } | null;
  image_ref: string;
  reason: string;
  message: string;
  labels: Labels;
  annotations: Labels;
  log_path: string;
}

export interface Container {
  id: string;
  pod_sandbox_id: string;
  metadata: Required<ContainerMetadata>;
  image: { image: string } | null;
  image_ref: string;
  state: ContainerState;
  created_at: number;
  labels: Labels;
  annotations: Labels;
}

export interface Image {
  id: string;
  repo_tags: string[];
  repo_digests: string[];
  size: number;
  username: string;
}

export interface RuntimeService {
  Version: Call<{ version?: string }, { version: string; runtime_name: string; runtime_version: string; runtime_api_version: string }>;
  /** runtime_handler: a key of containerd's CRI runtimes, "" for the default (runc). */
  RunPodSandbox: Call<{ config: PodSandboxConfig; runtime_handler?: string }, { pod_sandbox_id: string }>;
  StopPodSandbox: Call<{ pod_sandbox_id: string }, object>;
  RemovePodSandbox: Call<{ pod_sandbox_id: string }, object>;
  /** With verbose, info.info is containerd's own view as JSON. */
  PodSandboxStatus: Call<{ pod_sandbox_id: string; verbose?: boolean }, { status: PodSandboxStatus; info: Labels }>;
  ListPodSandbox: Call<{ filter?: { id?: string; state?: { state: PodSandboxState }; label_selector?: Labels } }, { items: PodSandbox[] }>;
  CreateContainer: Call<{ pod_sandbox_id: string; config: ContainerConfig; sandbox_config: PodSandboxConfig }, { container_id: string }>;
  StartContainer: Call<{ container_id: string }, object>;
  /** timeout: seconds between SIGTERM and SIGKILL. */
  StopContainer: Call<{ container_id: string; timeout?: number }, object>;
  RemoveContainer: Call<{ container_id: string }, object>;
  ListContainers: Call<{ filter?: { id?: string; state?: { state: ContainerState }; pod_sandbox_id?: string; label_selector?: Labels } }, { containers: Container[] }>;
  ContainerStatus: Call<{ container_id: string; verbose?: boolean }, { status: ContainerStatus; info: Labels }>;
  UpdateContainerResources: Call<{ container_id: string; linux: { memory_limit_in_bytes?: number; cpu_quota?: number; cpu_period?: number } }, object>;
  /** timeout: seconds, 0 for none. */
  ExecSync: Call<{ container_id: string; cmd: string[]; timeout?: number }, { stdout: Buffer; stderr: Buffer; exit_code: number }>;
}

export interface ImageService {
  ListImages: Call<{ filter?: { image: { image: string } } }, { images: Image[] }>;
  /** image is null when containerd does not have it. */
  ImageStatus: Call<{ image: { image: string }; verbose?: boolean }, { image: Image | null; info: Labels }>;
  PullImage: Call<{ image: { image: string }; sandbox_config?: PodSandboxConfig }, { image_ref: string }>;
}

export interface CriClient {
  runtime: RuntimeService;
  image: ImageService;
  close(): void;
}

/** A CRI client on containerd's socket; every call a promise, its errors naming the call. */
export function criClient(socketPath: string): CriClient;
/** Waits until the CRI plugin answers Version (it does not until it has initialized). */
export function waitForCri(client: CriClient, timeoutMs?: number): ReturnType<RuntimeService['Version']>;
/** Pushes the pause (sandbox) image and a busybox image for containers; returns their references. */
export function pushCriImages(registry: Pick<TestRegistry, 'push'>): Promise<{ pause: string; busybox: string }>;
/** Pulls `refs` from the test registry into containerd's k8s.io namespace, where CRI finds them. */
export function pullIntoCri(containerd: Pick<OwnContainerd, 'ctr'>, refs: string[]): Promise<void>;
