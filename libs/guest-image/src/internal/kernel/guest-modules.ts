/**
 * Modules /init loads, in dependency closure. Debian's generic kernel builds every one of
 * them as a module (virtio_pci included), so without them the guest sees no disk at all.
 */
export const GUEST_MODULES = [
  'virtio_pci', // the transport of every device on q35
  // The rootfs: a virtio-pmem device mapping the host's image file, mounted with DAX, so the
  // guest reads it straight from the host's page cache, which every VM on the node shares,
  // instead of copying it into its own RAM (Kata's image on NVDIMM, the same idea).
  'virtio_pmem',
  'nd_pmem', // the block device (/dev/pmem0) on the pmem region
  'virtio_blk', // the block-mode container rootfs
  // ext4 only soft-depends on "crypto-crc32c" (not in modules.dep) and mounting a
  // metadata_csum filesystem fails without it; the generic one because TCG's default CPU
  // model lacks SSE4.2, which crc32c-intel needs.
  'crc32c_generic',
  'ext4',
  'virtio_console', // the agent's virtio-serial channel
  '9pnet_virtio', // shared dir over virtio-9p
  '9p',
  'virtiofs', // shared dir over virtio-fs (pulls in fuse)
  'overlay', // container rootfs layering
  'vmw_vsock_virtio_transport', // the agent's vsock channel
  'virtio_net',
] as const;
