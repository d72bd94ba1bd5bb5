import { randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { isAbsolute, join, resolve } from 'node:path';
import { DEFAULT_HEARTBEAT_TTL_MS, type Ipv4Cidr, MOVE_ARRIVAL_GRACE_MS, MOVE_SETTLE_AFTER_MS, parseIpv4Cidr } from '@moat/proto';
import { Secret } from '../common/secret';
import { parseTls, type TlsConfig } from './tls-config';

export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

export type DatabaseConfig =
  | { kind: 'sqlite'; path: string }
  | { kind: 'postgres'; url: Secret };

export const SCHEDULER_STRATEGIES = ['spread', 'binpack'] as const;
export type SchedulerStrategy = (typeof SCHEDULER_STRATEGIES)[number];

/** How the fleet is run: placement policy and node liveness. */
export interface FleetConfig {
  /** `spread`: the least loaded node; `binpack`: the fullest node that still fits. */
  schedulerStrategy: SchedulerStrategy;
  /** Capacity offered per node is its real capacity times these factors. */
  cpuOvercommit: number;
  memoryOvercommit: number;
  /** A node is expected to heartbeat within this; past it plus the grace period it is down. */
  nodeHeartbeatTtlMs: number;
  nodeGraceMs: number;
  /** How long after a move between nodes began it is settled from the nodes' heartbeats when its runner died (see AbandonedMoves). */
  moveSettleAfterMs: number;
  /** Prefix of the socket.io Redis adapter's channels, so deployments sharing a Redis stay apart. */
  redisKeyPrefix: string;
}

/** How tenant networks are planned for the whole fleet (see networks/). */
export interface NetworkConfig {
  /** Every tenant's subnet is cut from it (MOAT_NET_SUBNET_POOL, the same on every node agent). */
  subnetPool: Ipv4Cidr;
  /** The prefix length of each tenant's subnet (MOAT_NET_TENANT_PREFIX). */
  tenantPrefix: number;
}

export const DEFAULT_SUBNET_POOL = '10.88.0.0/16';
const DEFAULT_TENANT_PREFIX = 24;
/** A /28 leaves 13 sandbox addresses (less network, gateway and broadcast); anything smaller is of no use. */
const MAX_TENANT_PREFIX = 28;
const DEFAULT_NETWORK: NetworkConfig = {
  subnetPool: parseIpv4Cidr(DEFAULT_SUBNET_POOL) as Ipv4Cidr,
  tenantPrefix: DEFAULT_TENANT_PREFIX,
};

/** The control plane's configuration, read once from the environment at start. */
export class AppConfig {
  constructor(
    readonly dataDir: string,
    readonly apiHost: string,
    readonly apiPort: number,
    readonly adminToken: Secret,
    /** Where the admin token came from, for the start-up log (never the token itself). */
    readonly adminTokenSource: 'env' | 'file',
    readonly database: DatabaseConfig,
    readonly logLevel: LogLevel,
    readonly redisUrl: Secret | undefined,
    readonly fleet: FleetConfig,
    /** How often deployments and rollouts are reconciled when nothing prompts it sooner. */
    readonly reconcileIntervalMs: number = DEFAULT_RECONCILE_INTERVAL_MS,
    /** Present: the API port speaks only HTTPS and WSS (MOAT_TLS_CERT, MOAT_TLS_KEY). */
    readonly tls: TlsConfig | undefined = undefined,
    readonly network: NetworkConfig = DEFAULT_NETWORK,
    /** The largest file `PUT /v1/sandboxes/:id/files` takes (MOAT_FILES_MAX_BYTES). */
    readonly maxFileBytes: number = DEFAULT_MAX_FILE_BYTES,
  ) {}
}

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`invalid configuration:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'ConfigError';
  }
}

const MIN_ADMIN_TOKEN_LENGTH = 16;
const DEFAULT_MAX_FILE_BYTES = 1024 ** 3;
const DEFAULT_RECONCILE_INTERVAL_MS = 1_000;
const ADMIN_TOKEN_FILE = 'admin-token';

function parsePort(raw: string | undefined, problems: string[]): number {
  if (raw === undefined || raw === '') return 8080;
  const port = Number(raw);
  if (!/^\d+$/.test(raw) || port > 65535) {
    problems.push(`MOAT_API_PORT must be an integer from 0 to 65535, got "${raw}"`);
  }
  return port;
}

function parseUrl(name: string, raw: string, protocols: string[], problems: string[]): void {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    // The value may hold a password, so it is not echoed.
    problems.push(`${name} is not a valid URL`);
    return;
  }
  if (!protocols.includes(url.protocol)) {
    problems.push(`${name} must use ${protocols.join(' or ')}, got ${url.protocol}`);
  }
}

/**
 * The admin token from the environment, else the one generated on an earlier start,
 * else a new one stored (mode 0600) in the data directory for the operator to read.
 */
function resolveAdminToken(dataDir: string): string {
  const file = join(dataDir, ADMIN_TOKEN_FILE);
  mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  try {
    const stored = readFileSync(file, 'utf8').trim();
    if (stored.length >= MIN_ADMIN_TOKEN_LENGTH) return stored;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
  const token = randomBytes(32).toString('base64url');
  writeFileSync(file, `${token}\n`, { mode: 0o600 });
  return token;
}

function parseNumber(
  env: NodeJS.ProcessEnv,
  name: string,
  fallback: number,
  { min, max, integer }: { min: number; max: number; integer: boolean },
  problems: string[],
): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isFinite(value) || value < min || value > max || (integer && !Number.isInteger(value))) {
    problems.push(`${name} must be ${integer ? 'an integer' : 'a number'} from ${min} to ${max}, got "${raw}"`);
  }
  return value;
}

function parseFleet(env: NodeJS.ProcessEnv, problems: string[]): FleetConfig {
  const strategy = (env.MOAT_SCHEDULER_STRATEGY || 'spread') as SchedulerStrategy;
  if (!SCHEDULER_STRATEGIES.includes(strategy)) {
    problems.push(`MOAT_SCHEDULER_STRATEGY must be one of ${SCHEDULER_STRATEGIES.join(', ')}, got "${strategy}"`);
  }
  const factor = { min: 0.1, max: 100, integer: false };
  const ms = { min: 100, max: 3_600_000, integer: true };
  const prefix = env.MOAT_REDIS_KEY_PREFIX || 'moat';
  if (!/^[A-Za-z0-9:_.-]{1,64}$/.test(prefix)) {
    problems.push('MOAT_REDIS_KEY_PREFIX must be 1-64 letters, digits, ":", "_", "." or "-"');
  }
  return {
    schedulerStrategy: strategy,
    cpuOvercommit: parseNumber(env, 'MOAT_CPU_OVERCOMMIT', 1, factor, problems),
    memoryOvercommit: parseNumber(env, 'MOAT_MEMORY_OVERCOMMIT', 1, factor, problems),
    nodeHeartbeatTtlMs: parseNumber(env, 'MOAT_NODE_HEARTBEAT_TTL_MS', DEFAULT_HEARTBEAT_TTL_MS, ms, problems),
    nodeGraceMs: parseNumber(env, 'MOAT_NODE_GRACE_MS', 15_000, { ...ms, min: 0 }, problems),
    // Below the nodes' grace for what a move left them, or they would act on an abandoned move first.
    moveSettleAfterMs: parseNumber(env, 'MOAT_MOVE_SETTLE_AFTER_MS', MOVE_SETTLE_AFTER_MS, { min: 1_000, max: MOVE_ARRIVAL_GRACE_MS - 60_000, integer: true }, problems),
    redisKeyPrefix: prefix,
  };
}

function parseNetwork(env: NodeJS.ProcessEnv, problems: string[]): NetworkConfig {
  const rawPool = env.MOAT_NET_SUBNET_POOL || DEFAULT_SUBNET_POOL;
  const subnetPool = parseIpv4Cidr(rawPool);
  if (!subnetPool) problems.push(`MOAT_NET_SUBNET_POOL must be an IPv4 CIDR with no host bits set, such as ${DEFAULT_SUBNET_POOL}, got "${rawPool}"`);
  const tenantPrefix = parseNumber(env, 'MOAT_NET_TENANT_PREFIX', DEFAULT_TENANT_PREFIX, { min: 1, max: MAX_TENANT_PREFIX, integer: true }, problems);
  // A tenant's subnet is cut from the pool, so it cannot be larger than the pool.
  if (subnetPool && Number.isInteger(tenantPrefix) && tenantPrefix < subnetPool.prefix) {
    problems.push(`MOAT_NET_TENANT_PREFIX (${tenantPrefix}) must be at least the prefix length of MOAT_NET_SUBNET_POOL (${rawPool})`);
  }
  return { subnetPool: subnetPool ?? DEFAULT_NETWORK.subnetPool, tenantPrefix };
}

/** Reads and validates the configuration, listing every problem at once. */
export function loadConfig(env: NodeJS.ProcessEnv, cwd = process.cwd()): AppConfig {
  const problems: string[] = [];
  const rawDataDir = env.MOAT_DATA_DIR || './.moat';
  const dataDir = isAbsolute(rawDataDir) ? rawDataDir : resolve(cwd, rawDataDir);
  const apiHost = env.MOAT_API_HOST || '0.0.0.0';
  const apiPort = parsePort(env.MOAT_API_PORT, problems);

  const logLevel = (env.MOAT_LOG_LEVEL || 'info') as LogLevel;
  if (!LOG_LEVELS.includes(logLevel)) {
    problems.push(`MOAT_LOG_LEVEL must be one of ${LOG_LEVELS.join(', ')}, got "${logLevel}"`);
  }

  const envToken = env.MOAT_ADMIN_TOKEN;
  if (envToken !== undefined && envToken.length < MIN_ADMIN_TOKEN_LENGTH) {
    problems.push(`MOAT_ADMIN_TOKEN must be at least ${MIN_ADMIN_TOKEN_LENGTH} characters`);
  }

  const databaseUrl = env.DATABASE_URL;
  if (databaseUrl) parseUrl('DATABASE_URL', databaseUrl, ['postgres:', 'postgresql:'], problems);
  const redisUrl = env.REDIS_URL;
  if (redisUrl) parseUrl('REDIS_URL', redisUrl, ['redis:', 'rediss:'], problems);
  const fleet = parseFleet(env, problems);
  const tls = parseTls(env, problems);
  const network = parseNetwork(env, problems);
  const maxFileBytes = parseNumber(env, 'MOAT_FILES_MAX_BYTES', DEFAULT_MAX_FILE_BYTES, { min: 1, max: Number.MAX_SAFE_INTEGER, integer: true }, problems);

  const rawInterval = env.MOAT_RECONCILE_INTERVAL_MS;
  const reconcileIntervalMs = rawInterval ? Number(rawInterval) : DEFAULT_RECONCILE_INTERVAL_MS;
  if (!Number.isInteger(reconcileIntervalMs) || reconcileIntervalMs < 50 || reconcileIntervalMs > 60_000) {
    problems.push(`MOAT_RECONCILE_INTERVAL_MS must be an integer from 50 to 60000, got "${rawInterval}"`);
  }

  if (problems.length > 0) throw new ConfigError(problems);

  let adminToken: string;
  try {
    adminToken = envToken ?? resolveAdminToken(dataDir);
  } catch (err) {
    throw new ConfigError([`cannot keep the admin token in ${dataDir}: ${(err as Error).message}`]);
  }
  const database: DatabaseConfig = databaseUrl
    ? { kind: 'postgres', url: new Secret(databaseUrl) }
    : { kind: 'sqlite', path: join(dataDir, 'control-plane.sqlite') };

  return new AppConfig(
    dataDir,
    apiHost,
    apiPort,
    new Secret(adminToken),
    envToken === undefined ? 'file' : 'env',
    database,
    logLevel,
    redisUrl ? new Secret(redisUrl) : undefined,
    fleet,
    reconcileIntervalMs,
    tls,
    network,
    maxFileBytes,
  );
}
