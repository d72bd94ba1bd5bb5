import { readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { resolve, join } from 'node:path';
import { DEFAULT_HEARTBEAT_INTERVAL_MS, isIpv4, MAX_CPU_OVERCOMMIT, MAX_DNS_SERVERS, MAX_NODE_NAME_LENGTH, NETWORK_MODELS, type NetworkModel } from '@moat/proto';
import { DEFAULT_LOG_BUFFER_BYTES, parseIdRange, parseWarmPool, type IdRange, type PoolSize } from '@moat/runtime-core';
import { z } from 'zod';
import { parseControlPlane } from './control-plane.config';

/** The node agent's configuration, read once from the environment at start. */
export interface AgentConfig {
  dataDir: string;
  /** Where this agent keeps its own state (node id, sandboxes). */
  nodeDir: string;
  /** Where the VMs' sockets live, one dir per sandbox (MOAT_RUN_DIR); a tmpfs, short (unix socket paths are limited to 107 bytes). */
  runDir: string;
  controlPlaneUrl: string;
  /** PEM of MOAT_TLS_CA, the authority the control plane's certificate is checked against; absent: the system store. */
  controlPlaneCa?: string;
  /** The control plane is plain HTTP off this host (MOAT_INSECURE=true): warned about at start. */
  insecure: boolean;
  /**
   * How the node proves who it is, in order: the credential it got when it joined (kept in
   * `nodeDir`), a single-use join token to get one, or a fixed token (the admin token on a
   * single-host install). Secrets; never logged.
   */
  auth: { joinToken?: string; token?: string };
  nodeName: string;
  accel: 'auto' | 'kvm' | 'tcg';
  sharedFs: '9p' | 'virtiofs' | 'block' | undefined;
  /** Restore sandbox VMs from boot snapshots instead of booting each one. */
  bootSnapshots: boolean;
  /** VMs per shape restored ahead of time and handed to matching creates (MOAT_WARM_POOL); empty: none. */
  warmPool: PoolSize[];
  /** Jail every VMM (false only for debugging: logged at start and shown on the node). */
  jail: boolean;
  /** The host uids (and gids) jailed VMMs run as. */
  jailIdRange: IdRange;
  /** Resolvers for sandboxes that name none: MOAT_DNS_SERVERS, else the node's own minus loopback ones. */
  dnsServers: string[];
  /** Registries (`host[:port]`) pulled from over plain HTTP; loopback ones always are. */
  insecureRegistries: string[];
  /** Unreferenced image layers are kept up to this many bytes. */
  imageCacheMaxBytes: number;
  /** Bytes of each sandbox's main-process output kept on the node for `GET /v1/sandboxes/:id/logs` (MOAT_LOG_BUFFER_BYTES). */
  logBufferBytes: number;
  /** Per-registry credentials; secret, never logged. */
  registryAuth: Record<string, { username: string; password: string }>;
  heartbeatMs: number;
  /** vCPUs offered per host CPU (MOAT_NODE_CPU_OVERCOMMIT), told to the control plane in the hello. */
  cpuOvercommit: number;
  /** Memory kept for the host and offered to no sandbox (MOAT_NODE_MEMORY_RESERVE_MIB). */
  memoryReserveMiB: number;
  /** Stop every sandbox on exit (development: `npm start`); otherwise VMs outlive the agent. */
  stopSandboxesOnExit: boolean;
  logLevel: string;
  /** Where `GET /metrics` is served for Prometheus; absent: not served (`off`). */
  metricsAddr?: { host: string; port: number };
  network: {
    /** Used when the control plane names no model for a sandbox. */
    defaultModel: NetworkModel;
    cniPath: string[];
    /** Absent: the built-in bridge + host-local + portmap + bandwidth list. */
    conflistFile?: string;
    bridgePrefix: string;
    subnetPool: string;
    /** This node's address on the network between nodes (MOAT_NODE_ADDRESS); absent: as the control plane sees it. */
    nodeAddress?: string;
  };
}

/**
 * vCPUs offered per host CPU unless MOAT_NODE_CPU_OVERCOMMIT says otherwise: OpenStack Nova's
 * default `cpu_allocation_ratio` for shared vCPUs. Idle microVMs use little CPU, so on ordinary
 * hosts memory, not CPU, limits how many sandboxes a node holds.
 */
export const DEFAULT_NODE_CPU_OVERCOMMIT = 16;
/** Memory kept for the host itself (kernel, node agent, host daemons) unless MOAT_NODE_MEMORY_RESERVE_MIB says otherwise. */
export const DEFAULT_NODE_MEMORY_RESERVE_MIB = 1024;

/** Bounds of MOAT_LOG_BUFFER_BYTES: at least a few pages of output, at most what many sandboxes per node can afford. */
const MIN_LOG_BUFFER_BYTES = 64 * 1024;
const MAX_LOG_BUFFER_BYTES = 64 * 1024 * 1024;

/** Leaves room under MOAT_RUN_DIR for `/<sandbox uuid>/<socket name>` within sun_path's 107 bytes. */
const MAX_RUN_DIR_LENGTH = 48;

/** A zod transform through `parse`, whose error message becomes the variable's problem. */
function parsedBy<T>(parse: (text: string) => T) {
  return (text: string, ctx: z.RefinementCtx): T => {
    try {
      return parse(text);
    } catch (error) {
      ctx.addIssue({ code: 'custom', message: (error as Error).message });
      return z.NEVER;
    }
  };
}

const envSchema = z.object({
  MOAT_DATA_DIR: z.string().min(1).default('./.moat'),
  MOAT_RUN_DIR: z.string().min(1).max(MAX_RUN_DIR_LENGTH).default('/run/moat'),
  MOAT_API_PORT: z.coerce.number().int().min(1).max(65535).default(8080),
  MOAT_CONTROL_PLANE_URL: z.string().url().optional(),
  MOAT_TLS_CA: z.string().min(1).optional(),
  MOAT_INSECURE: z.enum(['true', 'false']).default('false'),
  MOAT_NODE_TOKEN: z.string().min(1).optional(),
  MOAT_JOIN_TOKEN: z.string().min(1).optional(),
  MOAT_ADMIN_TOKEN: z.string().min(1).optional(),
  MOAT_NODE_NAME: z.string().min(1).max(MAX_NODE_NAME_LENGTH).optional(),
  MOAT_ACCEL: z.enum(['auto', 'kvm', 'tcg']).default('auto'),
  MOAT_SHARED_FS: z.enum(['9p', 'virtiofs', 'block']).optional(),
  MOAT_BOOT_SNAPSHOTS: z.enum(['true', 'false']).default('true'),
  MOAT_JAIL: z.enum(['true', 'false']).default('true'),
  MOAT_WARM_POOL: z.string().default('').transform(parsedBy(parseWarmPool)),
  MOAT_DNS_SERVERS: z
    .string()
    .transform((list) => list.split(',').map((server) => server.trim()).filter(Boolean))
    .refine((servers) => servers.every(isIpv4), 'a comma-separated list of IPv4 addresses')
    .refine((servers) => servers.length <= MAX_DNS_SERVERS, `at most ${MAX_DNS_SERVERS} servers`)
    .optional(),
  MOAT_JAIL_ID_RANGE: z.string().default('200000-265535').transform(parsedBy(parseIdRange)),
  MOAT_INSECURE_REGISTRIES: z.string().default(''),
  MOAT_IMAGE_CACHE_MAX_BYTES: z.coerce.number().int().nonnegative().default(10 * 1024 ** 3),
  MOAT_REGISTRY_AUTH: z.string().optional(),
  MOAT_LOG_BUFFER_BYTES: z.coerce.number().int().min(MIN_LOG_BUFFER_BYTES).max(MAX_LOG_BUFFER_BYTES).default(DEFAULT_LOG_BUFFER_BYTES),
  MOAT_HEARTBEAT_MS: z.coerce.number().int().min(100).max(60_000).default(DEFAULT_HEARTBEAT_INTERVAL_MS),
  MOAT_NODE_CPU_OVERCOMMIT: z.coerce.number().positive().max(MAX_CPU_OVERCOMMIT).default(DEFAULT_NODE_CPU_OVERCOMMIT),
  MOAT_NODE_MEMORY_RESERVE_MIB: z.coerce.number().int().nonnegative().default(DEFAULT_NODE_MEMORY_RESERVE_MIB),
  MOAT_STOP_SANDBOXES_ON_EXIT: z.enum(['true', 'false']).default('false'),
  MOAT_LOG_LEVEL: z.enum(['trace', 'debug', 'info', 'warn', 'error', 'fatal']).default('info'),
  MOAT_NODE_METRICS_ADDR: z
    .string()
    .default('127.0.0.1:9464')
    .transform((value, ctx) => {
      if (value === 'off') return undefined;
      const match = /^(?:\[([0-9a-fA-F:.]+)\]|([A-Za-z0-9.-]+)):(\d{1,5})$/.exec(value);
      const port = Number(match?.[3]);
      if (!match || port < 1 || port > 65535) {
        ctx.addIssue({ code: 'custom', message: 'host:port (e.g. 127.0.0.1:9464 or [::1]:9464), or off' });
        return z.NEVER;
      }
      return { host: match[1] ?? match[2], port };
    }),
  MOAT_NETWORK_MODEL: z.enum(NETWORK_MODELS).default('tcfilter'),
  MOAT_CNI_PATH: z.string().min(1).default('/usr/lib/cni'),
  MOAT_CNI_CONFLIST: z.string().min(1).optional(),
  MOAT_NET_BRIDGE_PREFIX: z.string().regex(/^[a-z][a-z0-9-]{0,8}$/, '1-9 of [a-z0-9-], starting with a letter').default('moat'),
  MOAT_NET_SUBNET_POOL: z.string().regex(/^\d{1,3}(\.\d{1,3}){3}\/\d{1,2}$/, 'an IPv4 CIDR').default('10.88.0.0/16'),
  MOAT_NODE_ADDRESS: z.string().refine(isIpv4, 'an IPv4 address').optional(),
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
export function loadAgentConfig(env: NodeJS.ProcessEnv = process.env, resolvConf = '/etc/resolv.conf'): AgentConfig {
  const parsed = envSchema.safeParse(env);
  if (!parsed.success) {
    throw new ConfigError(parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`));
  }
  const e = parsed.data;
  const controlPlane = parseControlPlane(
    e.MOAT_CONTROL_PLANE_URL ?? `http://127.0.0.1:${e.MOAT_API_PORT}`,
    e.MOAT_TLS_CA,
    e.MOAT_INSECURE === 'true',
  );
  if (!controlPlane.target) throw new ConfigError(controlPlane.problems);
  const registryAuth = parseRegistryAuth(e.MOAT_REGISTRY_AUTH);
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
    runDir: resolve(e.MOAT_RUN_DIR),
    controlPlaneUrl: controlPlane.target.url,
    ...(controlPlane.target.ca !== undefined && { controlPlaneCa: controlPlane.target.ca }),
    insecure: controlPlane.target.insecure,
    auth: { joinToken: e.MOAT_JOIN_TOKEN, token },
    nodeName: e.MOAT_NODE_NAME ?? hostname(),
    accel: e.MOAT_ACCEL,
    sharedFs: e.MOAT_SHARED_FS,
    bootSnapshots: e.MOAT_BOOT_SNAPSHOTS === 'true',
    warmPool: e.MOAT_WARM_POOL,
    jail: e.MOAT_JAIL === 'true',
    jailIdRange: e.MOAT_JAIL_ID_RANGE,
    dnsServers: e.MOAT_DNS_SERVERS ?? upstreamResolvers(readFileOr(resolvConf, '')),
    insecureRegistries: e.MOAT_INSECURE_REGISTRIES.split(',').map((r) => r.trim()).filter((r) => r.length > 0),
    imageCacheMaxBytes: e.MOAT_IMAGE_CACHE_MAX_BYTES,
    logBufferBytes: e.MOAT_LOG_BUFFER_BYTES,
    registryAuth,
    heartbeatMs: e.MOAT_HEARTBEAT_MS,
    cpuOvercommit: e.MOAT_NODE_CPU_OVERCOMMIT,
    memoryReserveMiB: e.MOAT_NODE_MEMORY_RESERVE_MIB,
    stopSandboxesOnExit: e.MOAT_STOP_SANDBOXES_ON_EXIT === 'true',
    logLevel: e.MOAT_LOG_LEVEL,
    ...(e.MOAT_NODE_METRICS_ADDR && { metricsAddr: e.MOAT_NODE_METRICS_ADDR }),
    network: {
      defaultModel: e.MOAT_NETWORK_MODEL,
      cniPath: e.MOAT_CNI_PATH.split(':').filter(Boolean),
      ...(e.MOAT_CNI_CONFLIST && { conflistFile: resolve(e.MOAT_CNI_CONFLIST) }),
      bridgePrefix: e.MOAT_NET_BRIDGE_PREFIX,
      subnetPool: e.MOAT_NET_SUBNET_POOL,
      ...(e.MOAT_NODE_ADDRESS && { nodeAddress: e.MOAT_NODE_ADDRESS }),
    },
  };
}

/** The node credential's file name in `nodeDir` (mode 0600). */
export const CREDENTIAL_FILE = 'credential';

const registryAuthSchema = z.record(z.string().min(1), z.object({ username: z.string(), password: z.string() }));

/** `MOAT_REGISTRY_AUTH`: `{"registry.example.com": {"username": "…", "password": "…"}}`. */
function parseRegistryAuth(raw: string | undefined): AgentConfig['registryAuth'] {
  if (raw === undefined) return {};
  let json: unknown;
  try {
    json = JSON.parse(raw);
  } catch {
    // The value is secret: say what is wrong without echoing it.
    throw new ConfigError(['MOAT_REGISTRY_AUTH: not valid JSON']);
  }
  const parsed = registryAuthSchema.safeParse(json);
  if (!parsed.success) throw new ConfigError(['MOAT_REGISTRY_AUTH: expected {"<registry>": {"username": "…", "password": "…"}}']);
  return parsed.data;
}

/**
 * The node's own IPv4 resolvers, as Docker picks them for containers: loopback ones (a local
 * stub such as systemd-resolved's 127.0.0.53) would be the sandbox's own loopback, so they go.
 */
export function upstreamResolvers(resolvConfText: string): string[] {
  const servers = [...resolvConfText.matchAll(/^\s*nameserver\s+(\S+)/gm)].map((m) => m[1]);
  return servers.filter((server) => isIpv4(server) && !server.startsWith('127.')).slice(0, MAX_DNS_SERVERS);
}

function readFileOr(path: string, fallback: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return fallback;
  }
}

function readTokenFile(path: string): string | undefined {
  try {
    return readFileSync(path, 'utf8').trim() || undefined;
  } catch {
    return undefined;
  }
}
