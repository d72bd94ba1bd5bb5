/** Options of a local Moat (see stack.mjs). */
export interface StackOptions {
  dataDir: string;
  apiPort: number;
  webPort: number;
  adminToken?: string;
  web?: boolean;
  env?: Record<string, string>;
  output?: 'inherit' | 'prefix' | 'file';
  /** The API over HTTPS/WSS only, with a CA and certificate made (or reused) in `$dataDir/tls/`. */
  tls?: boolean;
  /** Host names and IPs the certificate names besides localhost, 127.0.0.1 and ::1. */
  tlsHosts?: string[];
  /** Above 1: that many node agents, each in a network namespace of its own on a virtual LAN (TLS implied). */
  nodes?: number;
  /** A fleet node's agent that dies is started again after this long; absent: only by `startNode`. */
  nodeRestartDelayMs?: number;
  log?: (msg: string) => void;
}
/** A node agent of the stack: `node-agent` on this host, or `node-<i>` of a fleet with its LAN address and namespace. */
export interface StackNode {
  name: string;
  address: string | undefined;
  netns: string | undefined;
  dataDir: string;
}
/** A running local Moat. */
export interface Stack {
  apiUrl: string;
  webUrl: string | undefined;
  adminToken: string;
  dataDir: string;
  /** The CA the API's certificate is checked against, when it serves TLS with a known CA. */
  caFile: string | undefined;
  nodes: StackNode[];
  /** The pid of `control-plane`, `web`, or a node's name. */
  pid(name: string): number | undefined;
  /** Starts a fleet node's agent again after it died (with the credential it joined with). */
  startNode(name: string): Promise<void>;
  stop(): Promise<void>;
  exited: Promise<string>;
}
/** Starts the control plane, a node agent and (unless `web: false`) the web UI as child processes. */
export function startStack(opts: StackOptions): Promise<Stack>;
/** One JSON request, trusting `ca` (PEM) for https. */
export function apiRequest<T = unknown>(
  url: string,
  opts?: { method?: string; token?: string; body?: unknown; ca?: string },
): Promise<{ status: number; body: T }>;
