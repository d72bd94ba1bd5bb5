/**
 * `@moat/test-registry`: test and benchmark support. Debian's docker-registry (CNCF Distribution)
 * on loopback, and images built from busybox-static and pushed over the Distribution API —
 * no outside network. Used by the runtime-core integration tests, the e2e tests and the
 * rootfs benchmark; never by production code.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { pack, type Header } from 'tar-stream';

export const REGISTRY_BINARY = '/usr/bin/docker-registry';
const OCI_MANIFEST = 'application/vnd.oci.image.manifest.v1+json';
const OCI_INDEX = 'application/vnd.oci.image.index.v1+json';
const OCI_CONFIG = 'application/vnd.oci.image.config.v1+json';
const OCI_LAYER_GZIP = 'application/vnd.oci.image.layer.v1.tar+gzip';

/** One tar entry of a test layer; `body` is the file's content. */
export type LayerEntry = Partial<Header> & { name: string; body?: string | Buffer };

export interface TestImage {
  layers: LayerEntry[][];
  config?: { Entrypoint?: string[]; Cmd?: string[]; Env?: string[]; WorkingDir?: string; User?: string };
  /** Push an image index around the manifest (with an arm64 image listed first), as multi-arch images are. */
  asIndex?: boolean;
}

export interface TestRegistry {
  /** `127.0.0.1:<port>` */
  host: string;
  /** Pushes the image; returns its reference `<host>/<name>:<tag>`. */
  push(name: string, tag: string, image: TestImage): Promise<string>;
  stop(): Promise<void>;
}

function sha256(data: Buffer | string): string {
  return `sha256:${createHash('sha256').update(data).digest('hex')}`;
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => resolve(typeof address === 'object' && address ? address.port : 0));
    });
  });
}

/** The uncompressed tar of one layer (tar-stream writes whatever names it is given, hostile ones too). */
export async function layerTar(entries: LayerEntry[]): Promise<Buffer> {
  const p = pack();
  const collected = (async () => {
    const chunks: Buffer[] = [];
    for await (const chunk of p) chunks.push(chunk as Buffer);
    return Buffer.concat(chunks);
  })();
  for (const { body, ...header } of entries) {
    const mode = header.type === 'directory' ? 0o755 : 0o644;
    await new Promise<void>((resolve, reject) => p.entry({ mode, mtime: new Date(0), ...header }, body ?? '', (e) => (e ? reject(e) : resolve())));
  }
  p.finalize();
  return collected;
}

/** A layer with busybox-static as /bin/busybox and the applets a shell script needs. */
export function busyboxLayer(): LayerEntry[] {
  const applets = ['sh', 'cat', 'echo', 'sleep', 'pwd', 'id', 'ls', 'dd', 'rm', 'mkdir', 'touch', 'env', 'sync', 'true', 'test', 'stat', 'wc'];
  return [
    { name: 'bin/', type: 'directory', mode: 0o755 },
    { name: 'bin/busybox', mode: 0o755, body: readFileSync('/usr/bin/busybox') },
    ...applets.map((applet): LayerEntry => ({ name: `bin/${applet}`, type: 'symlink', linkname: 'busybox' })),
    ...['etc/', 'tmp/', 'proc/', 'sys/', 'dev/', 'root/', 'var/'].map((name): LayerEntry => ({ name, type: 'directory', mode: name === 'tmp/' ? 0o1777 : 0o755 })),
    { name: 'etc/passwd', body: 'root:x:0:0:root:/root:/bin/sh\napp:x:1000:1000:app:/home/app:/bin/sh\n' },
    { name: 'etc/group', body: 'root:x:0:\napp:x:1000:\n' },
  ];
}

/**
 * An application layer to go over `busyboxLayer`, run with `APP_IMAGE_CONFIG`: its entrypoint
 * `/app/start.sh` writes "$GREETING from $(pwd) as $(id -u)" to `./marker` and then waits for
 * SIGTERM; `/app/data.txt` ships with the image; `/home/app` belongs to the image user (1000).
 */
export function appLayer(): LayerEntry[] {
  const start = ['#!/bin/sh', 'echo "$GREETING from $(pwd) as $(id -u)" > marker', 'trap "exit 0" TERM', 'while :; do sleep 3600 & wait $!; done', ''];
  return [
    { name: 'home/', type: 'directory' },
    { name: 'home/app/', type: 'directory', uid: 1000, gid: 1000 },
    { name: 'app/', type: 'directory' },
    { name: 'app/data.txt', body: 'shipped in the image\n' },
    { name: 'app/start.sh', mode: 0o755, body: start.join('\n') },
  ];
}

