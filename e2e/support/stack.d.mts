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
  log?: (msg: string) => void;
}
/** A running local Moat. */
export interface Stack {
  apiUrl: string;
  webUrl: string | undefined;
  adminToken: string;
  dataDir: string;
  /** The CA the API's certificate is checked against, when it serves TLS with a known CA. */
  caFile: string | undefined;
  stop(): Promise<void>;
  exited: Promise<string>;
}
/** Starts the control plane, a node agent and (unless `web: false`) the web UI as child processes. */
export function startStack(opts: StackOptions): Promise<Stack>;
