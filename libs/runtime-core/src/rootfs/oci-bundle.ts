import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { MAX_ARGV_ENTRIES, MAX_COMMAND_ARG_LENGTH, MAX_CWD_LENGTH } from '@moat/proto';
import { z } from 'zod';
import { describeError, RuntimeError, RuntimeErrorCode } from '../errors/runtime.errors';
import { envMap, type ImageProcess } from '../image/image-config';

/** config.json is containerd's, but it names what runs in the guest: read no more than this. */
const MAX_CONFIG_BYTES = 1024 * 1024;
const MAX_ENV_ENTRIES = 1024;
const MAX_ID = 0xffff_fffe;
const MIB = 1024 * 1024;

const processSchema = z.object({
  process: z.object({
    args: z.array(z.string().max(MAX_COMMAND_ARG_LENGTH)).min(1).max(MAX_ARGV_ENTRIES),
    env: z.array(z.string().max(MAX_COMMAND_ARG_LENGTH)).max(MAX_ENV_ENTRIES).default([]),
    cwd: z.string().startsWith('/').max(MAX_CWD_LENGTH),
    user: z.object({ uid: z.number().int().min(0).max(MAX_ID), gid: z.number().int().min(0).max(MAX_ID) }).default({ uid: 0, gid: 0 }),
  }),
});

/** The limits in an OCI runtime spec that size a sandbox's VM (what Kubernetes' requests and limits become). */
const resourcesSchema = z.object({
  annotations: z.record(z.string(), z.string()).default({}),
  linux: z
    .object({
      resources: z
        .object({
          memory: z.object({ limit: z.number().int().optional() }).optional(),
          cpu: z.object({ quota: z.number().int().optional(), period: z.number().int().optional() }).optional(),
        })
        .optional(),
    })
    .optional(),
});

/** containerd's CRI marks a pod's bundles with these annotations (Kata and runc's shim read the same). */
export const CRI_CONTAINER_TYPE = 'io.kubernetes.cri.container-type';
/**
 * On a pod's sandbox: the sum of its containers' limits, as the kubelet (1.23 and later) gives
 * them, so that a pod's VM can be sized for all of its containers at once.
 */
const CRI_SANDBOX_MEMORY = 'io.kubernetes.cri.sandbox-memory';
const CRI_SANDBOX_CPU_QUOTA = 'io.kubernetes.cri.sandbox-cpu-quota';
const CRI_SANDBOX_CPU_PERIOD = 'io.kubernetes.cri.sandbox-cpu-period';
export const CRI_SANDBOX_ID = 'io.kubernetes.cri.sandbox-id';

const podSchema = z.object({
  annotations: z.record(z.string(), z.string()).default({}),
  hostname: z.string().optional(),
  linux: z.object({ namespaces: z.array(z.object({ type: z.string(), path: z.string().optional() })).default([]) }).default({ namespaces: [] }),
});

/** The files CRI binds into each of a pod's containers: the pod's, written on the host. */
export const POD_FILES = ['/etc/hosts', '/etc/resolv.conf', '/etc/hostname'] as const;
const mountsSchema = z.object({
  mounts: z
    .array(z.object({ destination: z.string(), source: z.string().optional(), type: z.string().optional(), options: z.array(z.string()).default([]) }))
    .default([]),
});
/** CRI binds the pod's shared memory there; the guest gives every container a /dev/shm of its own. */
const POD_SHM = '/dev/shm';

/**
 * Where a bundle belongs in a pod: a pod's sandbox (its VM, in the netns CRI's CNI set up), a
 * container of the pod `sandboxId`, or no pod at all (a plain `ctr run`: a VM of its own).
 */
export type PodRole = { kind: 'sandbox'; pod: { netns?: string; hostname?: string } } | { kind: 'container'; sandboxId: string } | { kind: 'none' };

export async function bundlePodRole(bundleDir: string): Promise<PodRole> {
  const { annotations, hostname, linux } = await readBundleConfig(bundleDir, podSchema, 'unusable annotations');
  const type = annotations[CRI_CONTAINER_TYPE];
  if (type === 'sandbox') {
    const netns = linux.namespaces.find((ns) => ns.type === 'network')?.path;
    return { kind: 'sandbox', pod: { ...(netns && { netns }), ...(hostname && { hostname }) } };
  }
  const sandboxId = annotations[CRI_SANDBOX_ID];
  if (type === 'container' && sandboxId) return { kind: 'container', sandboxId };
  if (type !== undefined) throw new RuntimeError(RuntimeErrorCode.INVALID_SPEC, `the bundle's ${CRI_CONTAINER_TYPE} is ${JSON.stringify(type)} without a ${CRI_SANDBOX_ID}, or unknown`);
  return { kind: 'none' };
}

