/** A built guest image: the files one sandbox VM boots from. */
export interface GuestImage {
  /** SHA-256 over every input the image was built from. */
  id: string;
  /** The directory holding the image's files. */
  dir: string;
  /** Uncompressed ELF vmlinux, for `-kernel` (QEMU boots it through its PVH note). */
  kernel: string;
  /** Initramfs (cpio newc), for `-initrd`. */
  initrd: string;
  /**
   * Read-only ext4 root filesystem, mapped into the guest as a virtio-pmem device
   * (`root=/dev/pmem0 rootflags=dax`); its size is a whole number of 2 MiB, as a pmem region's must be.
   */
  rootfs: string;
  /** The size of `rootfs` in bytes: the pmem device's. */
  rootfsBytes: number;
  /** `uname -r` of the guest kernel, e.g. `6.1.0-56-amd64`. */
  kernelRelease: string;
}
