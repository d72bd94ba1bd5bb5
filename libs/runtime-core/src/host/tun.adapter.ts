import { closeSync, openSync } from 'node:fs';
import { NetworkError, NetworkErrorCode } from '../errors/network.errors';
import { loadLibc, type Libc } from './libc';

/** Opens TAP devices, so that a VMM gets its NIC as a descriptor and needs no network privilege. */
export interface TunAdapter {
  /**
   * Creates the TAP device `ifname` in this process's network namespace, attached to the
   * descriptor returned (with virtio-net headers, no packet info). The device lives as long as a
   * descriptor to it is open: the VMM's copy keeps it, and it goes when the VMM does.
   */
  openTap(ifname: string): number;
  close(fd: number): void;
}

const TUNSETIFF = 0x400454ca;
const IFF_TAP = 0x0002;
const IFF_NO_PI = 0x1000;
const IFF_VNET_HDR = 0x4000;
/** `struct ifreq`: a 16-byte name, then a union whose first member is the 2-byte flags. */
const IFREQ_BYTES = 40;
const IFNAMSIZ = 16;

/** The real one: TUNSETIFF through libc's `ioctl(2)`, which Node lacks. */
export class LinuxTunAdapter implements TunAdapter {
  private constructor(private readonly libc: Libc) {}

  static async load(): Promise<LinuxTunAdapter> {
    return new LinuxTunAdapter(await loadLibc());
  }

  openTap(ifname: string): number {
    if (Buffer.byteLength(ifname) >= IFNAMSIZ) throw new NetworkError(NetworkErrorCode.LINK_FAILED, `tap name ${ifname} is longer than ${IFNAMSIZ - 1} bytes`);
    const fd = openSync('/dev/net/tun', 'r+');
    const ifr = Buffer.alloc(IFREQ_BYTES);
    ifr.write(ifname, 0, 'latin1');
    ifr.writeUInt16LE(IFF_TAP | IFF_NO_PI | IFF_VNET_HDR, IFNAMSIZ);
    if (this.libc.ioctl(fd, TUNSETIFF, ifr) !== 0) {
      const errno = this.libc.errno();
      closeSync(fd);
      throw new NetworkError(NetworkErrorCode.LINK_FAILED, `create tap ${ifname}: TUNSETIFF failed with errno ${errno}`);
    }
    return fd;
  }

  close(fd: number): void {
    closeSync(fd);
  }
}
