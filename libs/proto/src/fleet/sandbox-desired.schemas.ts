/**
 * Desired state, control plane → node agent. Level-triggered (like a kubelet): after every
 * (re)connect, and after every change, the control plane sends a node the *full* set of
 * sandboxes it should run; a sandbox missing from the set is to be deleted.
 */
import { z } from 'zod';
import { MAX_ARGV_ENTRIES, MAX_COMMAND_ARG_LENGTH } from '../limits/process.limits';
import {
  MAX_FORK_CLONES,
  MAX_IDLE_TIMEOUT_SECONDS,
  MAX_IMAGE_REFERENCE_LENGTH,
  MAX_MEMORY_MIB,
  MAX_PUBLISHED_PORTS,
  MAX_VCPUS,
  MIN_IDLE_TIMEOUT_SECONDS,
  MIN_MEMORY_MIB,
} from '../limits/sandbox.limits';
import { MAX_TENANT_PEERS, MAX_VNI } from '../limits/fleet.limits';
import { dnsConfigSchema, egressPolicySchema, ipv4CidrSchema, ipv4Schema } from './sandbox-fences';

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
  /**
   * Its address on its tenant's network, planned by the control plane for the whole fleet (see
   * {@link tenantNetworkPlanSchema}). Absent (no NIC, or an older control plane): the node picks
   * one from its own pool.
   */
  address: ipv4Schema.optional(),
  /**
   * true: the node saves the running VM (memory, devices, writable rootfs), releases it and keeps
   * the saved state (`hibernated`); back to false (or absent): it restores the VM from that state
   * (`waking` → `running`). Only a `rootfs: block` sandbox can be saved (QEMU 7.2 migrates neither
   * vhost-user-fs nor a mounted 9p share); a node asked to save another reports `running` with
   * the error HIBERNATE_UNSUPPORTED.
   */
  hibernated: z.boolean().optional(),
  /**
   * A clone of a running `rootfs: block` sandbox on the same node (`POST /v1/sandboxes/:id/fork`):
   * the node starts it from that sandbox's memory, processes and files, captured once for the
   * fork's `count` clones (all of them carry the same `forkId`), under the clone's own identity.
   * A source that is not running there fails the clone with FORK_FAILED.
   */
  forkOf: z.object({ sandboxId: z.string().uuid(), forkId: z.string().uuid(), count: z.number().int().min(1).max(MAX_FORK_CLONES) }).optional(),
  /**
   * Auto-hibernate (only a `rootfs: block` sandbox has it): once the running sandbox has had no
   * exec, attach session, file transfer or NIC traffic for this long, the node says so in its
   * status (`idleSeconds`); it does not hibernate it by itself, the control plane decides and
   * asks through `hibernated`. Absent: never idle.
   */
  idleTimeoutSeconds: z.number().int().min(MIN_IDLE_TIMEOUT_SECONDS).max(MAX_IDLE_TIMEOUT_SECONDS).optional(),
});
export type DesiredSandbox = z.infer<typeof desiredSandboxSchema>;

/**
 * A tenant's network as the control plane plans it for the whole fleet: one L2 segment spanning
 * every node where the tenant has sandboxes (a VXLAN with this VNI joins the node's tenant
 * bridges), one subnet, one gateway address that every node's bridge carries (an anycast
 * gateway: routed traffic leaves through the sandbox's own node).
 */
export const tenantNetworkPlanSchema = z.object({
  tenantId: z.string().uuid(),
  /** The VXLAN network identifier, the same on every node. */
  vni: z.number().int().min(1).max(MAX_VNI),
  /** Every sandbox address of the tenant is in it, e.g. `10.88.3.0/24`. */
  subnet: ipv4CidrSchema,
  gateway: ipv4Schema,
  /**
   * The underlay addresses of the other nodes where the tenant has sandboxes. Absent: the same as
   * the node was last told on this connection. The control plane sends them after every hello
   * and to a node whose own sandboxes made them change; the tenant's other nodes hear of a
   * change by `tenantPeersUpdateSchema`: a tenant on thousands of nodes would otherwise make every desired
   * set of every one of them thousands of addresses long.
   */
  peers: z.array(ipv4Schema).max(MAX_TENANT_PEERS).optional(),
});
export type TenantNetworkPlan = z.infer<typeof tenantNetworkPlanSchema>;

/**
 * A tenant's new peers, sent to each of its nodes whose own sandboxes did not change when its set
 * of nodes did (a node joined or left it elsewhere): every node's underlay address, the
 * receiver's own among them (it leaves that out). One message for all of them; a node that no
 * longer holds the tenant ignores it.
 */
export const tenantPeersUpdateSchema = z.object({
  tenantId: z.string().uuid(),
  peers: z.array(ipv4Schema).max(MAX_TENANT_PEERS),
});
export type TenantPeersUpdate = z.infer<typeof tenantPeersUpdateSchema>;

export const desiredStateSchema = z.object({
  sandboxes: z.array(desiredSandboxSchema),
  /** The networks of the tenants in `sandboxes`. Absent (an older control plane): each node plans its own. */
  networks: z.array(tenantNetworkPlanSchema).optional(),
  /** This node's underlay address as the fleet knows it: its overlays send from it, peers send to it. */
  underlayAddress: ipv4Schema.optional(),
});
export type DesiredState = z.infer<typeof desiredStateSchema>;
