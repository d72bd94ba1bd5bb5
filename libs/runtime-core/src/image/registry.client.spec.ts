import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from '@jest/globals';
import { RuntimeErrorCode } from '../errors/runtime.errors';
import { parseImageReference } from './image-reference';
import { MEDIA_TYPES, parseChallenge, RegistryClient, type RegistryClientOptions } from './registry.client';

const digestOf = (data: Buffer | string) => `sha256:${createHash('sha256').update(data).digest('hex')}`;

const layer = Buffer.from('not really a tarball, but bytes with a digest');
const config = JSON.stringify({ os: 'linux', architecture: 'amd64', config: { Cmd: ['/bin/sh'] }, rootfs: { type: 'layers', diff_ids: [digestOf('x')] } });
const manifest = JSON.stringify({
  schemaVersion: 2,
  mediaType: MEDIA_TYPES.ociManifest,
  config: { mediaType: MEDIA_TYPES.ociConfig, digest: digestOf(config), size: config.length },
  layers: [{ mediaType: MEDIA_TYPES.ociLayerGzip, digest: digestOf(layer), size: layer.length }],
});
const index = JSON.stringify({
  schemaVersion: 2,
  mediaType: MEDIA_TYPES.ociIndex,
  manifests: [
    { mediaType: MEDIA_TYPES.ociManifest, digest: digestOf('arm'), size: 3, platform: { os: 'linux', architecture: 'arm64' } },
    { mediaType: MEDIA_TYPES.ociManifest, digest: digestOf(manifest), size: manifest.length, platform: { os: 'linux', architecture: 'amd64' } },
  ],
});

type Auth = 'none' | 'basic' | 'bearer';

/** A registry in memory, behind `fetch`: serves one repository, and the auth scheme asked for. */
function fakeRegistry(auth: Auth, blobs: Record<string, Buffer | string> = {}) {
  const requests: string[] = [];
  const fetch: typeof globalThis.fetch = (input, init) => {
    const url = new URL(input instanceof Request ? input.url : input);
    const headers = new Headers(init?.headers);
    requests.push(`${url.origin}${url.pathname}${url.search} ${headers.get('authorization') ?? '-'}`);
    if (url.pathname === '/token') {
      const ok = headers.get('authorization') === `Basic ${Buffer.from('u:p').toString('base64')}` && url.searchParams.get('scope') === 'repository:team/app:pull';
      return Promise.resolve(ok ? Response.json({ token: 'tok' }) : new Response('no', { status: 401 }));
    }
    const expected = { none: null, basic: `Basic ${Buffer.from('u:p').toString('base64')}`, bearer: 'Bearer tok' }[auth];
    if (expected && headers.get('authorization') !== expected) {
      const challenge = auth === 'basic' ? 'Basic realm="r"' : 'Bearer realm="https://auth.example/token",service="reg"';
      return Promise.resolve(new Response('denied', { status: 401, headers: { 'www-authenticate': challenge } }));
    }
    const path = url.pathname.replace('/v2/team/app', '');
    const manifests: Record<string, [string, string]> = {
      '/manifests/v1': [index, MEDIA_TYPES.ociIndex],
      [`/manifests/${digestOf(manifest)}`]: [manifest, MEDIA_TYPES.ociManifest],
    };
    if (manifests[path]) return Promise.resolve(new Response(manifests[path][0], { headers: { 'content-type': manifests[path][1] } }));
    const blob = { [`/blobs/${digestOf(config)}`]: config, [`/blobs/${digestOf(layer)}`]: layer, ...blobs }[path];
    return Promise.resolve(blob === undefined ? new Response('nope', { status: 404 }) : new Response(new Uint8Array(Buffer.from(blob))));
  };
  return { fetch, requests };
}

const ref = parseImageReference('registry.example/team/app:v1');
let dir: string | undefined;
afterEach(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
  dir = undefined;
});

function client(auth: Auth, opts: Partial<RegistryClientOptions> = {}, blobs?: Record<string, string>) {
  const registry = fakeRegistry(auth, blobs);
  return { registry, client: new RegistryClient({ fetch: registry.fetch, credentials: () => ({ username: 'u', password: 'p' }), ...opts }) };
}

