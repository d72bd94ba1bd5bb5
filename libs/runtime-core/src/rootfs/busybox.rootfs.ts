import { mkdir, readFile, symlink, writeFile, chmod } from 'node:fs/promises';
import { basename, dirname, join, posix } from 'node:path';
import { RuntimeError, RuntimeErrorCode } from '../errors/runtime.errors';
import type { ProcessAdapter } from '../host/process.adapter';

export const HOST_BUSYBOX = '/usr/bin/busybox';

const EMPTY_DIRS = ['proc', 'dev', 'sys', 'tmp', 'etc', 'root', 'run', 'var/tmp'];
const PASSWD = 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n';
const GROUP = 'root:x:0:\nnogroup:x:65534:\n';
/** Where the rootfs keeps busybox, which the wget wrapper runs. */
const ROOTFS_BUSYBOX = '/bin/busybox';
/**
 * The name wget's applet has in the rootfs's busybox: the same length, so it is renamed in place
 * in busybox's applet name table and keeps its index (its main function), and between "wc" and
 * "which", as busybox's lookup walks the table in order and stops once it is past the name.
 */
export const HIDDEN_WGET_APPLET = 'wgeT';

/**
 * `wget` for the default rootfs: busybox's, taking GNU wget's `-T N`/`-TN`/`--timeout N`/
 * `--timeout=N` too (and dropping `-t N`/`--tries`, which busybox ignores). Debian builds busybox
 * without FEATURE_WGET_TIMEOUT, but its wget still parses `-T` into a pointer nothing allocated,
 * so `wget -T 5 URL` dies of SIGSEGV, and `--timeout` is an unknown option.
 *
 * With a timeout, busybox wget runs under busybox's `timeout` applet, which bounds the whole
 * download (GNU wget bounds each network operation instead). A download that runs out of time is
 * ended by SIGTERM: wget exits as signalled, status 143 (128 + 15) in a shell, where GNU wget would
 * say 4 and coreutils timeout 124. `exec` all the way keeps the caller's pid, signals and status
 * (except as pid 1 of a pid namespace, where the kernel would keep timeout's signal from wget).
 * `applet` is the name the rootfs's busybox knows wget by ({@link hideWgetApplet}), which its
 * messages then start with ("wgeT: bad address …").
 */
export function wgetScript(busybox = ROOTFS_BUSYBOX, applet = HIDDEN_WGET_APPLET): string {
  for (const word of [busybox, applet]) {
    if (!/^[A-Za-z0-9_./-]+$/.test(word)) throw new Error(`${JSON.stringify(word)} would need quoting`);
  }
  return `#!/bin/sh
# busybox wget with GNU wget's -T/--timeout; see BusyboxRootfs in Moat's runtime-core.
${applet === 'wget' ? '' : `# busybox's wget applet is ${applet} here, so busybox's shell finds this script, not the applet.\n`}# A timed-out download is killed by SIGTERM and exits with status 143.
bb=${busybox}
timeout=
die() {
	echo "wget: $1" >&2
	exit 1
}
# Each argument is shifted off the front and the ones busybox wget should see are appended, so
# after $n steps "$@" holds exactly those, quoted as they came.
n=$#
while [ "$n" -gt 0 ]; do
	arg=$1
	shift
	n=$((n - 1))
	case $arg in
	--)
		# The rest are URLs, even those that look like options.
		set -- "$@" "$arg"
		while [ "$n" -gt 0 ]; do
			set -- "$@" "$1"
			shift
			n=$((n - 1))
		done
		;;
	--timeout=*) timeout=\${arg#*=} && [ -n "$timeout" ] || die "option '--timeout' needs a value" ;;
	--tries=*) ;;
	--timeout | --tries)
		[ "$n" -gt 0 ] || die "option '$arg' needs a value"
		[ "$arg" = --timeout ] && timeout=$1
		shift
		n=$((n - 1))
		;;
	--output-document | --output-file | --directory-prefix | --proxy | --user-agent | --header | --post-data | --post-file)
		# The next argument is this option's value, whatever it looks like.
		set -- "$@" "$arg"
		if [ "$n" -gt 0 ]; then
			set -- "$@" "$1"
			shift
			n=$((n - 1))
		fi
		;;
	--*) set -- "$@" "$arg" ;;
	-?*)
		# A cluster of short options such as -qT5 or -qO file: -T and -t come out, the rest stays.
		rest=\${arg#-}
		kept=
		value_follows=
		while [ -n "$rest" ]; do
			c=\${rest%"\${rest#?}"}
			rest=\${rest#?}
			case $c in
			T | t)
				if [ -z "$rest" ]; then
					[ "$n" -gt 0 ] || die "option '-$c' needs a value"
					rest=$1
					shift
					n=$((n - 1))
				fi
				[ "$c" = T ] && timeout=$rest
				rest=
				;;
			O | o | P | U | Y)
				kept=$kept$c$rest
				[ -z "$rest" ] && value_follows=1
				rest=
				;;
			n)
				# -n takes an optional value, only attached (-nv).
				kept=$kept$c$rest
				rest=
				;;
			*) kept=$kept$c ;;
			esac
		done
		[ -n "$kept" ] && set -- "$@" "-$kept"
		if [ -n "$value_follows" ] && [ "$n" -gt 0 ]; then
			set -- "$@" "$1"
			shift
			n=$((n - 1))
		fi
		;;
	*) set -- "$@" "$arg" ;;
	esac
