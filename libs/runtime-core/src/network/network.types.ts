import { egressPolicySchema, type EgressPolicy } from '@moat/proto';
import { z } from 'zod';
import { NETWORK_MODELS, type NetworkModelKind } from './models/network-model';

export const portMappingSchema = z.object({
  containerPort: z.number().int().min(1).max(65535),
  hostPort: z.number().int().min(1).max(65535),
  protocol: z.enum(['tcp', 'udp']),
});
/** A sandbox port published on the node (iptables DNAT by the CNI `portmap` plugin). */
export type PortMapping = z.infer<typeof portMappingSchema>;

/** A port as requested; without `hostPort` the node picks a free one. */
export type PortRequest = Omit<PortMapping, 'hostPort'> & { hostPort?: number };

/** A sandbox's place on its tenant's fleet-wide network, as the control plane planned it (`address`: its own, in `subnet`). */
export const plannedAddressSchema = z.object({ vni: z.number().int().positive(), subnet: z.string(), gateway: z.string(), address: z.string() });
export type PlannedAddress = z.infer<typeof plannedAddressSchema>;

/** What a sandbox asks of the network; absent from the spec means no network at all. */
export interface SandboxNetworkSpec {
  model: NetworkModelKind;
  ports: PortRequest[];
  /** Where its traffic may go beyond what is always refused; absent: everywhere else. */
  egress?: EgressPolicy;
  /** Absent: the node plans the tenant's network and the address itself (no control plane). */
  planned?: PlannedAddress;
}

export { egressPolicySchema };

const guestAddressSchema = z.object({ address: z.string(), prefix: z.number().int(), family: z.enum(['4', '6']) });

/** The guest side of a CNI result: what the guest agent applies to the guest's eth0. */
export const guestNetConfigSchema = z.object({
  mac: z.string(),
  addresses: z.array(guestAddressSchema),
  routes: z.array(z.object({ dest: z.string(), gateway: z.string() })),
  dns: z.array(z.string()),
  /** Set when the segment spans nodes: what the overlay carries. Absent: the NIC's default (1500). */
  mtu: z.number().int().positive().optional(),
});
export type GuestNetConfig = z.infer<typeof guestNetConfigSchema>;

/**
 * The sandbox's NIC as its state file keeps it. The VMM gets the NIC itself as a descriptor the
 * runtime holds only until the VMM has it; nothing of it needs a restart to survive.
 */
export const vmNicSchema = z.object({
  mac: z.string(),
  /** The link through which the guest's frames enter the tenant bridge (CNI's veth, or the model's tap); absent in states older than it. */
  bridgePort: z.string().optional(),
});
export type VmNic = z.infer<typeof vmNicSchema>;

/** A sandbox's network as kept in its state file: enough to finish or undo the plumbing after a restart. */
export const networkStateSchema = z.object({
  /**
   * The id its host objects (netns, CNI container, firewall rules) are named by: the sandbox's,
   * or for a sandbox moved from another node its own VM id (the source's copy may still hold the
   * sandbox id's on a shared host). Absent in states older than it: the sandbox id.
   */
  owner: z.string().optional(),
  model: z.enum(NETWORK_MODELS),
  tenantId: z.string(),
  ports: z.array(portMappingSchema),
  nic: vmNicSchema.optional(),
  guest: guestNetConfigSchema.optional(),
  /** A pod's VM in CRI's netns (no tenant network): the netns's name and the interface the VM stands in for. */
  pod: z.object({ netns: z.string(), ifname: z.string() }).optional(),
});
export type NetworkState = z.infer<typeof networkStateSchema>;
