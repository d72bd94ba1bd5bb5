import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { DATA_DIR, api, waitFor } from '../support/api';
import { findLeaks } from '../support/leaks.mjs';
import { APP_IMAGE_CONFIG, appLayer, busyboxLayer, startRegistry, type LayerEntry, type TestRegistry } from '../support/registry';
import { sandboxGone, settledSandbox } from '../support/sandboxes';
import type { ExecResult, Sandbox } from '@moat/sdk';

/** Names a hostile layer tries to create outside its rootfs; none may appear anywhere we look. */
const ESCAPE_PREFIX = 'moat-e2e-escaped';

let registry: TestRegistry;
let key: string;
let appImage: string;
const created: string[] = [];

async function createSandbox(body: Record<string, unknown>): Promise<Sandbox> {
  const res = await api<Sandbox>('POST', '/v1/sandboxes', { token: key, body: { vcpus: 1, memoryMiB: 256, ...body } });
  expect(res.status).toBe(201);
  created.push(res.body.id);
  return res.body;
}

function settled(id: string): Promise<Sandbox> {
  return settledSandbox<Sandbox>(id, key);
}

async function exec(id: string, command: string[]): Promise<ExecResult> {
  const res = await api<ExecResult>('POST', `/v1/sandboxes/${id}/exec`, { token: key, body: { command, timeoutMs: 30_000 } });
  expect(res.status).toBe(200);
  return res.body;
}

async function deleteAndWaitGone(id: string): Promise<void> {
  expect((await api('DELETE', `/v1/sandboxes/${id}`, { token: key })).status).toBe(202);
  await sandboxGone(id, key);
}

beforeAll(async () => {
  registry = await startRegistry();
  const tenant = await api<{ apiKey: string }>('POST', '/v1/tenants', { body: { name: `images-${Date.now()}` } });
  key = tenant.body.apiKey;
  appImage = await registry.push('moat/app', 'v1', {
    asIndex: true,
    layers: [busyboxLayer(), appLayer()],
    config: APP_IMAGE_CONFIG,
  });
});

afterAll(async () => {
  for (const id of created) await api('DELETE', `/v1/sandboxes/${id}`);
  await registry?.stop();
});

describe.each(['virtiofs', '9p', 'block'])('a sandbox from a registry image on a %s rootfs', (rootfs) => {
  let sandbox: Sandbox;

  beforeAll(async () => {
    sandbox = await settled((await createSandbox({ image: appImage, rootfs })).id);
  });

  it('runs the entrypoint as the image user with its env and working dir', async () => {
    expect(sandbox.error).toBeUndefined();
    expect(sandbox).toMatchObject({ state: 'running', image: appImage, rootfs });
    // The entrypoint may still be starting when the sandbox first reports running.
    const marker = await waitFor('the entrypoint to write its marker', async () => {
      const out = await exec(sandbox.id, ['cat', '/home/app/marker']);
      return out.exitCode === 0 ? out.stdout : undefined;
    }, 30_000);
    expect(marker.trim()).toBe('hello from /home/app as 1000');
  });

  it("has the image's files and a writable rootfs", async () => {
    expect(await exec(sandbox.id, ['cat', '/app/data.txt'])).toMatchObject({ exitCode: 0, stdout: 'shipped in the image\n' });
    expect(await exec(sandbox.id, ['sh', '-c', 'echo written > /etc/new-file && cat /etc/new-file'])).toMatchObject({ exitCode: 0, stdout: 'written\n' });
  });

  it('releases everything of the sandbox on delete', async () => {
    await deleteAndWaitGone(sandbox.id);
    expect(findLeaks(DATA_DIR, [sandbox.id])).toEqual([]);
  });
});

describe('hostile images', () => {
  const hostile: [string, LayerEntry[], RegExp][] = [
    ['traversal', [{ name: `../../../../../../tmp/${ESCAPE_PREFIX}-traversal`, body: 'pwned' }], /path traversal/],
    [
      'symlink-escape',
      [
        { name: 'evil', type: 'symlink', linkname: '/tmp' },
        { name: `evil/${ESCAPE_PREFIX}-symlink`, body: 'pwned' },
      ],
      /symlink escape/,
    ],
    ['hardlink-escape', [{ name: 'shadow', type: 'link', linkname: '/etc/shadow' }], /hardlink escape/],
    ['device-node', [{ name: 'dev/', type: 'directory' }, { name: 'dev/sda', type: 'block-device', devmajor: 8, devminor: 0 }], /device node/],
  ];

  it.each(hostile)('leaves a %s image failed with an error naming the problem, writing nothing outside', async (name, layer, problem) => {
    const image = await registry.push(`hostile/${name}`, 'v1', { layers: [busyboxLayer(), layer], config: { Cmd: ['/bin/sh'] } });
    const sandbox = await settled((await createSandbox({ image })).id);
    expect(sandbox.state).toBe('failed');
    expect(sandbox.error?.code).toBe('IMAGE_LAYER_UNSAFE');
    expect(sandbox.error?.message).toMatch(problem);
    for (const dir of ['/tmp', '/', DATA_DIR, join(DATA_DIR, 'node')]) {
      expect(readdirSync(dir).filter((entry) => entry.startsWith(ESCAPE_PREFIX))).toEqual([]);
    }
    expect(readFileSync('/etc/shadow', 'utf8').length).toBeGreaterThan(0);
    await deleteAndWaitGone(sandbox.id);
    expect(findLeaks(DATA_DIR, [sandbox.id])).toEqual([]);
  });
});
