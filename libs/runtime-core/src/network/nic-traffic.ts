import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { NetworkState } from './network.types';

/** Where the host's netns shows its links' counters. */
const SYS_CLASS_NET = '/sys/class/net';

/**
 * The bytes a sandbox's NIC has received and sent so far, or undefined when it has no port on
 * its tenant bridge (no network, a pod's VM in CRI's netns) or that link is gone.
 *
 * Read from the counters of `nic.bridgePort` in the host's own netns: the VM's tap itself for
 * the bridge model, CNI's veth host end for tcfilter and macvtap. Every guest frame crosses that
 * veth, and only the guest's (the tc redirect and the passthru macvtap leave the sandbox netns'
 * own stack out), so its counters move exactly when the tap's in the sandbox netns do, and no
 * process is forked and no netns entered to read them: two small sysfs reads.
 */
export async function nicTrafficBytes(network: NetworkState | undefined, sysClassNet = SYS_CLASS_NET): Promise<number | undefined> {
  const port = network?.nic?.bridgePort;
  if (port === undefined) return undefined;
  const statistics = join(sysClassNet, port, 'statistics');
  try {
    const [rx, tx] = await Promise.all(['rx_bytes', 'tx_bytes'].map((counter) => readFile(join(statistics, counter), 'utf8')));
    return Number(rx) + Number(tx);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
}
