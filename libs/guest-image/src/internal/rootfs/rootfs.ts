import { chmod, copyFile, lstat, mkdir, readdir, stat, symlink, truncate, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import type { ProcessRunner } from '../host/process.adapter';
import { produceAgentCodeCache } from './code-cache';
import { HOST_BUSYBOX, type HostFile } from './host-files';
import { ROOTFS_DIRS, ROOTFS_TEMPLATES } from './rootfs-templates';

const BLOCK_SIZE = 4096;
/** The guest maps the image as a virtio-pmem region, whose pages are mapped in 2 MiB sections. */
const PMEM_ALIGN_BYTES = 2 * 1024 * 1024;

/**
 * Builds the read-only root filesystem image: stages the tree in `stageDir`, then lets
 * `mkfs.ext4 -d` copy it in (no loop mount, no privileges), `resize2fs -M` shrink the
 * image to the smallest size that holds it, and pads the file to whole pmem sections.
 */
export async function buildRootfs(
  processes: ProcessRunner,
  files: readonly HostFile[],
  nodeBinary: string,
  stageDir: string,
  output: string,
): Promise<void> {
  await stageTree(processes, files, stageDir);
  await produceAgentCodeCache(processes, nodeBinary, stageDir);
  const { bytes, inodes } = await measureTree(stageDir);
  // Room for the allocator to place everything before shrinking; resize2fs -M then trims it.
  const sizeKiB = Math.ceil((bytes * 1.2) / 1024) + 16 * 1024;
  await processes.run('mkfs.ext4', [
    '-q',
    '-F',
    '-d', stageDir,
    '-L', 'moat-rootfs',
    // Mounted read-only by every VM: a journal and room to grow online would be dead weight.
    '-O', '^has_journal,^resize_inode',
    '-m', '0',
    '-b', String(BLOCK_SIZE),
    '-N', String(inodes + 64),
    '-E', 'root_owner=0:0',
    output,
    `${sizeKiB}k`,
  ]);
  await processes.run('resize2fs', ['-M', output]);
  const { size } = await stat(output);
  await truncate(output, Math.ceil(size / PMEM_ALIGN_BYTES) * PMEM_ALIGN_BYTES);
}

async function stageTree(processes: ProcessRunner, files: readonly HostFile[], root: string): Promise<void> {
  for (const dir of ROOTFS_DIRS) await mkdir(join(root, dir), { recursive: true });
  for (const file of files) {
    const target = join(root, file.guestPath);
    await mkdir(dirname(target), { recursive: true });
    await copyFile(file.hostPath, target);
    await chmod(target, file.mode);
  }
  const { stdout } = await processes.run(HOST_BUSYBOX, ['--list-full']);
  const taken = new Set(files.map((file) => file.guestPath));
  for (const applet of stdout.toString('utf8').split('\n').filter(Boolean)) {
    const guestPath = `/${applet}`;
    if (taken.has(guestPath)) continue;
    await mkdir(dirname(join(root, guestPath)), { recursive: true });
    await symlink('/bin/busybox', join(root, guestPath));
  }
  for (const template of ROOTFS_TEMPLATES) {
    const target = join(root, template.path);
    await mkdir(dirname(target), { recursive: true });
    if ('symlink' in template) {
      await symlink(template.symlink, target);
    } else {
      await writeFile(target, template.content);
      await chmod(target, template.mode);
    }
  }
}

/** Bytes rounded up to whole blocks, and the inode count, of a staged tree. */
async function measureTree(dir: string): Promise<{ bytes: number; inodes: number }> {
  let bytes = BLOCK_SIZE;
  let inodes = 1;
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) {
      const sub = await measureTree(path);
      bytes += sub.bytes;
      inodes += sub.inodes;
    } else {
      bytes += Math.ceil((await lstat(path)).size / BLOCK_SIZE) * BLOCK_SIZE;
      inodes += 1;
    }
  }
  return { bytes, inodes };
}
