/**
 * Desired state, control plane → node agent. Level-triggered (like a kubelet): after every
 * (re)connect, and after every change, the control plane sends a node the *full* set of
 * sandboxes it should run; a sandbox missing from the set is to be deleted.
 */
import { z } from 'zod';
import { MAX_ARGV_ENTRIES, MAX_COMMAND_ARG_LENGTH } from '../limits/process.limits';
import { MAX_IMAGE_REFERENCE_LENGTH, MAX_MEMORY_MIB, MAX_PUBLISHED_PORTS, MAX_VCPUS, MIN_MEMORY_MIB } from '../limits/sandbox.limits';
import { dnsConfigSchema, egressPolicySchema } from './sandbox-fences';

/** How a sandbox VM's NIC joins the node's CNI network. */
export const NETWORK_MODELS = ['tcfilter', 'macvtap', 'bridge'] as const;
export const networkModelSchema = z.enum(NETWORK_MODELS);
export type NetworkModel = z.infer<typeof networkModelSchema>;

/** A sandbox port published on its node; `hostPort` is picked by the node when not asked for. */
export const portSpecSchema = z.object({
  containerPort: z.number().int().min(1).max(65535),
  hostPort: z.number().int().min(1).max(65535).optional(),
  protocol: z.enum(['tcp', 'udp']),
});
export type PortSpec = z.infer<typeof portSpecSchema>;
export const publishedPortSchema = portSpecSchema.required();
export type PublishedPort = z.infer<typeof publishedPortSchema>;

/** How a sandbox's container rootfs reaches its VM. */
export const ROOTFS_KINDS = ['virtiofs', '9p', 'block'] as const;
export const rootfsKindSchema = z.enum(ROOTFS_KINDS);
export type RootfsKind = z.infer<typeof rootfsKindSchema>;

export const desiredSandboxSchema = z.object({
  id: z.string().uuid(),
  vcpus: z.number().int().min(1).max(MAX_VCPUS),
  memoryMiB: z.number().int().min(MIN_MEMORY_MIB).max(MAX_MEMORY_MIB),
  image: z.string().max(MAX_IMAGE_REFERENCE_LENGTH).optional(),
  /** Replaces the image's Entrypoint and Cmd. */
  command: z.array(z.string().max(MAX_COMMAND_ARG_LENGTH)).min(1).max(MAX_ARGV_ENTRIES).optional(),
  rootfs: rootfsKindSchema.optional(),
  env: z.record(z.string(), z.string()),
  labels: z.record(z.string(), z.string()),
  tenantId: z.string().uuid().optional(),
  /** Absent: the node's `MOAT_NETWORK_MODEL`. */
  networkModel: networkModelSchema.optional(),
  /** false: no NIC at all. Default true. */
  network: z.boolean().optional(),
  ports: z.array(portSpecSchema).max(MAX_PUBLISHED_PORTS).optional(),
  /** Where its traffic may go; absent: everywhere but the node itself, link-local and other tenants. */
  egress: egressPolicySchema.optional(),
  /** Its resolvers; absent: the node's. */
  dns: dnsConfigSchema.optional(),
  /**
   * How often the control plane has had it restarted (its restart policy). A node holding it
   * `failed` restarts it — deletes it and creates it again from this spec, under the same id —
   * when this is higher than the count it last started it with. Absent: 0.
   */
  restartCount: z.number().int().nonnegative().optional(),
});
export type DesiredSandbox = z.infer<typeof desiredSandboxSchema>;

export const desiredStateSchema = z.object({
  sandboxes: z.array(desiredSandboxSchema),
});
export type DesiredState = z.infer<typeof desiredStateSchema>;
