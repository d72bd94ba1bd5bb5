import { openSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { NetAdapter } from '../../host/net.adapter';
import { NetworkError, NetworkErrorCode, withNetworkError } from '../../errors/network.errors';
import type { NetworkModel, PlumbContext, PlumbedNic } from './network-model';

export const MACVTAP_NAME = 'mvtap0';
const DEVICE_FILE = 'macvtap';

/**
 * A macvtap in passthru mode on the CNI veth: the macvtap takes the veth's MAC and every frame
 * it receives. Its character device (whose numbers are only visible in the netns' sysfs) is
 * made in the sandbox's run dir, opened for the VMM and removed again.
 */
export class MacvtapModel implements NetworkModel {
  readonly kind = 'macvtap' as const;
  readonly cniMode = 'full' as const;

  constructor(private readonly net: NetAdapter) {}

  async plumb(ctx: PlumbContext): Promise<PlumbedNic> {
    const bridgePort = ctx.cniHostIfname;
    if (!bridgePort) throw new NetworkError(NetworkErrorCode.CNI_RESULT_INVALID, 'CNI result names no host end of the veth');
    await withNetworkError(NetworkErrorCode.LINK_FAILED, `macvtap in netns ${ctx.netns}`, () =>
      this.net.ipBatch(
        ['link set lo up', `link add link ${ctx.cniIfname} name ${MACVTAP_NAME} type macvtap mode passthru`, `link set dev ${MACVTAP_NAME} up`],
        ctx.netns,
      ),
    );
    const devNumbers = await withNetworkError(NetworkErrorCode.LINK_FAILED, `macvtap device numbers in ${ctx.netns}`, async () => {
      const ifindex = (await this.net.inNetns(ctx.netns, 'cat', [`/sys/class/net/${MACVTAP_NAME}/ifindex`])).trim();
      return (await this.net.inNetns(ctx.netns, 'cat', [`/sys/class/net/${MACVTAP_NAME}/macvtap/tap${ifindex}/dev`])).trim();
    });
    const match = /^(\d+):(\d+)$/.exec(devNumbers);
    if (!match) throw new NetworkError(NetworkErrorCode.LINK_FAILED, `unexpected macvtap device numbers "${devNumbers}"`);
    const path = join(ctx.runDir, DEVICE_FILE);
    await rm(path, { force: true });
    await withNetworkError(NetworkErrorCode.LINK_FAILED, `mknod ${path}`, () => this.net.mknod(path, Number(match[1]), Number(match[2])));
    try {
      const fd = await withNetworkError(NetworkErrorCode.LINK_FAILED, `open ${path}`, () => Promise.resolve(openSync(path, 'r+')));
      return { fd, bridgePort };
    } finally {
      await rm(path, { force: true });
    }
  }

  /** The macvtap goes with the netns. */
  async unplumb(ctx: PlumbContext): Promise<void> {
    await rm(join(ctx.runDir, DEVICE_FILE), { force: true });
  }
}
