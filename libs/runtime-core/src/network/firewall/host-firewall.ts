import { z } from 'zod';
import { JsonState } from '../../host/json-state';
import type { NetAdapter } from '../../host/net.adapter';
import { NetworkError, NetworkErrorCode, withNetworkError } from '../../errors/network.errors';
import type { OverlayFence } from '../overlay/tenant-overlay';
import { renderRuleset, sandboxFenceSchema, type SandboxFence } from './nft-ruleset';

export interface HostFirewallOptions {
  bridgePrefix: string;
  subnetPool: string;
  /** Records every fenced sandbox, so a restarted node agent rebuilds the same rule set. */
  stateFile: string;
}

const stateSchema = z.object({
  sandboxes: z.record(z.string(), sandboxFenceSchema),
  overlay: z.object({ vnis: z.array(z.number().int().positive()), peers: z.array(z.string()) }).optional(),
});
type State = z.infer<typeof stateSchema>;

/**
 * The node's firewall for its sandboxes: one nftables table per address family, owned by this
 * node agent (named by its bridge prefix), rebuilt whole on every change in one transaction (see
 * `renderRuleset`), and removed whole with the last sandbox. Changes are serialized; the state is
 * saved before the rules are applied, so after a crash the next change (or `reconcile`) applies
 * what the state says.
 */
export class HostFirewall {
  private readonly state: JsonState<State>;

  constructor(
    private readonly net: Pick<NetAdapter, 'nft'>,
    private readonly opts: HostFirewallOptions,
  ) {
    this.state = new JsonState(
      opts.stateFile,
      stateSchema,
      () => ({ sandboxes: {} }),
      (cause) => new NetworkError(NetworkErrorCode.FIREWALL_FAILED, `read ${opts.stateFile}`, { cause }),
    );
  }

  /** Fences a sandbox (again: replaces its fence). */
  add(sandboxId: string, fence: SandboxFence): Promise<void> {
    return this.change((state) => {
      state.sandboxes[sandboxId] = fence;
    });
  }

  /** Drops a sandbox's rules; the tables go with the last one. Idempotent. */
  remove(sandboxId: string): Promise<void> {
    return this.change((state) => {
      delete state.sandboxes[sandboxId];
    });
  }

  /** Takes the node's tenant overlays: VXLAN with their VNIs only from their peers. */
  setOverlay(overlay: OverlayFence): Promise<void> {
    return this.change((state) => {
      state.overlay = overlay;
    });
  }

  /** Applies what the state says (after a restart). */
  reconcile(): Promise<void> {
    return this.change(() => undefined);
  }

  private change(edit: (state: State) => void): Promise<void> {
    return this.state.update(async (state, write) => {
      edit(state);
      await write(state);
      const script = renderRuleset({ bridgePrefix: this.opts.bridgePrefix, subnetPool: this.opts.subnetPool, sandboxes: state.sandboxes, overlay: state.overlay });
      await withNetworkError(NetworkErrorCode.FIREWALL_FAILED, 'apply the sandbox firewall (nft -f)', () => this.net.nft(script));
    });
  }
}
