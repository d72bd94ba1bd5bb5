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

export function startContainerd(opts: { dir: string; env?: Record<string, string>; log?: (message: string) => void }): Promise<OwnContainerd>;
