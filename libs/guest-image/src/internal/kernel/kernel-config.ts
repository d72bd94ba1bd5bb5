import { GuestImageError, GuestImageErrorCode } from '../../errors/guest-image.error';

/**
 * Options the boot path depends on and that no module can supply: PVH for booting the ELF
 * vmlinux directly, initramfs support, devtmpfs for /dev, the 8250 UART as console, and
 * what crun needs (cgroups, namespaces, seccomp).
 */
export const REQUIRED_BUILTIN_OPTIONS = [
  'CONFIG_PVH',
  'CONFIG_BLK_DEV_INITRD',
  'CONFIG_DEVTMPFS',
  'CONFIG_SERIAL_8250_CONSOLE',
  'CONFIG_TMPFS',
  'CONFIG_CGROUPS',
  'CONFIG_MEMCG',
  'CONFIG_CGROUP_PIDS',
  'CONFIG_NAMESPACES',
  'CONFIG_SECCOMP',
] as const;

/** Parses a kernel .config: `CONFIG_X=y|m|"str"|n`; `# CONFIG_X is not set` is omitted. */
export function parseKernelConfig(text: string): ReadonlyMap<string, string> {
  const options = new Map<string, string>();
  for (const line of text.split('\n')) {
    const match = /^(CONFIG_[A-Za-z0-9_]+)=(.*)$/.exec(line);
    if (match) options.set(match[1], match[2]);
  }
  return options;
}

/** Throws KERNEL_UNSUPPORTED naming every required option that is not built in. */
export function assertBootableConfig(config: ReadonlyMap<string, string>, kernelRelease: string): void {
  const missing = REQUIRED_BUILTIN_OPTIONS.filter((option) => config.get(option) !== 'y');
  if (missing.length > 0) {
    throw new GuestImageError(
      GuestImageErrorCode.KERNEL_UNSUPPORTED,
      `kernel ${kernelRelease} does not build in ${missing.join(', ')}`,
    );
  }
}
