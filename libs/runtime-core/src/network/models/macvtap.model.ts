import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { NETNS_DIR, type NetAdapter } from '../../host/net.adapter';
import { NetworkError, NetworkErrorCode, withNetworkError } from '../network.errors';
import type { VmNic } from '../network.types';
import type { NetworkModel, PlumbContext } from './network-model';

export const MACVTAP_NAME = 'mvtap0';
const DEVICE_FILE = 'macvtap';

/**
 * A macvtap in passthru mode on the CNI veth: the macvtap takes the veth's MAC and every frame
 * it receives. QEMU cannot open a macvtap by name, so its character device (whose numbers are
 * only visible in the netns' sysfs) is made in the sandbox's run dir and handed over as an fd.
 */
export class MacvtapModel implements NetworkModel {
  readonly kind = 'macvtap' as const;
  readonly cniMode = 'full' as const;

  constructor(private readonly net: NetAdapter) {}

  async plumb(ctx: PlumbContext): Promise<VmNic> {
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
    return { netnsPath: `${NETNS_DIR}/${ctx.netns}`, tap: { kind: 'device', path }, mac: ctx.mac };
  }

  /** The macvtap goes with the netns; the device node with the run dir, but remove it now anyway. */
  async unplumb(ctx: PlumbContext): Promise<void> {
    await rm(join(ctx.runDir, DEVICE_FILE), { force: true });
  }
}
