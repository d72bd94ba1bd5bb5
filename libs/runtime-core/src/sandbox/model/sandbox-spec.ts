import { MAX_IMAGE_REFERENCE_LENGTH, MAX_VCPUS, MIN_MEMORY_MIB } from '@moat/proto';
import { RuntimeError, RuntimeErrorCode } from '../../errors/runtime.errors';
import { SHARED_FS_KINDS, type SharedFsKind } from '../../sharefs/shared-fs';
import { GUEST_OVERHEAD_MIB } from './oci-spec';
import type { SandboxSpec } from './sandbox.types';

export const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const ENV_KEY = /^[A-Za-z_][A-Za-z0-9_]*$/;
/** containerd's identifiers (namespaces, ids): its own grammar and bound (pkg/identifiers). */
const CONTAINERD_IDENTIFIER = /^[A-Za-z0-9]+(?:[._-][A-Za-z0-9]+)*$/;
const MAX_CONTAINERD_IDENTIFIER = 76;
const MAX_BUNDLE_PATH = 1024;

export function isContainerdIdentifier(value: string): boolean {
  return value.length <= MAX_CONTAINERD_IDENTIFIER && CONTAINERD_IDENTIFIER.test(value);
}

const MAX_NETNS_PATH = 1024;

/** The VM's RAM: what the sandbox asked for plus what the guest kernel and agent need. */
export function guestMemoryMiB(spec: Pick<SandboxSpec, 'memoryMiB'>): number {
  return spec.memoryMiB + GUEST_OVERHEAD_MIB;
}

/**
 * The guest's hostname: a pod's own (CRI's), else the id's first group, short enough for a shell
 * prompt, unique enough on a host.
 */
export function hostnameOf(spec: Pick<SandboxSpec, 'id' | 'pod'>): string {
  return spec.pod?.hostname ?? spec.id.slice(0, 8);
}

/** A hostname the guest takes (RFC 1123: labels of letters, digits and inner hyphens, 253 in all). */
const HOSTNAME = /^(?=.{1,253}$)[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$/;

/** How the sandbox's rootfs reaches its VM: its own choice, else the node's; a pod's VM needs a shared directory. */
export function rootfsKindOf(spec: SandboxSpec, nodeDefault: SharedFsKind = 'virtiofs'): SharedFsKind {
  const kind = spec.rootfs ?? nodeDefault;
  if (spec.pod && kind === 'block') {
    throw new RuntimeError(RuntimeErrorCode.INVALID_SPEC, "a pod's VM needs a shared-directory rootfs (virtiofs or 9p): its containers' rootfses join it later", { context: { sandboxId: spec.id } });
  }
  return kind;
}

/** Throws INVALID_SPEC listing every problem of `spec`. */
export function validateSpec(spec: SandboxSpec): void {
  const problems: string[] = [];
  if (!UUID.test(spec.id)) problems.push('id must be a lowercase UUID');
  if (!Number.isInteger(spec.vcpus) || spec.vcpus < 1 || spec.vcpus > MAX_VCPUS) problems.push(`vcpus must be an integer in 1..${MAX_VCPUS}`);
  if (!Number.isInteger(spec.memoryMiB) || spec.memoryMiB < MIN_MEMORY_MIB) problems.push(`memoryMiB must be an integer >= ${MIN_MEMORY_MIB}`);
  for (const key of Object.keys(spec.env)) if (!ENV_KEY.test(key)) problems.push(`env key ${JSON.stringify(key)} is not a valid name`);
  if (spec.command && spec.command.length === 0) problems.push('command must not be empty when given');
  if (spec.image !== undefined && (spec.image.length === 0 || spec.image.length > MAX_IMAGE_REFERENCE_LENGTH)) problems.push(`image must be 1-${MAX_IMAGE_REFERENCE_LENGTH} characters`);
  if (spec.rootfs !== undefined && !SHARED_FS_KINDS.includes(spec.rootfs)) problems.push(`rootfs must be one of ${SHARED_FS_KINDS.join(', ')}`);
  if (spec.bundle !== undefined) {
    if (!spec.bundle.startsWith('/') || spec.bundle.length > MAX_BUNDLE_PATH) problems.push(`bundle must be an absolute path of at most ${MAX_BUNDLE_PATH} characters`);
    if (spec.image !== undefined) problems.push('a sandbox takes its rootfs from an image or a bundle, not both');
  }
  if (spec.containerd && !(isContainerdIdentifier(spec.containerd.namespace) && isContainerdIdentifier(spec.containerd.id))) {
    problems.push('containerd namespace and id must be containerd identifiers');
  }
  if (spec.pod?.netns !== undefined) {
    const { netns } = spec.pod;
    if (!netns.startsWith('/') || netns.split('/').includes('..') || netns.length > MAX_NETNS_PATH) problems.push(`a pod's netns must be an absolute path of at most ${MAX_NETNS_PATH} characters`);
    if (spec.network) problems.push('a pod joins its own netns or a tenant network, not both');
  }
  if (spec.pod?.hostname !== undefined && !HOSTNAME.test(spec.pod.hostname)) problems.push("a pod's hostname must be an RFC 1123 hostname");
  if (problems.length > 0) {
    throw new RuntimeError(RuntimeErrorCode.INVALID_SPEC, `invalid sandbox spec: ${problems.join('; ')}`, { context: { sandboxId: spec.id } });
  }
}