/** A host file or dir a pod's container's bundle binds in at `destination`. */
export interface BundleBind {
  destination: string;
  source: string;
  readonly: boolean;
}

/**
 * What a pod's container's bundle binds in from the host, in one read of its config.json: the
 * pod's files ({@link POD_FILES}), and its volumes (every other bind: hostPath, emptyDir, a
 * secret, the termination log; not the pod's shared memory).
 */
export async function bundleBinds(bundleDir: string): Promise<{ podFiles: BundleBind[]; volumes: BundleBind[] }> {
  const { mounts } = await readBundleConfig(bundleDir, mountsSchema, 'unusable mounts');
  const binds = mounts.flatMap((m) => {
    const bind = m.type === 'bind' || m.options.includes('bind') || m.options.includes('rbind');
    if (!bind || !m.source?.startsWith('/') || !m.destination.startsWith('/') || m.destination === POD_SHM) return [];
    return [{ destination: m.destination, source: m.source, readonly: m.options.includes('ro') }];
  });
  const podFile = (b: BundleBind) => (POD_FILES as readonly string[]).includes(b.destination);
  return { podFiles: binds.filter(podFile), volumes: binds.filter((b) => !podFile(b)) };
}

/** A VM's size: vCPUs and memory. */
export interface BundleSize {
  vcpus: number;
  memoryMiB: number;
}

/** The rootfs of an OCI bundle (`<bundle>/rootfs`, mounted by whoever made the bundle). */
export function bundleRootfs(bundleDir: string): string {
  return join(bundleDir, 'rootfs');
}

/**
 * The container's process as the bundle's config.json says: its args, environment, working dir
 * and numeric user. Everything else in the spec (mounts, namespaces, capabilities) is the
 * runtime's to decide, as for every sandbox.
 */
export async function bundleProcess(bundleDir: string): Promise<ImageProcess> {
  const { args, env, cwd, user } = (await readBundleConfig(bundleDir, processSchema, 'no usable process')).process;
  return { args, env: envMap(env), cwd, user };
}

/**
 * The VM a bundle asks for: its memory limit rounded up to MiB and its CPU quota rounded up to
 * whole vCPUs (within `bounds`), `defaults` for what it does not limit. A pod's sandbox asks for
 * its containers' sum (CRI's sandbox annotations) where the kubelet gave one.
 */
export async function bundleSize(bundleDir: string, defaults: BundleSize, bounds: { minMemoryMiB: number; maxVcpus: number }): Promise<BundleSize> {
  const { annotations, linux } = await readBundleConfig(bundleDir, resourcesSchema, 'unusable resources');
  const resources = linux?.resources;
  const counted = (key: string): number | undefined => {
    const value = Number(annotations[key]);
    return Number.isSafeInteger(value) && value > 0 ? value : undefined;
  };
  const limit = counted(CRI_SANDBOX_MEMORY) ?? resources?.memory?.limit;
  const podCpu = { quota: counted(CRI_SANDBOX_CPU_QUOTA), period: counted(CRI_SANDBOX_CPU_PERIOD) };
  const { quota, period } = podCpu.quota && podCpu.period ? podCpu : (resources?.cpu ?? {});
  return {
    memoryMiB: limit !== undefined && limit > 0 ? Math.max(bounds.minMemoryMiB, Math.ceil(limit / MIB)) : defaults.memoryMiB,
    vcpus: quota !== undefined && quota > 0 && period !== undefined && period > 0 ? Math.min(bounds.maxVcpus, Math.ceil(quota / period)) : defaults.vcpus,
  };
}

async function readBundleConfig<T>(bundleDir: string, schema: z.ZodType<T>, what: string): Promise<T> {
  const path = join(bundleDir, 'config.json');
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (cause) {
    throw new RuntimeError(RuntimeErrorCode.INVALID_SPEC, `read the bundle's ${path}: ${describeError(cause)}`, { cause });
  }
  if (text.length > MAX_CONFIG_BYTES) throw new RuntimeError(RuntimeErrorCode.INVALID_SPEC, `the bundle's ${path} is over ${MAX_CONFIG_BYTES} bytes`);
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (cause) {
    throw new RuntimeError(RuntimeErrorCode.INVALID_SPEC, `the bundle's ${path} is not JSON: ${describeError(cause)}`, { cause });
  }
  const parsed = schema.safeParse(json);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((issue) => `${issue.path.join('.')}: ${issue.message}`).join('; ');
    throw new RuntimeError(RuntimeErrorCode.INVALID_SPEC, `the bundle's ${path} has ${what}: ${problems}`);
  }
  return parsed.data;
}
