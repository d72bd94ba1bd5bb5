/** A containerd of the test's own with Moat's runtime (see tools/containerd/containerd.mjs). */
export const MOAT_RUNTIME: string;

export interface CtrResult {
  status: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

export interface OwnContainerd {
  address: string;
  ctr(args: string[], opts?: { timeoutMs?: number; input?: string }): Promise<CtrResult>;
  logs(): string;
  stop(): Promise<void>;
}

/** containerd's CRI plugin: pods on the CNI network in cniConfDir, their sandbox process from sandboxImage. */
export interface CriOptions {
  cniBinDir: string;
  cniConfDir: string;
  /** Must be in containerd's k8s.io namespace before the first RunPodSandbox (or pullable over HTTP on loopback). */
  sandboxImage: string;
}

/** Without `cri`, containerd's CRI plugin is off. */
export function startContainerd(opts: { dir: string; env?: Record<string, string>; log?: (message: string) => void; cri?: CriOptions }): Promise<OwnContainerd>;

export interface CniNetwork {
  /** For CriOptions.cniConfDir. */
  confDir: string;
  bridge: string;
  /** Deletes the bridge, libcni's cached results for this network and the network's dir. */
  remove(): void;
}

/** A bridge network for test pods (no gateway, no masquerading, host-local IPs from `subnet`, a /24). */
export function writeCniNetwork(opts: { dir: string; bridge: string; subnet: string }): CniNetwork;
