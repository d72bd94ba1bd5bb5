import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { inspect } from 'node:util';
import { afterEach, beforeEach, describe, expect, it } from '@jest/globals';
import { ConfigError, loadConfig } from './app-config';

describe('loadConfig', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'moat-config-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('uses defaults and SQLite in the data directory', () => {
    const config = loadConfig({ MOAT_DATA_DIR: dir });
    expect(config.apiPort).toBe(8080);
    expect(config.apiHost).toBe('0.0.0.0');
    expect(config.logLevel).toBe('info');
    expect(config.database).toEqual({ kind: 'sqlite', path: join(dir, 'control-plane.sqlite') });
    expect(config.redisUrl).toBeUndefined();
  });

  it('resolves a relative data directory against the working directory', () => {
    expect(loadConfig({ MOAT_DATA_DIR: 'data' }, dir).dataDir).toBe(join(dir, 'data'));
  });

  it('generates the admin token once, mode 0600, and reuses it', () => {
    const first = loadConfig({ MOAT_DATA_DIR: dir });
    const file = join(dir, 'admin-token');
    expect(statSync(file).mode & 0o777).toBe(0o600);
    expect(readFileSync(file, 'utf8').trim()).toBe(first.adminToken.reveal());
    expect(first.adminToken.reveal()).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(loadConfig({ MOAT_DATA_DIR: dir }).adminToken.reveal()).toBe(first.adminToken.reveal());
  });

  it('never shows secrets when printed', () => {
    const config = loadConfig({
      MOAT_DATA_DIR: dir,
      MOAT_ADMIN_TOKEN: 'admin-token-0123456789',
      DATABASE_URL: 'postgres://u:pw-1234@db/moat',
    });
    const printed = `${inspect(config, { depth: 5 })} ${JSON.stringify(config)}`;
    expect(printed).not.toContain('admin-token-0123456789');
    expect(printed).not.toContain('pw-1234');
    expect(config.database.kind).toBe('postgres');
  });

  it('lists every problem at once', () => {
    let error: unknown;
    try {
      loadConfig({
        MOAT_DATA_DIR: dir,
        MOAT_API_PORT: 'http',
        MOAT_LOG_LEVEL: 'loud',
        MOAT_ADMIN_TOKEN: 'short',
        DATABASE_URL: 'mysql://x@y/z',
        REDIS_URL: 'not a url',
      });
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).problems).toHaveLength(5);
  });

  it('reads the fleet settings, with spread placement and no overcommit by default', () => {
    expect(loadConfig({ MOAT_DATA_DIR: dir }).fleet).toEqual({
      schedulerStrategy: 'spread',
      cpuOvercommit: 1,
      memoryOvercommit: 1,
      nodeHeartbeatTtlMs: 15_000,
      nodeGraceMs: 15_000,
      // Twelve minutes: past a move's ten-minute transfer timeout, below the nodes' 24-minute grace.
      moveSettleAfterMs: 720_000,
      redisKeyPrefix: 'moat',
    });
    const custom = loadConfig({
      MOAT_DATA_DIR: dir,
      MOAT_SCHEDULER_STRATEGY: 'binpack',
      MOAT_CPU_OVERCOMMIT: '4',
      MOAT_MEMORY_OVERCOMMIT: '1.5',
      MOAT_MOVE_SETTLE_AFTER_MS: '5000',
    }).fleet;
    expect(custom).toMatchObject({ schedulerStrategy: 'binpack', cpuOvercommit: 4, memoryOvercommit: 1.5, moveSettleAfterMs: 5_000 });
    expect(() =>
      loadConfig({ MOAT_DATA_DIR: dir, MOAT_SCHEDULER_STRATEGY: 'random', MOAT_CPU_OVERCOMMIT: '0', MOAT_NODE_GRACE_MS: 'x', MOAT_MOVE_SETTLE_AFTER_MS: '1440000' }),
    ).toThrow(/MOAT_SCHEDULER_STRATEGY[\s\S]*MOAT_CPU_OVERCOMMIT[\s\S]*MOAT_NODE_GRACE_MS[\s\S]*MOAT_MOVE_SETTLE_AFTER_MS must be an integer from 1000 to 1380000/);
  });

  it('plans tenant networks in 10.88.0.0/16, a /24 each, by default', () => {
    expect(loadConfig({ MOAT_DATA_DIR: dir }).network).toEqual({ subnetPool: { base: 0x0a580000, prefix: 16 }, tenantPrefix: 24 });
    expect(loadConfig({ MOAT_DATA_DIR: dir, MOAT_NET_SUBNET_POOL: '172.16.0.0/12', MOAT_NET_TENANT_PREFIX: '28' }).network).toEqual({
      subnetPool: { base: 0xac100000, prefix: 12 },
      tenantPrefix: 28,
    });
  });

  it.each([
    [{ MOAT_NET_SUBNET_POOL: '10.88.0.0' }, /MOAT_NET_SUBNET_POOL must be an IPv4 CIDR/],
    [{ MOAT_NET_SUBNET_POOL: '10.88.1.0/16' }, /MOAT_NET_SUBNET_POOL must be an IPv4 CIDR with no host bits set/],
    [{ MOAT_NET_SUBNET_POOL: '10.300.0.0/16' }, /MOAT_NET_SUBNET_POOL/],
    [{ MOAT_NET_SUBNET_POOL: '10.88.0.0/33' }, /MOAT_NET_SUBNET_POOL/],
    [{ MOAT_NET_TENANT_PREFIX: '29' }, /MOAT_NET_TENANT_PREFIX must be an integer from 1 to 28, got "29"/],
    [{ MOAT_NET_TENANT_PREFIX: '24.5' }, /MOAT_NET_TENANT_PREFIX must be an integer/],
    [{ MOAT_NET_SUBNET_POOL: '10.88.0.0/25' }, /MOAT_NET_TENANT_PREFIX \(24\) must be at least the prefix length of MOAT_NET_SUBNET_POOL \(10.88.0.0\/25\)/],
    [{ MOAT_NET_TENANT_PREFIX: '12' }, /MOAT_NET_TENANT_PREFIX \(12\) must be at least/],
  ])('refuses the network settings %p', (env, problem) => {
    expect(() => loadConfig({ MOAT_DATA_DIR: dir, ...env })).toThrow(problem);
  });
});
