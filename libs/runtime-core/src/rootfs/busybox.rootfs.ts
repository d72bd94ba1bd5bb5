import { copyFile, mkdir, symlink, writeFile, chmod } from 'node:fs/promises';
import { dirname, join, posix } from 'node:path';
import { RuntimeError, RuntimeErrorCode } from '../errors';
import type { ProcessAdapter } from '../host/process.adapter';

export const HOST_BUSYBOX = '/usr/bin/busybox';

const EMPTY_DIRS = ['proc', 'dev', 'sys', 'tmp', 'etc', 'root', 'run', 'var/tmp'];
const PASSWD = 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n';
const GROUP = 'root:x:0:\nnogroup:x:65534:\n';

/**
 * The default container rootfs until OCI images arrive: a static busybox with one symlink per
 * applet at the path busybox itself reports (`--list-full`), so `/bin/sh`, `/usr/bin/env` and
 * friends resolve as scripts expect.
 */
export class BusyboxRootfs {
  private applets: Promise<string[]> | undefined;

  constructor(
    private readonly proc: ProcessAdapter,
    private readonly busybox = HOST_BUSYBOX,
  ) {}

  async prepare(dir: string): Promise<void> {
    try {
      const applets = await this.listApplets();
      await mkdir(join(dir, 'bin'), { recursive: true });
      await Promise.all(EMPTY_DIRS.map((d) => mkdir(join(dir, d), { recursive: true })));
      await chmod(join(dir, 'tmp'), 0o1777);
      await copyFile(this.busybox, join(dir, 'bin/busybox'));
      await chmod(join(dir, 'bin/busybox'), 0o755);
      for (const applet of applets) {
        const link = join(dir, applet);
        await mkdir(dirname(link), { recursive: true });
        // Relative targets keep the links valid wherever the guest mounts the tree.
        await symlink(posix.relative(posix.dirname(`/${applet}`), '/bin/busybox'), link);
      }
      await writeFile(join(dir, 'etc/passwd'), PASSWD);
      await writeFile(join(dir, 'etc/group'), GROUP);
    } catch (cause) {
      throw new RuntimeError(RuntimeErrorCode.ROOTFS_FAILED, `prepare busybox rootfs in ${dir}`, { cause });
    }
  }

  private listApplets(): Promise<string[]> {
    this.applets ??= this.proc.run(this.busybox, ['--list-full']).then(
      ({ stdout }) =>
        stdout
          .split('\n')
          .map((line) => line.trim())
          // `linuxrc` and busybox itself are not applets a container wants.
          .filter((applet) => applet.includes('/') && applet !== 'bin/busybox' && !applet.startsWith('/') && !applet.includes('..')),
      (error: unknown) => {
        this.applets = undefined;
        throw error;
      },
    );
    return this.applets;
  }
}
