import { readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { GuestImageError, GuestImageErrorCode } from '../../errors/guest-image.error';
import type { ProcessRunner } from '../host/process.adapter';
import { GUEST_MODULES } from './guest-modules';
import { assertBootableConfig, parseKernelConfig } from './kernel-config';
import { extractDeb } from './kernel-package';
import { moduleLoadOrder, parseModulesBuiltin, parseModulesDep } from './module-closure';
import { extractVmlinux } from './vmlinux';

/** A kernel unpacked for building the image. */
export interface PreparedKernel {
  release: string;
  /** `<root>/lib/modules/<release>`. */
  modulesDir: string;
  /** Module files relative to modulesDir, in the order to insmod them. */
  loadOrder: string[];
}

/**
 * Unpacks the kernel .deb into `workDir`, checks its config, writes the uncompressed ELF
 * vmlinux to `vmlinuxPath`, and resolves the guest modules' dependency closure.
 */
export async function prepareKernel(
  processes: ProcessRunner,
  debPath: string,
  workDir: string,
  vmlinuxPath: string,
): Promise<PreparedKernel> {
  await extractDeb(processes, debPath, workDir);
  const release = await kernelRelease(workDir);
  const bootDir = join(workDir, 'boot');
  assertBootableConfig(parseKernelConfig(await readFile(join(bootDir, `config-${release}`), 'utf8')), release);
  await writeFile(vmlinuxPath, await extractVmlinux(processes, await readFile(join(bootDir, `vmlinuz-${release}`))));

  // The package ships modules without depmod's indexes (postinst generates them).
  await processes.run('depmod', ['-b', workDir, release]);
  const modulesDir = join(workDir, 'lib', 'modules', release);
  const loadOrder = moduleLoadOrder(
    parseModulesDep(await readFile(join(modulesDir, 'modules.dep'), 'utf8')),
    parseModulesBuiltin(await readFile(join(modulesDir, 'modules.builtin'), 'utf8')),
    GUEST_MODULES,
  );
  return { release, modulesDir, loadOrder };
}

async function kernelRelease(root: string): Promise<string> {
  const releases = await readdir(join(root, 'lib', 'modules'));
  if (releases.length !== 1) {
    throw new GuestImageError(
      GuestImageErrorCode.KERNEL_UNSUPPORTED,
      `expected one kernel release in the package, found ${releases.join(', ') || 'none'}`,
    );
  }
  return releases[0];
}