/** The image config `appLayer` is made for: its entrypoint, env, working dir and user. */
export const APP_IMAGE_CONFIG = { Entrypoint: ['/app/start.sh'], Env: ['GREETING=hello', 'PATH=/bin'], WorkingDir: '/home/app', User: 'app' };

/** Starts docker-registry on a free loopback port with its storage in a temp dir. */
export async function startRegistry(): Promise<TestRegistry> {
  const dir = mkdtempSync(join(tmpdir(), 'moat-registry-'));
  const port = await freePort();
  const host = `127.0.0.1:${port}`;
  const configFile = join(dir, 'config.yml');
  writeFileSync(
    configFile,
    [
      'version: 0.1',
      'log: { level: error }',
      `storage: { filesystem: { rootdirectory: ${join(dir, 'data')} } }`,
      `http: { addr: "${host}" }`,
      '',
    ].join('\n'),
  );
  const child: ChildProcess = spawn(REGISTRY_BINARY, ['serve', configFile], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const base = `http://${host}/v2`;
  const deadline = Date.now() + 15_000;
  for (;;) {
    const ok = await fetch(`${base}/`).then((r) => r.ok, () => false);
    if (ok) break;
    if (Date.now() > deadline || child.exitCode !== null) {
      child.kill('SIGKILL');
      rmSync(dir, { recursive: true, force: true });
      throw new Error(`docker-registry did not start on ${host}: ${stderr}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }

  const putBlob = async (name: string, data: Buffer): Promise<string> => {
    const digest = sha256(data);
    const start = await fetch(`${base}/${name}/blobs/uploads/`, { method: 'POST' });
    if (start.status !== 202) throw new Error(`start upload: HTTP ${start.status} ${await start.text()}`);
    const location = new URL(start.headers.get('location') ?? '', `http://${host}`);
    location.searchParams.set('digest', digest);
    const put = await fetch(location, { method: 'PUT', body: new Uint8Array(data), headers: { 'content-type': 'application/octet-stream' } });
    if (put.status !== 201) throw new Error(`upload ${digest}: HTTP ${put.status} ${await put.text()}`);
    return digest;
  };
  const putManifest = async (name: string, reference: string, mediaType: string, body: string): Promise<void> => {
    const res = await fetch(`${base}/${name}/manifests/${reference}`, { method: 'PUT', body, headers: { 'content-type': mediaType } });
    if (res.status !== 201) throw new Error(`put manifest ${name}:${reference}: HTTP ${res.status} ${await res.text()}`);
  };

  return {
    host,
    async push(name, tag, image) {
      const layers = await Promise.all(image.layers.map((entries) => layerTar(entries)));
      const descriptors: { mediaType: string; digest: string; size: number }[] = [];
      for (const tar of layers) {
        const blob = gzipSync(tar);
        descriptors.push({ mediaType: OCI_LAYER_GZIP, digest: await putBlob(name, blob), size: blob.length });
      }
      const config = Buffer.from(
        JSON.stringify({
          architecture: 'amd64',
          os: 'linux',
          config: image.config ?? {},
          rootfs: { type: 'layers', diff_ids: layers.map((tar) => sha256(tar)) },
        }),
      );
      const configDigest = await putBlob(name, config);
      const manifestFor = (configBlob: Buffer, digest: string) =>
        JSON.stringify({
          schemaVersion: 2,
          mediaType: OCI_MANIFEST,
          config: { mediaType: OCI_CONFIG, digest, size: configBlob.length },
          layers: descriptors,
        });
      const manifest = manifestFor(config, configDigest);
      if (!image.asIndex) {
        await putManifest(name, tag, OCI_MANIFEST, manifest);
      } else {
        // The registry only accepts an index whose manifests exist, so the other platform is a real (wrong) image.
        const armConfig = Buffer.from(JSON.stringify({ ...JSON.parse(config.toString()), architecture: 'arm64', config: { Cmd: ['/bin/false'] } }));
        const armManifest = manifestFor(armConfig, await putBlob(name, armConfig));
        const entries = [];
        for (const [body, architecture] of [[armManifest, 'arm64'], [manifest, 'amd64']] as const) {
          const digest = sha256(body);
          await putManifest(name, digest, OCI_MANIFEST, body);
          entries.push({ mediaType: OCI_MANIFEST, digest, size: Buffer.byteLength(body), platform: { os: 'linux', architecture } });
        }
        await putManifest(name, tag, OCI_INDEX, JSON.stringify({ schemaVersion: 2, mediaType: OCI_INDEX, manifests: entries }));
      }
      return `${host}/${name}:${tag}`;
    },
    async stop() {
      if (child.exitCode === null) {
        const exited = new Promise((resolve) => child.once('exit', resolve));
        child.kill('SIGTERM');
        await exited;
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