describe('RegistryClient', () => {
  it.each<Auth>(['none', 'basic', 'bearer'])('resolves an index to its linux/amd64 manifest and config (auth: %s)', async (auth) => {
    const { client: c } = client(auth);
    const image = await c.resolve(ref);
    expect(image.manifestDigest).toBe(digestOf(manifest));
    expect(image.config.config?.Cmd).toEqual(['/bin/sh']);
    expect(image.layers).toEqual([expect.objectContaining({ digest: digestOf(layer), size: layer.length })]);
  });

  it('asks the token service with the credentials and the pull scope, then reuses the token', async () => {
    const { client: c, registry } = client('bearer');
    await c.resolve(ref);
    expect(registry.requests.filter((r) => r.includes('/token'))).toEqual([
      `https://auth.example/token?service=reg&scope=repository%3Ateam%2Fapp%3Apull Basic ${Buffer.from('u:p').toString('base64')}`,
    ]);
    expect(registry.requests.at(-1)).toMatch(/Bearer tok$/);
  });

  it('uses plain HTTP only for loopback registries and the insecure list', async () => {
    for (const [registryHost, insecure, scheme] of [
      ['127.0.0.1:5000', [], 'http'],
      ['localhost:5000', [], 'http'],
      ['registry.example', [], 'https'],
      ['registry.example', ['registry.example'], 'http'],
    ] as const) {
      const { client: c, registry } = client('none', { insecureRegistries: insecure });
      await c.resolve({ ...ref, registry: registryHost });
      expect(registry.requests[0].startsWith(`${scheme}://${registryHost}/v2/`)).toBe(true);
    }
  });

  it('downloads a blob, verifying its digest and reporting bytes as they arrive', async () => {
    dir = mkdtempSync(join(tmpdir(), 'moat-blob-'));
    const { client: c } = client('bearer');
    let bytes = 0;
    await c.downloadBlob(ref, { mediaType: MEDIA_TYPES.ociLayerGzip, digest: digestOf(layer), size: layer.length }, join(dir, 'b'), (n) => (bytes += n));
    expect(readFileSync(join(dir, 'b'))).toEqual(layer);
    expect(bytes).toBe(layer.length);
  });

  it('refuses and removes a blob whose content does not match its digest', async () => {
    dir = mkdtempSync(join(tmpdir(), 'moat-blob-'));
    const digest = digestOf('promised');
    const { client: c } = client('none', {}, { [`/blobs/${digest}`]: 'tampered' });
    const error = await c.downloadBlob(ref, { mediaType: MEDIA_TYPES.ociLayerGzip, digest, size: 8 }, join(dir, 'b'), () => undefined).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: RuntimeErrorCode.IMAGE_DIGEST_MISMATCH });
    expect(existsSync(join(dir, 'b'))).toBe(false);
  });

  it('says which image was not found', async () => {
    const { client: c } = client('none');
    await expect(c.resolve({ ...ref, tag: 'v2' })).rejects.toThrow(/registry\.example\/team\/app:v2: GET \/manifests\/v2: not found/);
  });

  it('parses bearer and basic challenges', () => {
    expect(parseChallenge('Bearer realm="https://a/t",service="s",scope="repository:x:pull"')).toEqual({
      scheme: 'bearer',
      realm: 'https://a/t',
      service: 's',
      scope: 'repository:x:pull',
    });
    expect(parseChallenge('Basic realm="x"')).toEqual({ scheme: 'basic' });
    expect(parseChallenge('Negotiate')).toBeUndefined();
  });
});

describe('parseImageReference', () => {
  it.each([
    ['busybox', { registry: 'registry-1.docker.io', repository: 'library/busybox', tag: 'latest' }],
    ['127.0.0.1:5000/moat/app:v1', { registry: '127.0.0.1:5000', repository: 'moat/app', tag: 'v1' }],
    ['localhost/app', { registry: 'localhost', repository: 'app', tag: 'latest' }],
    [`ghcr.io/o/app@${digestOf('m')}`, { registry: 'ghcr.io', repository: 'o/app', digest: digestOf('m') }],
  ])('parses %s', (raw, expected) => {
    expect(parseImageReference(raw)).toEqual(expected);
  });

  it.each(['', 'UPPER/case', 'app:bad tag', 'app@sha256:short'])('refuses %j', (raw) => {
    expect(() => parseImageReference(raw)).toThrow(expect.objectContaining({ code: RuntimeErrorCode.IMAGE_REFERENCE_INVALID }));
  });
});
