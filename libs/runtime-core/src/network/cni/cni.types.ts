import { z } from 'zod';

/** One plugin entry of a CNI network configuration list (spec 1.0); other keys pass through to the plugin. */
export const cniPluginConfSchema = z
  .object({
    type: z.string().regex(/^[A-Za-z0-9_.-]+$/, 'plugin type must be a plain file name'),
    capabilities: z.record(z.string(), z.boolean()).optional(),
    ipam: z.object({ type: z.string().regex(/^[A-Za-z0-9_.-]+$/) }).passthrough().optional(),
  })
  .passthrough();
export type CniPluginConf = z.infer<typeof cniPluginConfSchema>;

export const cniConflistSchema = z.object({
  cniVersion: z.string(),
  name: z.string().min(1),
  plugins: z.array(cniPluginConfSchema).min(1),
});
export type CniConflist = z.infer<typeof cniConflistSchema>;

/** A CNI 1.0 success result (the subset Moat reads; everything else is cached and passed on as is). */
export const cniResultSchema = z
  .object({
    cniVersion: z.string(),
    interfaces: z.array(z.object({ name: z.string(), mac: z.string().optional(), sandbox: z.string().optional() }).passthrough()).optional(),
    ips: z
      .array(z.object({ address: z.string(), gateway: z.string().optional(), interface: z.number().int().optional() }).passthrough())
      .default([]),
    routes: z.array(z.object({ dst: z.string(), gw: z.string().optional() }).passthrough()).optional(),
    dns: z.object({ nameservers: z.array(z.string()).optional() }).passthrough().optional(),
  })
  .passthrough();
export type CniResult = z.infer<typeof cniResultSchema>;

/** Which container an operation is for (CNI_CONTAINERID, CNI_NETNS, CNI_IFNAME). */
export interface CniAttachment {
  containerId: string;
  netnsPath: string;
  ifname: string;
}

/**
 * `ipam-only` runs the chain with its first (interface) plugin replaced by that plugin's IPAM
 * plugin: an address from the same pool and the same chained plugins, but no veth. The bridge
 * model uses it, since its tap joins the bridge without one.
 */
export type CniMode = 'full' | 'ipam-only';

/** Capability arguments (CNI `runtimeConfig`); a plugin gets a key only if it declares the capability. */
export interface CniRuntimeConfig {
  portMappings?: { hostPort: number; containerPort: number; protocol: string }[];
  bandwidth?: { ingressRate?: number; ingressBurst?: number; egressRate?: number; egressBurst?: number };
}
