import { mkdtemp, rm, writeFile, mkdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from '@jest/globals';
import { RuntimeError, RuntimeErrorCode } from '../../errors/runtime.errors';
import type { ProcessAdapter, RunOptions, RunResult } from '../../host/process.adapter';
import { NetworkErrorCode } from '../../errors/network.errors';
import { CniRunner } from './cni.runner';
import type { CniConflist } from './cni.types';

interface Call {
  plugin: string;
  command: string;
  conf: Record<string, unknown>;
}

/** Plays CNI plugins: records each call, answers ADD with a result, fails where told. */
class FakePlugins implements Pick<ProcessAdapter, 'run'> {
  calls: Call[] = [];
  failing?: { plugin: string; command: string };

  run(command: string, _args: readonly string[], opts: RunOptions = {}): Promise<RunResult> {
    const plugin = command.split('/').pop() ?? '';
    const cniCommand = opts.env?.CNI_COMMAND ?? '';
    const conf = JSON.parse(opts.input ?? '{}') as Record<string, unknown>;
    this.calls.push({ plugin, command: cniCommand, conf });
    if (this.failing?.plugin === plugin && this.failing.command === cniCommand) {
      return Promise.reject(
        new RuntimeError(RuntimeErrorCode.PROCESS_FAILED, `${command}: exit code 1`, {
          context: { stdout: JSON.stringify({ cniVersion: '1.0.0', code: 999, msg: 'no more addresses', details: 'range full' }) },
        }),
      );
    }
    const prev = (conf.prevResult as Record<string, unknown> | undefined) ?? { cniVersion: '1.0.0', ips: [] };
    const result =
      plugin === 'bridge' || plugin === 'host-local'
        ? { cniVersion: '1.0.0', interfaces: [{ name: 'eth0', mac: 'aa:bb:cc:dd:ee:ff', sandbox: '/run/netns/x' }], ips: [{ address: '10.1.0.2/24', gateway: '10.1.0.1', interface: 0 }] }
        : prev;
    return Promise.resolve({ stdout: cniCommand === 'ADD' ? JSON.stringify(result) : '', stderr: '' });
  }
}

const CONFLIST: CniConflist = {
  cniVersion: '1.0.0',
  name: 'test',
  plugins: [
    { type: 'bridge', bridge: 'br0', ipam: { type: 'host-local', subnet: '10.1.0.0/24' } },
    { type: 'portmap', capabilities: { portMappings: true } },
    { type: 'bandwidth', capabilities: { bandwidth: true } },
  ],
};
const ATTACHMENT = { containerId: 'c1', netnsPath: '/run/netns/x', ifname: 'eth0' };
const PORTS = { portMappings: [{ hostPort: 8080, containerPort: 80, protocol: 'tcp' }] };

describe('CniRunner', () => {
  let dir: string;
  let plugins: FakePlugins;
  const runner = () => new CniRunner(plugins as unknown as ProcessAdapter, { pluginDirs: [join(dir, 'bin')], cacheDir: join(dir, 'cache') });

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'cni-runner-'));
    await mkdir(join(dir, 'bin'));
    for (const name of ['bridge', 'host-local', 'portmap', 'bandwidth']) await writeFile(join(dir, 'bin', name), '');
    plugins = new FakePlugins();
  });
  afterEach(() => rm(dir, { recursive: true, force: true }));

  it('runs ADD in order, chaining results and giving runtimeConfig only to plugins with the capability', async () => {
    const result = await runner().add(ATTACHMENT, CONFLIST, PORTS);
    expect(plugins.calls.map((c) => `${c.command} ${c.plugin}`)).toEqual(['ADD bridge', 'ADD portmap', 'ADD bandwidth']);
    expect(plugins.calls[0].conf.prevResult).toBeUndefined();
    expect(plugins.calls[0].conf.runtimeConfig).toBeUndefined();
    expect(plugins.calls[1].conf.runtimeConfig).toEqual(PORTS);
    expect(plugins.calls[1].conf.prevResult).toMatchObject({ ips: [{ address: '10.1.0.2/24' }] });
    expect(plugins.calls[2].conf.runtimeConfig).toBeUndefined();
    expect(plugins.calls.every((c) => c.conf.name === 'test' && c.conf.cniVersion === '1.0.0')).toBe(true);
    expect(result.ips[0].address).toBe('10.1.0.2/24');
  });

  it('runs DEL in reverse from the on-disk cache, so a fresh runner (after a restart) releases everything', async () => {
    await runner().add(ATTACHMENT, CONFLIST, PORTS);
    plugins.calls = [];
    await runner().del('c1');
    expect(plugins.calls.map((c) => `${c.command} ${c.plugin}`)).toEqual(['DEL bandwidth', 'DEL portmap', 'DEL bridge']);
    expect(plugins.calls[0].conf.prevResult).toMatchObject({ ips: [{ address: '10.1.0.2/24' }] });
    plugins.calls = [];
    await runner().del('c1');
    expect(plugins.calls).toEqual([]);
  });

  it('still releases the lease when ADD failed half-way, and reports the plugin error message', async () => {
    plugins.failing = { plugin: 'portmap', command: 'ADD' };
    const error = await runner().add(ATTACHMENT, CONFLIST, PORTS).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: NetworkErrorCode.CNI_PLUGIN_FAILED });
    expect(String((error as Error).message)).toContain('no more addresses: range full');
    plugins.failing = undefined;
    plugins.calls = [];
    await runner().del('c1');
    expect(plugins.calls.map((c) => `${c.command} ${c.plugin}`)).toEqual(['DEL bandwidth', 'DEL portmap', 'DEL bridge']);
  });

  it('runs CHECK with the cached result, skipping plugins that only serve capabilities it was not given', async () => {
    await runner().add(ATTACHMENT, CONFLIST, PORTS);
    plugins.calls = [];
    await runner().check('c1');
    // bandwidth got no rates, so ADD passed through it; its CHECK would panic (plugins#1221).
    expect(plugins.calls.map((c) => `${c.command} ${c.plugin}`)).toEqual(['CHECK bridge', 'CHECK portmap']);
    expect(plugins.calls.every((c) => c.conf.prevResult !== undefined)).toBe(true);
    await runner().add({ ...ATTACHMENT, containerId: 'c2' }, CONFLIST, { portMappings: [], bandwidth: { ingressRate: 1000, ingressBurst: 100 } });
    plugins.calls = [];
    await runner().check('c2');
    expect(plugins.calls.map((c) => `${c.command} ${c.plugin}`)).toEqual(['CHECK bridge', 'CHECK bandwidth']);
  });

  it('in ipam-only mode runs the IPAM plugin in place of the interface plugin', async () => {
    await runner().add(ATTACHMENT, CONFLIST, PORTS, 'ipam-only');
    expect(plugins.calls.map((c) => c.plugin)).toEqual(['host-local', 'portmap', 'bandwidth']);
    expect(plugins.calls[0].conf.ipam).toMatchObject({ type: 'host-local', subnet: '10.1.0.0/24' });
  });

  it('names a missing plugin', async () => {
    const conflist = { ...CONFLIST, plugins: [{ type: 'nosuch' }] };
    await expect(runner().add(ATTACHMENT, conflist, {})).rejects.toMatchObject({ code: NetworkErrorCode.CNI_PLUGIN_NOT_FOUND });
  });
});
