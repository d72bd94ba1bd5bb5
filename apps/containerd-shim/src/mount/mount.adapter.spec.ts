import { describe, expect, it } from '@jest/globals';
import { MountAdapter, mountArgs, mountPoints } from './mount.adapter';

const TARGET = '/bundles/web/rootfs';

describe('mountArgs', () => {
  it('mounts an overlay with its type and options', () => {
    const overlay = { type: 'overlay', source: 'overlay', target: '', options: ['index=off', 'lowerdir=/l2:/l1', 'upperdir=/u', 'workdir=/w'] };
    expect(mountArgs(overlay, TARGET)).toEqual(['-t', 'overlay', '-o', 'index=off,lowerdir=/l2:/l1,upperdir=/u,workdir=/w', 'overlay', TARGET]);
  });

  it('mounts a bind mount without a type', () => {
    expect(mountArgs({ type: 'bind', source: '/snapshots/1/fs', target: '', options: ['rbind', 'ro'] }, TARGET)).toEqual(['-o', 'rbind,ro', '/snapshots/1/fs', TARGET]);
  });

  it('leaves out an empty option list', () => {
    expect(mountArgs({ type: 'ext4', source: '/dev/vdb', target: '', options: [] }, TARGET)).toEqual(['-t', 'ext4', '/dev/vdb', TARGET]);
  });
});

describe('mountPoints', () => {
  it('reads field 5 of mountinfo, octal escapes undone', () => {
    const mountinfo = [
      '22 1 8:1 / / rw,relatime shared:1 - ext4 /dev/sda1 rw',
      '99 22 0:50 / /bundles/my\\040web/rootfs rw shared:50 - overlay overlay rw,lowerdir=/l',
      '',
    ].join('\n');
    expect(mountPoints(mountinfo)).toEqual(['/', '/bundles/my web/rootfs']);
  });
});

describe('MountAdapter', () => {
  /** A host where mount(8) stacks mounts on mountinfo and umount(8) takes the top one off. */
  function host(failOn?: (args: readonly string[]) => boolean) {
    const stack: string[] = [];
    const commands: string[] = [];
    const adapter = new MountAdapter(
      (command, args) => {
        commands.push(`${command} ${args.join(' ')}`);
        if (failOn?.(args)) return Promise.reject(new Error(`${command}: wrong fs type`));
        if (command === 'mount') stack.push(args[args.length - 1]);
        else stack.splice(stack.lastIndexOf(args[0]), 1);
        return Promise.resolve();
      },
      () => Promise.resolve(stack.map((target, i) => `${i} 1 0:1 / ${target} rw - x x rw`).join('\n')),
    );
    return { adapter, stack, commands };
  }

  it('mounts each mount in order and unmounts all of them', async () => {
    const { adapter, stack, commands } = host();
    await adapter.mount([{ type: 'tmpfs', source: 'a', target: '', options: [] }, { type: 'tmpfs', source: 'b', target: '', options: [] }], TARGET);
    expect(stack).toEqual([TARGET, TARGET]);
    await adapter.unmountAll(TARGET);
    expect(stack).toEqual([]);
    expect(commands).toEqual([`mount -t tmpfs a ${TARGET}`, `mount -t tmpfs b ${TARGET}`, `umount ${TARGET}`, `umount ${TARGET}`]);
  });

  it('undoes the mounts it made when a later one fails, and says which', async () => {
    const { adapter, stack } = host((args) => args.includes('b'));
    const mounting = adapter.mount([{ type: 'tmpfs', source: 'a', target: '', options: [] }, { type: 'xfs', source: 'b', target: '', options: [] }], TARGET);
    await expect(mounting).rejects.toMatchObject({ code: 'MOUNT_FAILED', message: `mount rootfs on ${TARGET}: mount: wrong fs type` });
    expect(stack).toEqual([]);
  });

  it('does nothing to a target with nothing mounted', async () => {
    const { adapter, commands } = host();
    await adapter.unmountAll(TARGET);
    expect(commands).toEqual([]);
  });
});
