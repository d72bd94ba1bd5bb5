/** Options of a local Moat (see stack.mjs). */
export interface StackOptions {
  dataDir: string;
  apiPort: number;
  webPort: number;
  adminToken?: string;
  web?: boolean;
  env?: Record<string, string>;
  output?: 'inherit' | 'prefix' | 'file';
  log?: (msg: string) => void;
}
/** A running local Moat. */
export interface Stack {
  apiUrl: string;
  webUrl: string | undefined;
  adminToken: string;
  dataDir: string;
  stop(): Promise<void>;
  exited: Promise<string>;
}
/** Starts the control plane, a node agent and (unless `web: false`) the web UI as child processes. */
export function startStack(opts: StackOptions): Promise<Stack>;