done
case $timeout in
'') exec "$bb" ${applet} "$@" ;;
.* | *. | *[!0-9.]* | *.*.*) die "invalid timeout '$timeout'" ;;
# 0 means no timeout, as in GNU wget.
*[1-9]*)
	# As pid 1 of its pid namespace (a container's init), wget would ignore timeout's SIGTERM:
	# there the script stays wget's parent.
	[ "$$" = 1 ] || exec "$bb" timeout "$timeout" "$bb" ${applet} "$@"
	"$bb" timeout "$timeout" "$bb" ${applet} "$@"
	exit $?
	;;
*) exec "$bb" ${applet} "$@" ;;
esac
`;
}

/**
 * Debian's busybox-static runs its own applets in preference to the PATH
 * (FEATURE_SH_STANDALONE, FEATURE_PREFER_APPLETS): `sh -c 'wget …'`, `env wget` and
 * `xargs wget` never look at /usr/bin/wget. So the rootfs's copy has wget's entry in the applet
 * name table renamed ({@link HIDDEN_WGET_APPLET}); they then search the PATH and find the
 * script, which runs the renamed applet. The entry is found by its neighbours in the table
 * (`--list` order), and must be found exactly once; a busybox laid out differently is copied
 * unchanged, and only programs that exec /usr/bin/wget by the PATH get the script.
 */
export function hideWgetApplet(busybox: Buffer, appletNames: readonly string[]): Buffer | undefined {
  const at = appletNames.indexOf('wget');
  if (at <= 0 || at === appletNames.length - 1) return undefined;
  if (!(appletNames[at - 1] < HIDDEN_WGET_APPLET && HIDDEN_WGET_APPLET < appletNames[at + 1])) return undefined;
  const entry = (name: string): Buffer => Buffer.from(`\0${appletNames[at - 1]}\0${name}\0${appletNames[at + 1]}\0`);
  const needle = entry('wget');
  const found = busybox.indexOf(needle);
  if (found < 0 || busybox.indexOf(needle, found + 1) >= 0) return undefined;
  const patched = Buffer.from(busybox);
  entry(HIDDEN_WGET_APPLET).copy(patched, found);
  return patched;
}

/** What every rootfs gets from the host's busybox, worked out once. */
interface BusyboxImage {
  /** Install paths relative to the root, e.g. `usr/bin/env`. */
  applets: string[];
  binary: Buffer;
  /** The name the copied binary knows wget by. */
  wgetApplet: string;
}

/**
 * The default container rootfs until OCI images arrive: a static busybox with one symlink per
 * applet at the path busybox itself reports (`--list-full`), so `/bin/sh`, `/usr/bin/env` and
 * friends resolve as scripts expect; `wget` is a script around busybox's ({@link wgetScript}).
 */
export class BusyboxRootfs {
  private image: Promise<BusyboxImage> | undefined;

  constructor(
    private readonly proc: ProcessAdapter,
    private readonly busybox = HOST_BUSYBOX,
  ) {}

  async prepare(dir: string): Promise<void> {
    try {
      const { applets, binary, wgetApplet } = await this.loadImage();
      await mkdir(join(dir, 'bin'), { recursive: true });
      await Promise.all(EMPTY_DIRS.map((d) => mkdir(join(dir, d), { recursive: true })));
      await chmod(join(dir, 'tmp'), 0o1777);
      await writeFile(join(dir, 'bin/busybox'), binary);
      await chmod(join(dir, 'bin/busybox'), 0o755);
      for (const applet of applets) {
        const link = join(dir, applet);
        await mkdir(dirname(link), { recursive: true });
        if (basename(applet) === 'wget') await writeFile(link, wgetScript(ROOTFS_BUSYBOX, wgetApplet), { mode: 0o755 });
        // Relative targets keep the links valid wherever the guest mounts the tree.
        else await symlink(posix.relative(posix.dirname(`/${applet}`), ROOTFS_BUSYBOX), link);
      }
      await writeFile(join(dir, 'etc/passwd'), PASSWD);
      await writeFile(join(dir, 'etc/group'), GROUP);
    } catch (cause) {
      throw new RuntimeError(RuntimeErrorCode.ROOTFS_FAILED, `prepare busybox rootfs in ${dir}`, { cause });
    }
  }

  private loadImage(): Promise<BusyboxImage> {
    this.image ??= Promise.all([this.proc.run(this.busybox, ['--list-full']), readFile(this.busybox)]).then(
      ([{ stdout }, original]) => {
        const listed = stdout
          .split('\n')
          .map((line) => line.trim())
          .filter(Boolean);
        const patched = hideWgetApplet(original, listed.map((path) => posix.basename(path)));
        return {
          // `linuxrc` and busybox itself are not applets a container wants.
          applets: listed.filter((applet) => applet.includes('/') && applet !== 'bin/busybox' && !applet.startsWith('/') && !applet.includes('..')),
          binary: patched ?? original,
          wgetApplet: patched ? HIDDEN_WGET_APPLET : 'wget',
        };
      },
      (error: unknown) => {
        this.image = undefined;
        throw error;
      },
    );
    return this.image;
  }
}
