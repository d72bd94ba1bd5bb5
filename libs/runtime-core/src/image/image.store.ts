import { randomBytes } from 'node:crypto';
import { mkdir, readdir, readFile, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { z } from 'zod';
import { describeError, RuntimeError, RuntimeErrorCode } from '../errors/runtime.errors';
import { mkdirDurable, syncFilesystem, writeFileAtomic } from '../host/fs.helpers';
import { formatImageReference, parseImageReference, type ImageReference } from './image-reference';
import { DEFAULT_UNPACK_LIMITS, unpackLayer, type OverlayMarkers, type UnpackLimits } from './layer.unpacker';
import type { Descriptor, ImageConfigFile, RegistryClient } from './registry.client';

/** Download progress of one pull, over all of the image's layers. */
export interface PullProgress {
  bytesDone: number;
  bytesTotal: number;
}

/** An image ready to be mounted: its layers on disk and its config. */
export interface PreparedImage {
  reference: string;
  manifestDigest: string;
  config: ImageConfigFile;
  /** Unpacked layer directories, bottom layer first. */
  layerDirs: string[];
}

export interface ImageStoreOptions {
  /** The store lives in `<dataDir>/images`. */
  dataDir: string;
  registry: RegistryClient;
  markers: OverlayMarkers;
  /** Unreferenced layers are kept as a cache up to this many bytes (oldest use evicted first). */
  maxCacheBytes: number;
  /** Layers downloaded at once per pull. Default 3. */
  concurrency?: number;
  limits?: UnpackLimits;
  log?: (level: 'info' | 'warn', msg: string, fields?: Record<string, unknown>) => void;
}

const layerMetaSchema = z.object({ digest: z.string(), diffId: z.string(), bytes: z.number(), lastUsedAt: z.number() });
type LayerMeta = z.infer<typeof layerMetaSchema>;
const leaseSchema = z.object({ reference: z.string(), layers: z.array(z.string()) });

const SANDBOX_ID = /^[0-9a-f-]{1,64}$/;

/**
 * The node's image store: unpacked layers under `<dataDir>/images/layers/<sha256 hex>` (named by
 * the compressed blob's digest, each a ready overlayfs lower dir), shared by every sandbox that
 * uses them. A sandbox holds a lease (`leases/<sandboxId>.json`) on its layers; releasing it
 * garbage-collects unreferenced layers beyond `maxCacheBytes`. Downloaded blobs are verified,
 * unpacked, and deleted: the unpacked layer is the cache.
 */
export class ImageStore {
  private readonly root: string;
  private readonly layersDir: string;
  private readonly leasesDir: string;
  private readonly tmpDir: string;
  private readonly inflight = new Map<string, Promise<void>>();
  private ready: Promise<void> | undefined;
  private locked: Promise<unknown> = Promise.resolve();

  constructor(private readonly opts: ImageStoreOptions) {
    this.root = join(opts.dataDir, 'images');
    this.layersDir = join(this.root, 'layers');
    this.leasesDir = join(this.root, 'leases');
    this.tmpDir = join(this.root, 'tmp');
  }

  /**
   * Resolves `reference`, downloads and unpacks the layers this node lacks (several at once),
   * and records that `sandboxId` uses them. Reports download progress through `onProgress`.
   */
  async acquire(sandboxId: string, reference: string, onProgress: (progress: PullProgress) => void = () => undefined): Promise<PreparedImage> {
    checkSandboxId(sandboxId);
    await this.init();
    const ref = parseImageReference(reference);
    const resolved = await this.opts.registry.resolve(ref);
    const name = formatImageReference(ref);
    const layers = resolved.layers.map((desc, i) => ({ desc, diffId: resolved.config.rootfs.diff_ids[i], hex: hexOf(desc.digest) }));
    // The lease goes down first (under the GC lock), so a concurrent GC cannot take a layer we are about to use.
    const present = await this.exclusive(async () => {
      await writeFileAtomic(join(this.leasesDir, `${sandboxId}.json`), JSON.stringify({ reference: name, layers: layers.map((l) => l.hex) }));
      const have = new Set<string>();
      for (const layer of layers) if (await this.touch(layer.hex)) have.add(layer.hex);
      return have;
    });
    const progress: PullProgress = { bytesDone: 0, bytesTotal: 0 };
    for (const { desc, hex } of layers) {
      progress.bytesTotal += desc.size;
      if (present.has(hex)) progress.bytesDone += desc.size;
    }
    onProgress({ ...progress });
    const missing = layers.filter((layer) => !present.has(layer.hex));
    await runLimited(missing, this.opts.concurrency ?? 3, (layer) =>
      this.fetchLayer(ref, layer.desc, layer.diffId, (n) => {
        progress.bytesDone += n;
        onProgress({ ...progress });
      }),
    );
    return {
      reference: name,
      manifestDigest: resolved.manifestDigest,
      config: resolved.config,
      layerDirs: layers.map((layer) => join(this.layersDir, layer.hex)),
    };
  }

  /** Drops `sandboxId`'s lease and collects garbage; idempotent. */
  async release(sandboxId: string): Promise<void> {
    checkSandboxId(sandboxId);
    await this.init();
    await rm(join(this.leasesDir, `${sandboxId}.json`), { force: true });
    await this.gc();
  }

  /** Removes unreferenced layers, least recently used first, until the rest fit in `maxCacheBytes`. */
  gc(): Promise<void> {
    return this.exclusive(async () => {
      const referenced = await this.referencedLayers();
      const metas = await this.layerMetas();
      let total = metas.reduce((sum, meta) => sum + meta.bytes, 0);
      const evictable = metas.filter((meta) => !referenced.has(hexOf(meta.digest))).sort((a, b) => a.lastUsedAt - b.lastUsedAt);
      for (const meta of evictable) {
        if (total <= this.opts.maxCacheBytes) break;
        const hex = hexOf(meta.digest);
        await rm(join(this.layersDir, `${hex}.json`), { force: true });
        await rm(join(this.layersDir, hex), { recursive: true, force: true });
        total -= meta.bytes;
        this.opts.log?.('info', 'image layer evicted', { digest: meta.digest, bytes: meta.bytes });
      }
    });
  }

  /** Bytes and count of unpacked layers on this node. */
  async usage(): Promise<{ layers: number; bytes: number }> {
    await this.init();
    const metas = await this.layerMetas();
    return { layers: metas.length, bytes: metas.reduce((sum, meta) => sum + meta.bytes, 0) };
  }

  private async fetchLayer(ref: ImageReference, desc: Descriptor, diffId: string, onBytes: (n: number) => void): Promise<void> {
    const hex = hexOf(desc.digest);
    let pending = this.inflight.get(hex);
    if (!pending) {
      pending = this.download(ref, desc, diffId, onBytes).finally(() => this.inflight.delete(hex));
      this.inflight.set(hex, pending);
      return pending;
    }
    await pending;
    onBytes(desc.size);
  }

  private async download(ref: ImageReference, desc: Descriptor, diffId: string, onBytes: (n: number) => void): Promise<void> {
    const hex = hexOf(desc.digest);
    const nonce = randomBytes(4).toString('hex');
    const blob = join(this.tmpDir, `${hex}.${nonce}.blob`);
    const staging = join(this.tmpDir, `${hex}.${nonce}.layer`);
    try {
      await this.opts.registry.downloadBlob(ref, desc, blob, onBytes);
      await mkdir(staging, { mode: 0o755 });
      const result = await unpackLayer(blob, staging, this.opts.markers, this.opts.limits ?? DEFAULT_UNPACK_LIMITS);
      if (result.diffId !== diffId) {
        throw new RuntimeError(RuntimeErrorCode.IMAGE_DIGEST_MISMATCH, `layer ${desc.digest} unpacks to ${result.diffId}, the config says ${diffId}`);
      }
      // Its meta file says the layer is whole, so the layer's files are on disk before it is.
      await syncFilesystem(staging);
      await this.exclusive(async () => {
        await rm(join(this.layersDir, hex), { recursive: true, force: true });
        await rename(staging, join(this.layersDir, hex));
        const meta: LayerMeta = { digest: desc.digest, diffId, bytes: result.bytes, lastUsedAt: Date.now() };
        await writeFileAtomic(join(this.layersDir, `${hex}.json`), JSON.stringify(meta));
      });
      this.opts.log?.('info', 'image layer unpacked', { digest: desc.digest, bytes: result.bytes });
    } catch (error) {
      if (error instanceof RuntimeError) throw error;
      throw new RuntimeError(RuntimeErrorCode.IMAGE_PULL_FAILED, `layer ${desc.digest}: ${describeError(error)}`, { cause: error });
    } finally {
      await rm(blob, { force: true });
      await rm(staging, { recursive: true, force: true });
    }
  }

  /** Marks a complete layer as just used; false if it is not (completely) here. */
  private async touch(hex: string): Promise<boolean> {
    const meta = await this.readMeta(hex);
    if (!meta) return false;
    await writeFileAtomic(join(this.layersDir, `${hex}.json`), JSON.stringify({ ...meta, lastUsedAt: Date.now() }));
    return true;
  }

  private async readMeta(hex: string): Promise<LayerMeta | undefined> {
    try {
      return layerMetaSchema.parse(JSON.parse(await readFile(join(this.layersDir, `${hex}.json`), 'utf8')));
    } catch {
      return undefined;
    }
  }

  private async layerMetas(): Promise<LayerMeta[]> {
    const metas: LayerMeta[] = [];
    for (const name of await readdir(this.layersDir)) {
      if (!name.endsWith('.json')) continue;
      const meta = await this.readMeta(name.slice(0, -'.json'.length));
      if (meta) metas.push(meta);
    }
    return metas;
  }

  private async referencedLayers(): Promise<Set<string>> {
    const referenced = new Set<string>();
    for (const name of await readdir(this.leasesDir)) {
      try {
        const lease = leaseSchema.parse(JSON.parse(await readFile(join(this.leasesDir, name), 'utf8')));
        for (const hex of lease.layers) referenced.add(hex);
      } catch (error) {
        this.opts.log?.('warn', 'unreadable image lease ignored', { lease: name, error: describeError(error) });
      }
    }
    return referenced;
  }

  /** Creates the dirs (0700: layers may hold set-id files) and drops leftovers of an interrupted run. */
  private init(): Promise<void> {
    this.ready ??= (async () => {
      await mkdirDurable(this.root, 0o700);
      await rm(this.tmpDir, { recursive: true, force: true });
      await Promise.all([mkdirDurable(this.layersDir, 0o700), mkdirDurable(this.leasesDir, 0o700), mkdir(this.tmpDir, { mode: 0o700 })]);
      for (const name of await readdir(this.layersDir)) {
        if (!name.endsWith('.json') && !(await this.readMeta(name))) await rm(join(this.layersDir, name), { recursive: true, force: true });
      }
    })();
    return this.ready;
  }

  private exclusive<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.locked.then(fn, fn);
    this.locked = run.catch(() => undefined);
    return run;
  }
}

function hexOf(digest: string): string {
  return digest.slice('sha256:'.length);
}

function checkSandboxId(id: string): void {
  if (!SANDBOX_ID.test(id)) throw new RuntimeError(RuntimeErrorCode.INVALID_SPEC, `invalid sandbox id ${JSON.stringify(id)}`);
}

/** Runs `fn` over `items` with at most `limit` at once; rejects with the first failure after all settle. */
async function runLimited<T>(items: readonly T[], limit: number, fn: (item: T) => Promise<void>): Promise<void> {
  const queue = [...items];
  const results = await Promise.allSettled(
    Array.from({ length: Math.min(limit, queue.length) }, async () => {
      for (let item = queue.shift(); item !== undefined; item = queue.shift()) await fn(item);
    }),
  );
  const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (failed) throw failed.reason;
}
