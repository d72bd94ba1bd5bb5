import { describe, expect, it } from '@jest/globals';
import { ConfigError, loadAgentConfig, upstreamResolvers } from './agent.config';

const base = { MOAT_DATA_DIR: '/tmp/moat-config-test', MOAT_NODE_TOKEN: 'node-token' };

describe('loadAgentConfig: images', () => {
  it('reads the insecure registries, the cache bound and the registry credentials', () => {
    const config = loadAgentConfig({
      ...base,
      MOAT_INSECURE_REGISTRIES: ' registry.lan:5000, ,10.0.0.5 ',
      MOAT_IMAGE_CACHE_MAX_BYTES: '0',
      MOAT_REGISTRY_AUTH: '{"registry.lan:5000": {"username": "ci", "password": "s3cret"}}',
      MOAT_SHARED_FS: 'block',
    });
    expect(config).toMatchObject({
      insecureRegistries: ['registry.lan:5000', '10.0.0.5'],
      imageCacheMaxBytes: 0,
      registryAuth: { 'registry.lan:5000': { username: 'ci', password: 's3cret' } },
      sharedFs: 'block',
    });
  });

  it('defaults to no insecure registries, no credentials and a 10 GiB cache', () => {
    expect(loadAgentConfig(base)).toMatchObject({ insecureRegistries: [], registryAuth: {}, imageCacheMaxBytes: 10 * 1024 ** 3 });
  });

  it('rejects malformed credentials without echoing the secret', () => {
    const error = (() => {
      try {
        loadAgentConfig({ ...base, MOAT_REGISTRY_AUTH: '{"r": {"username": "ci", "pass": "s3cret"}}' });
      } catch (e) {
        return e;
      }
    })();
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as Error).message).toContain('MOAT_REGISTRY_AUTH');
    expect((error as Error).message).not.toContain('s3cret');
  });
});

describe('loadAgentConfig: warm pool', () => {
  it('has none by default and reads MOAT_WARM_POOL shapes', () => {
    expect(loadAgentConfig(base).warmPool).toEqual([]);
    expect(loadAgentConfig({ ...base, MOAT_WARM_POOL: '1x256:4,2x512:1' }).warmPool).toEqual([
      { vcpus: 1, memoryMiB: 256, count: 4 },
      { vcpus: 2, memoryMiB: 512, count: 1 },
    ]);
  });

  it('names a malformed entry', () => {
    expect(() => loadAgentConfig({ ...base, MOAT_WARM_POOL: '1x256' })).toThrow(/MOAT_WARM_POOL: warm pool entry "1x256" is not/);
  });
});

describe('loadAgentConfig: jail', () => {
  it('jails by default, with uids from 200000-265535', () => {
    expect(loadAgentConfig(base)).toMatchObject({ jail: true, jailIdRange: { first: 200_000, last: 265_535 } });
  });

  it('takes MOAT_JAIL=false and another uid range, and refuses a range reaching system uids', () => {
    expect(loadAgentConfig({ ...base, MOAT_JAIL: 'false', MOAT_JAIL_ID_RANGE: '300000-300099' })).toMatchObject({ jail: false, jailIdRange: { first: 300_000, last: 300_099 } });
    expect(() => loadAgentConfig({ ...base, MOAT_JAIL_ID_RANGE: '0-5000' })).toThrow(/MOAT_JAIL_ID_RANGE: .*not a uid range/);
  });
});

describe('loadAgentConfig: logs', () => {
  it('keeps 1 MiB of output per sandbox unless MOAT_LOG_BUFFER_BYTES says otherwise, within 64 KiB to 64 MiB', () => {
    expect(loadAgentConfig(base).logBufferBytes).toBe(1024 * 1024);
    expect(loadAgentConfig({ ...base, MOAT_LOG_BUFFER_BYTES: '4194304' }).logBufferBytes).toBe(4 * 1024 * 1024);
    for (const bad of ['1024', String(128 * 1024 * 1024), '100000.5', 'lots']) {
      expect(() => loadAgentConfig({ ...base, MOAT_LOG_BUFFER_BYTES: bad })).toThrow(/MOAT_LOG_BUFFER_BYTES/);
    }
  });
});

describe('loadAgentConfig: DNS', () => {
  it('takes MOAT_DNS_SERVERS, and refuses what is not a list of IPv4 addresses', () => {
    expect(loadAgentConfig({ ...base, MOAT_DNS_SERVERS: '10.0.0.53, 10.0.1.53' }).dnsServers).toEqual(['10.0.0.53', '10.0.1.53']);
    expect(() => loadAgentConfig({ ...base, MOAT_DNS_SERVERS: 'dns.example.com' })).toThrow(/MOAT_DNS_SERVERS/);
  });

  it("defaults to the node's own IPv4 resolvers without the loopback ones", () => {
    const text = '# generated\nnameserver 127.0.0.53\nnameserver 192.0.2.53\nnameserver fd00::53\nsearch lan\nnameserver 198.51.100.53\n';
    expect(upstreamResolvers(text)).toEqual(['192.0.2.53', '198.51.100.53']);
  });
});

describe('loadAgentConfig: metrics', () => {
  it('serves metrics on 127.0.0.1:9464 by default, elsewhere when told, or not at all', () => {
    expect(loadAgentConfig(base).metricsAddr).toEqual({ host: '127.0.0.1', port: 9464 });
    expect(loadAgentConfig({ ...base, MOAT_NODE_METRICS_ADDR: '0.0.0.0:9100' }).metricsAddr).toEqual({ host: '0.0.0.0', port: 9100 });
    expect(loadAgentConfig({ ...base, MOAT_NODE_METRICS_ADDR: '[::1]:9100' }).metricsAddr).toEqual({ host: '::1', port: 9100 });
    expect(loadAgentConfig({ ...base, MOAT_NODE_METRICS_ADDR: 'off' }).metricsAddr).toBeUndefined();
  });

  it.each(['127.0.0.1', '127.0.0.1:0', 'host:70000', ':9464'])('refuses the address %j, without a port or with one out of range', (bad) => {
    expect(() => loadAgentConfig({ ...base, MOAT_NODE_METRICS_ADDR: bad })).toThrow(/MOAT_NODE_METRICS_ADDR: host:port/);
  });
});

describe('loadAgentConfig: run dir', () => {
  it('keeps sockets under /run/moat unless MOAT_RUN_DIR says otherwise, and refuses a dir too long for socket paths', () => {
    expect(loadAgentConfig(base).runDir).toBe('/run/moat');
    expect(loadAgentConfig({ ...base, MOAT_RUN_DIR: '/run/moat/fleet-8080/node-2' }).runDir).toBe('/run/moat/fleet-8080/node-2');
    expect(() => loadAgentConfig({ ...base, MOAT_RUN_DIR: `/run/${'x'.repeat(60)}` })).toThrow(/MOAT_RUN_DIR/);
  });
});
