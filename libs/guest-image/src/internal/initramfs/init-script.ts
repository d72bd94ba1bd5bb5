/** The busybox applets /init uses; linked in the initramfs so the script reads like sh. */
export const INITRAMFS_APPLETS = ['sh', 'mount', 'insmod', 'sleep', 'switch_root', 'poweroff'] as const;

/** The initramfs /init: load modules, mount the real root read-only, hand over to its init. */
export function initScript(modules: readonly string[]): string {
  return `#!/bin/sh
export PATH=/bin

fail() {
  echo "moat-init: error: $*"
  # Powering off instead of exiting (a kernel panic) lets the host see a VM that stopped.
  poweroff -f
}

mount -t proc proc /proc || fail "mount /proc"
mount -t sysfs sysfs /sys || fail "mount /sys"
mount -t devtmpfs devtmpfs /dev || fail "mount /dev"

for module in ${modules.join(' ')}; do
  insmod "/lib/modules/$module" || fail "insmod $module"
done

root=/dev/pmem0
rootflags=
read -r cmdline < /proc/cmdline
for arg in $cmdline; do
  case "$arg" in
    root=*) root="\${arg#root=}" ;;
    rootflags=*) rootflags=",\${arg#rootflags=}" ;;
  esac
done

# A driver normally adds the disk while it is being inserted; allow a late probe anyway.
tries=0
while [ ! -b "$root" ]; do
  tries=$((tries + 1))
  [ "$tries" -le 100 ] || fail "root device $root did not appear"
  sleep 0.05
done

mount -t ext4 -o "ro$rootflags" "$root" /newroot || fail "mount $root on /newroot"
mount -t tmpfs -o mode=0755,nosuid,nodev tmpfs /newroot/run || fail "mount /run"
mount -t tmpfs -o mode=1777,nosuid,nodev tmpfs /newroot/tmp || fail "mount /tmp"
for fs in dev proc sys; do
  mount --move "/$fs" "/newroot/$fs" || fail "move /$fs"
done
exec switch_root /newroot /sbin/init
`;
}
