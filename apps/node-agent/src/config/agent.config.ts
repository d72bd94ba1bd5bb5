import { readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { resolve, join } from 'node:path';
import { z } from 'zod';

/** The node agent's configuration, read once from the environment at start. */
export interface AgentConfig {
  dataDir: string;
  /** Where this agent keeps its own state (node id, sandboxes). */
  nodeDir: string;
  controlPlaneUrl: string;
  /**
   * How the node proves who it is, in order: the credential it got when it joined (kept in
   * `nodeDir`), a single-use join token to get one, or a fixed token (the admin token on a
   * single-host install). Secrets; never logged.
   */
  auth: { joinToken?: string; token?: string };
  nodeName: string;
  accel: 'auto' | 'kvm' | 'tcg';
  sharedFs: '9p' | 'virtiofs' | undefined;
  heartbeatMs: number;
  /** Stop every sandbox on exit (development: `npm start`); otherwise VMs outlive the agent. */
  stopSandboxesOnExit: boolean;
  logLevel: string;
}

const envSchema = z.object({
  MOAT_DATA_DIR: z.string().min(1).default('./.moat'),
  MOAT_API_PORT: z.coerce.number().int().min(1).max(65535).default(8080),
  MOAT_CONTROL_PLANE_URL: z.string().url().optional(),
  MOAT_NODE_TOKEN: z.string().min(1).optional(),
  MOAT_JOIN_TOKEN: z.string().min(1).optional(),
  MOAT_ADMIN_TOKEN: z.string().min(1).optional(),
  MOAT_NODE_NAME: z.string().min(1).max(253).optional(),
  MOAT_ACCEL: z.enum(['auto', 'kvm', 'tcg']).default('auto'),
  MOAT_SHARED_FS: z.enum(['9p', 'virtiofs']).optional(),
  MOAT_HEARTBEAT_MS: z.coerce.number().int().min(100).max(60_000).default(5_000),
  MOAT_STOP_SANDBOXES_ON_EXIT: z.enum(['true', 'false']).default('false'),
  MOAT_LOG_LEVEL: z.enum(['trace', 'debug', 'info', 'warn', 'error', 'fatal']).default('info'),
});

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`invalid node agent configuration:\n  - ${problems.join('\n  - ')}`);
    this.name = 'ConfigError';
  }
}

/**
 * Parses the environment. Without a join token, the token defaults to the control plane's
 * admin token (from `MOAT_ADMIN_TOKEN` or `$MOAT_DATA_DIR/admin-token`) so a single-host
 * install needs no setup. A node that joined earlier needs neither (its credential is kept).
 */
export function loadAgentConfig(env: NodeJS.ProcessEnv = process.env): AgentConfig {
  const parsed = envSchema.safeParse(env);
  if (!parsed.success) {
    throw new ConfigError(parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`));
  }
  const e = parsed.data;
  const dataDir = resolve(e.MOAT_DATA_DIR);
  const nodeDir = join(dataDir, 'node');
  const token = e.MOAT_NODE_TOKEN ?? e.MOAT_ADMIN_TOKEN ?? readTokenFile(join(dataDir, 'admin-token'));
  const joined = readTokenFile(join(nodeDir, CREDENTIAL_FILE)) !== undefined;
  if (!token && !e.MOAT_JOIN_TOKEN && !joined) {
    throw new ConfigError([
      `MOAT_JOIN_TOKEN: not set, no credential in ${join(nodeDir, CREDENTIAL_FILE)}, and no MOAT_NODE_TOKEN or admin token`,
    ]);
  }
  return {
    dataDir,
    nodeDir,
    controlPlaneUrl: e.MOAT_CONTROL_PLANE_URL ?? `http://127.0.0.1:${e.MOAT_API_PORT}`,
    auth: { joinToken: e.MOAT_JOIN_TOKEN, token },
    nodeName: e.MOAT_NODE_NAME ?? hostname(),
    accel: e.MOAT_ACCEL,
    sharedFs: e.MOAT_SHARED_FS,
    heartbeatMs: e.MOAT_HEARTBEAT_MS,
    stopSandboxesOnExit: e.MOAT_STOP_SANDBOXES_ON_EXIT === 'true',
    logLevel: e.MOAT_LOG_LEVEL,
  };
}

/** The node credential's file name in `nodeDir` (mode 0600). */
export const CREDENTIAL_FILE = 'credential';

function readTokenFile(path: string): string | undefined {
  try {
    return readFileSync(path, 'utf8').trim() || undefined;
  } catch {
    return undefined;
  }
}
