import { createHash } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { rm } from 'node:fs/promises';
import { Readable, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { ReadableStream as WebReadableStream } from 'node:stream/web';
import { z } from 'zod';
import { describeError, RuntimeError, RuntimeErrorCode } from '../errors/runtime.errors';
import { manifestReference, type ImageReference, formatImageReference } from './image-reference';
import { isLoopbackHost } from '../host/loopback';

export const MEDIA_TYPES = {
  ociIndex: 'application/vnd.oci.image.index.v1+json',
  ociManifest: 'application/vnd.oci.image.manifest.v1+json',
  dockerList: 'application/vnd.docker.distribution.manifest.list.v2+json',
  dockerManifest: 'application/vnd.docker.distribution.manifest.v2+json',
  ociLayerGzip: 'application/vnd.oci.image.layer.v1.tar+gzip',
  ociLayer: 'application/vnd.oci.image.layer.v1.tar',
  dockerLayerGzip: 'application/vnd.docker.image.rootfs.diff.tar.gzip',
  ociConfig: 'application/vnd.oci.image.config.v1+json',
  dockerConfig: 'application/vnd.docker.container.image.v1+json',
} as const;

const LAYER_TYPES: ReadonlySet<string> = new Set([MEDIA_TYPES.ociLayerGzip, MEDIA_TYPES.ociLayer, MEDIA_TYPES.dockerLayerGzip]);
const MAX_JSON_BYTES = 4 * 1024 * 1024;
const DIGEST = /^sha256:[0-9a-f]{64}$/;

const descriptorSchema = z.object({
  mediaType: z.string(),
  digest: z.string().regex(DIGEST, 'only sha256 digests are supported'),
  size: z.number().int().nonnegative(),
  platform: z.object({ os: z.string(), architecture: z.string(), variant: z.string().optional() }).optional(),
});
const indexSchema = z.object({ manifests: z.array(descriptorSchema) });
const manifestSchema = z.object({ config: descriptorSchema, layers: z.array(descriptorSchema) });
const imageConfigSchema = z.object({
  os: z.string().optional(),
  architecture: z.string().optional(),
  config: z
    .object({
      Entrypoint: z.array(z.string()).nullish(),
      Cmd: z.array(z.string()).nullish(),
      Env: z.array(z.string()).nullish(),
      WorkingDir: z.string().nullish(),
      User: z.string().nullish(),
    })
    .nullish(),
  rootfs: z.object({ type: z.string(), diff_ids: z.array(z.string().regex(DIGEST)) }),
});

export type Descriptor = z.infer<typeof descriptorSchema>;
/** The parts of an OCI image config Moat uses. */
export type ImageConfigFile = z.infer<typeof imageConfigSchema>;

export interface ResolvedImage {
  reference: ImageReference;
  manifestDigest: string;
  config: ImageConfigFile;
  /** Bottom layer first. */
  layers: Descriptor[];
}

export interface RegistryCredentials {
  username: string;
  password: string;
}

export interface RegistryClientOptions {
  /** Registries (`host[:port]`) reached over plain HTTP; loopback registries always are. */
  insecureRegistries?: readonly string[];
  credentials?: (registry: string) => RegistryCredentials | undefined;
  fetch?: typeof fetch;
  /** For manifests, configs and tokens; blobs get `blobTimeoutMs`. */
  requestTimeoutMs?: number;
  blobTimeoutMs?: number;
}

type Challenge = { scheme: 'basic' } | { scheme: 'bearer'; realm: string; service?: string; scope?: string };

/**
 * A client for the OCI Distribution API v2: resolves a reference to a linux/amd64 manifest and
 * its config, and downloads blobs with digest and size verification. Answers a registry's 401
 * with basic auth or a bearer token from its token service, as the challenge asks.
 */
export class RegistryClient {
  private readonly tokens = new Map<string, string>();
  private readonly fetch: typeof fetch;

  constructor(private readonly opts: RegistryClientOptions = {}) {
    this.fetch = opts.fetch ?? globalThis.fetch;
  }

  async resolve(ref: ImageReference): Promise<ResolvedImage> {
    const name = formatImageReference(ref);
    let { body, digest, mediaType } = await this.manifest(ref, manifestReference(ref));
    if (mediaType === MEDIA_TYPES.ociIndex || mediaType === MEDIA_TYPES.dockerList) {
      const index = parse(indexSchema, body, `image index of ${name}`);
      const pick = index.manifests.find((m) => m.platform?.os === 'linux' && m.platform.architecture === 'amd64');
      if (!pick) throw pullError(`${name} has no linux/amd64 image`);
      ({ body, digest, mediaType } = await this.manifest(ref, pick.digest));
    }
    if (mediaType !== MEDIA_TYPES.ociManifest && mediaType !== MEDIA_TYPES.dockerManifest) {
      throw pullError(`${name}: unsupported manifest media type ${mediaType}`);
    }
    const manifest = parse(manifestSchema, body, `manifest of ${name}`);
    const unsupported = manifest.layers.find((layer) => !LAYER_TYPES.has(layer.mediaType));
    if (unsupported) throw pullError(`${name}: unsupported layer media type ${unsupported.mediaType}`);
    const configBody = await this.fetchJson(ref, manifest.config);
    const config = parse(imageConfigSchema, configBody, `image config of ${name}`);
    if (config.rootfs.diff_ids.length !== manifest.layers.length) {
      throw pullError(`${name}: config lists ${config.rootfs.diff_ids.length} layers, manifest ${manifest.layers.length}`);
    }
    return { reference: ref, manifestDigest: digest, config, layers: manifest.layers };
  }

  /**
   * Streams a blob into `dest`, calling `onBytes` as data arrives; removes `dest` and throws
   * IMAGE_DIGEST_MISMATCH if the content is not exactly what the descriptor promised.
   */
  async downloadBlob(ref: ImageReference, desc: Descriptor, dest: string, onBytes: (n: number) => void): Promise<void> {
    const response = await this.request(ref, `/blobs/${desc.digest}`, {}, this.opts.blobTimeoutMs ?? 30 * 60_000);
    if (!response.body) throw pullError(`blob ${desc.digest}: empty response`);
    const hash = createHash('sha256');
    let received = 0;
    const verify = new Transform({
      transform(chunk: Buffer, _encoding, done) {
        received += chunk.length;
        if (received > desc.size) return done(digestError(`blob ${desc.digest} is larger than the ${desc.size} bytes its descriptor says`));
        hash.update(chunk);
        onBytes(chunk.length);
        done(null, chunk);
      },
    });
    try {
      await pipeline(Readable.fromWeb(response.body as WebReadableStream<Uint8Array>), verify, createWriteStream(dest, { mode: 0o600 }));
      const actual = `sha256:${hash.digest('hex')}`;
      if (received !== desc.size) throw digestError(`blob ${desc.digest}: got ${received} bytes, expected ${desc.size}`);
      if (actual !== desc.digest) throw digestError(`blob ${desc.digest}: content hashes to ${actual}`);
    } catch (error) {
      await rm(dest, { force: true });
      if (error instanceof RuntimeError) throw error;
      throw pullError(`download blob ${desc.digest}: ${describeError(error)}`, error);
    }
  }

  private async manifest(ref: ImageReference, reference: string): Promise<{ body: Buffer; digest: string; mediaType: string }> {
    const accept = [MEDIA_TYPES.ociIndex, MEDIA_TYPES.ociManifest, MEDIA_TYPES.dockerList, MEDIA_TYPES.dockerManifest].join(', ');
    const response = await this.request(ref, `/manifests/${reference}`, { accept });
    const body = await readLimited(response, MAX_JSON_BYTES, `manifest ${reference}`);
    const digest = `sha256:${createHash('sha256').update(body).digest('hex')}`;
    if (reference.startsWith('sha256:') && digest !== reference) throw digestError(`manifest ${reference}: content hashes to ${digest}`);
    const mediaType = (response.headers.get('content-type') ?? '').split(';')[0].trim() || mediaTypeOf(body);
    return { body, digest, mediaType };
  }

  private async fetchJson(ref: ImageReference, desc: Descriptor): Promise<Buffer> {
    if (desc.size > MAX_JSON_BYTES) throw pullError(`config ${desc.digest} is ${desc.size} bytes, over the ${MAX_JSON_BYTES}-byte limit`);
    const response = await this.request(ref, `/blobs/${desc.digest}`, {});
    const body = await readLimited(response, MAX_JSON_BYTES, `blob ${desc.digest}`);
    const digest = `sha256:${createHash('sha256').update(body).digest('hex')}`;
    if (digest !== desc.digest) throw digestError(`blob ${desc.digest}: content hashes to ${digest}`);
    return body;
  }

  /** GET `/v2/<repo><path>`, answering one auth challenge; throws on anything but 2xx. */
  private async request(ref: ImageReference, path: string, headers: Record<string, string>, timeoutMs = this.opts.requestTimeoutMs ?? 30_000): Promise<Response> {
    const url = `${this.baseUrl(ref.registry)}/v2/${ref.repository}${path}`;
    const scopeKey = `${ref.registry}/${ref.repository}`;
    const send = (authorization?: string) =>
      this.send(url, { ...headers, ...(authorization ? { authorization } : {}) }, timeoutMs);
    let response = await send(this.tokens.get(scopeKey));
    if (response.status === 401) {
      await response.body?.cancel();
      const authorization = await this.authorize(ref, response.headers.get('www-authenticate'));
      this.tokens.set(scopeKey, authorization);
      response = await send(authorization);
    }
    if (!response.ok) {
      const detail = (await response.text().catch(() => '')).slice(0, 300);
      const what = response.status === 404 ? 'not found' : response.status === 401 || response.status === 403 ? 'access denied' : `HTTP ${response.status}`;
      throw pullError(`${formatImageReference(ref)}: GET ${path}: ${what}${detail ? ` (${detail.trim()})` : ''}`);
    }
    return response;
  }

  private async send(url: string, headers: Record<string, string>, timeoutMs: number): Promise<Response> {
    try {
      return await this.fetch(url, { headers, redirect: 'follow', signal: AbortSignal.timeout(timeoutMs) });
    } catch (cause) {
      throw pullError(`GET ${url}: ${describeError(cause)}`, cause);
    }
  }

  private async authorize(ref: ImageReference, header: string | null): Promise<string> {
    const creds = this.opts.credentials?.(ref.registry);
    const challenge = parseChallenge(header);
    if (!challenge) throw pullError(`${ref.registry} asks for authentication without a usable challenge (${header ?? 'none'})`);
    const basic = creds && `Basic ${Buffer.from(`${creds.username}:${creds.password}`).toString('base64')}`;
    if (challenge.scheme === 'basic') {
      if (!basic) throw pullError(`${ref.registry} needs credentials and none are configured`);
      return basic;
    }
    const url = new URL(challenge.realm);
    if (challenge.service) url.searchParams.set('service', challenge.service);
    url.searchParams.set('scope', challenge.scope ?? `repository:${ref.repository}:pull`);
    const response = await this.send(url.toString(), basic ? { authorization: basic } : {}, this.opts.requestTimeoutMs ?? 30_000);
    if (!response.ok) throw pullError(`token service ${url.origin} answered HTTP ${response.status}`);
    const body = parse(z.object({ token: z.string().optional(), access_token: z.string().optional() }), await readLimited(response, 1024 * 1024, 'token'), 'token response');
    const token = body.token ?? body.access_token;
    if (!token) throw pullError(`token service ${url.origin} returned no token`);
    return `Bearer ${token}`;
  }

  private baseUrl(registry: string): string {
    const host = registry.replace(/:\d+$/, '');
    const insecure = isLoopbackHost(host) || (this.opts.insecureRegistries ?? []).includes(registry);
    return `${insecure ? 'http' : 'https'}://${registry}`;
  }
}

/** Parses `Bearer realm="…",service="…",scope="…"` or `Basic realm="…"`. */
export function parseChallenge(header: string | null): Challenge | undefined {
  if (!header) return undefined;
  const match = /^\s*(\w+)\s*(.*)$/.exec(header);
  if (!match) return undefined;
  const scheme = match[1].toLowerCase();
  if (scheme === 'basic') return { scheme: 'basic' };
  if (scheme !== 'bearer') return undefined;
  const params: Record<string, string> = {};
  for (const [, key, value] of match[2].matchAll(/(\w+)="([^"]*)"/g)) params[key.toLowerCase()] = value;
  if (!params.realm) return undefined;
  return { scheme: 'bearer', realm: params.realm, service: params.service, scope: params.scope };
}

async function readLimited(response: Response, limit: number, what: string): Promise<Buffer> {
  const declared = Number(response.headers.get('content-length') ?? '0');
  if (declared > limit) throw pullError(`${what} is ${declared} bytes, over the ${limit}-byte limit`);
  const chunks: Buffer[] = [];
  let size = 0;
  if (response.body) {
    for await (const chunk of Readable.fromWeb(response.body as WebReadableStream<Uint8Array>) as AsyncIterable<Buffer>) {
      size += chunk.length;
      if (size > limit) throw pullError(`${what} is over the ${limit}-byte limit`);
      chunks.push(chunk);
    }
  }
  return Buffer.concat(chunks);
}

function mediaTypeOf(body: Buffer): string {
  try {
    const value = (JSON.parse(body.toString('utf8')) as { mediaType?: unknown }).mediaType;
    return typeof value === 'string' ? value : '';
  } catch {
    return '';
  }
}

function parse<T>(schema: z.ZodType<T>, body: Buffer, what: string): T {
  let json: unknown;
  try {
    json = JSON.parse(body.toString('utf8'));
  } catch (cause) {
    throw pullError(`${what} is not JSON`, cause);
  }
  const result = schema.safeParse(json);
  if (!result.success) throw pullError(`${what} is malformed: ${result.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`);
  return result.data;
}

function pullError(message: string, cause?: unknown): RuntimeError {
  return new RuntimeError(RuntimeErrorCode.IMAGE_PULL_FAILED, message, { cause });
}

function digestError(message: string): RuntimeError {
  return new RuntimeError(RuntimeErrorCode.IMAGE_DIGEST_MISMATCH, message);
}
