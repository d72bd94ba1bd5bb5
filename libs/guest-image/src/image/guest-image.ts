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
  /** Read-only ext4 root filesystem, for the first virtio-blk device (`root=/dev/vda`). */
  rootfs: string;
  /** `uname -r` of the guest kernel, e.g. `6.1.0-56-amd64`. */
  kernelRelease: string;
}
