import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from '@jest/globals';
import { RuntimeErrorCode } from '../errors/runtime.errors';
import { bundleProcess, bundleSize } from './oci-bundle';

const DEFAULTS = { vcpus: 1, memoryMiB: 256 };
const BOUNDS = { minMemoryMiB: 64, maxVcpus: 32 };

describe('OCI bundles', () => {
  let bundle: string;
  const config = (value: unknown) => writeFileSync(join(bundle, 'config.json'), typeof value === 'string' ? value : JSON.stringify(value));
  beforeEach(() => {
    bundle = mkdtempSync(join(tmpdir(), 'bundle-'));
  });
  afterEach(() => rmSync(bundle, { recursive: true, force: true }));

  it("takes the container's process from config.json", async () => {
    config({ ociVersion: '1.0.2', process: { args: ['sh', '-c', 'exit 3'], env: ['PATH=/bin', 'A=b=c', 'junk'], cwd: '/srv', user: { uid: 1000, gid: 100 }, terminal: false } });
    await expect(bundleProcess(bundle)).resolves.toEqual({ args: ['sh', '-c', 'exit 3'], env: { PATH: '/bin', A: 'b=c' }, cwd: '/srv', user: { uid: 1000, gid: 100 } });
  });

  it.each([
    ['no config.json', undefined, /read the bundle's/],
    ['config.json that is not JSON', '{', /is not JSON/],
    ['no process', { ociVersion: '1.0.2' }, /no usable process: process/],
    ['no args', { process: { args: [], cwd: '/' } }, /process\.args/],
    ['a relative cwd', { process: { args: ['true'], cwd: 'srv' } }, /process\.cwd/],
    ['a negative uid', { process: { args: ['true'], cwd: '/', user: { uid: -1, gid: 0 } } }, /process\.user\.uid/],
  ])('refuses a bundle with %s as INVALID_SPEC', async (_what, value, message) => {
    if (value !== undefined) config(value);
    await expect(bundleProcess(bundle)).rejects.toMatchObject({ code: RuntimeErrorCode.INVALID_SPEC, message: expect.stringMatching(message) });
  });

  it('sizes the VM from the memory limit and CPU quota, rounding up within bounds', async () => {
    config({ linux: { resources: { memory: { limit: 300 * 1024 * 1024 + 1 }, cpu: { quota: 150_000, period: 100_000 } } } });
    await expect(bundleSize(bundle, DEFAULTS, BOUNDS)).resolves.toEqual({ memoryMiB: 301, vcpus: 2 });
    config({ linux: { resources: { memory: { limit: 1024 }, cpu: { quota: 100_000_000, period: 1000 } } } });
    await expect(bundleSize(bundle, DEFAULTS, BOUNDS)).resolves.toEqual({ memoryMiB: 64, vcpus: 32 });
  });

  it("sizes a pod's VM for all its containers, from the sum CRI puts on its sandbox", async () => {
    const annotations = {
      'io.kubernetes.cri.container-type': 'sandbox',
      'io.kubernetes.cri.sandbox-memory': String(768 * 1024 * 1024),
      'io.kubernetes.cri.sandbox-cpu-quota': '250000',
      'io.kubernetes.cri.sandbox-cpu-period': '100000',
    };
    // The pause container's own (tiny) limits count for nothing then.
    config({ annotations, linux: { resources: { memory: { limit: 64 * 1024 * 1024 }, cpu: { quota: 10_000, period: 100_000 } } } });
    await expect(bundleSize(bundle, DEFAULTS, BOUNDS)).resolves.toEqual({ memoryMiB: 768, vcpus: 3 });
    config({ annotations: { ...annotations, 'io.kubernetes.cri.sandbox-memory': '0', 'io.kubernetes.cri.sandbox-cpu-quota': 'lots' } });
    await expect(bundleSize(bundle, DEFAULTS, BOUNDS)).resolves.toEqual(DEFAULTS);
  });

  it('gives what the bundle does not limit its default', async () => {
    config({ linux: { resources: { memory: { limit: -1 }, cpu: { quota: -1, period: 100_000 } } } });
    await expect(bundleSize(bundle, DEFAULTS, BOUNDS)).resolves.toEqual(DEFAULTS);
    config({ process: { args: ['true'], cwd: '/' } });
    await expect(bundleSize(bundle, DEFAULTS, BOUNDS)).resolves.toEqual(DEFAULTS);
  });
});
