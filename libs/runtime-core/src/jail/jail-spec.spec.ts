import { describe, expect, it } from '@jest/globals';
import { expectGoldenFile } from '@moat/test-support';
import { jailArgv, systemMounts, type JailSpec } from './jail-spec';

const spec: JailSpec = {
  uid: 200_123,
  gid: 200_123,
  groups: [],
  mounts: [
    { host: '/run/moat/x/vm', jail: '/run', access: 'rw' },
    { host: '/images/g1/vmlinux', jail: '/vm/kernel', access: 'ro' },
    { host: '/dev/null', jail: '/dev/null', access: 'dev' },
  ],
  capabilities: [],
  maxOpenFiles: 4096,
};
const mergedUsr = { symlinks: [{ path: '/bin', target: 'usr/bin' }, { path: '/lib', target: 'usr/lib' }], binds: ['/usr'], procEntries: ['/proc/keys', '/proc/sysrq-trigger'] };

/** One tool's options per line, so a golden diff points at what changed. */
function render([command, args]: [string, string[]]): string {
  const lines = [command];
  for (const arg of args) {
    if (arg.startsWith('--') || arg.startsWith('/usr/bin/')) lines.push(arg);
    else lines[lines.length - 1] += ` ${arg}`;
  }
  return `${lines.join('\n')}\n`;
}

describe('jailArgv', () => {
  it('matches the golden jail: limits, namespaces, a root of its own, then the uid switch with no capabilities', () => {
    const argv = jailArgv(spec, '/usr/bin/qemu-system-x86_64', ['-name', 'moat-x'], { info: 4, release: 5, status: 3 }, mergedUsr);
    expectGoldenFile(render(argv), '__golden__/jail-qemu.argv');
  });

  it('keeps only the asked-for capabilities, in every set, for the process after the uid switch', () => {
    const [, args] = jailArgv({ ...spec, capabilities: ['CAP_CHOWN', 'CAP_DAC_OVERRIDE'] }, '/bin/true', [], { info: 3, release: 4 }, mergedUsr);
    const setpriv = args.slice(args.indexOf('/usr/bin/setpriv'));
    for (const set of ['--inh-caps', '--ambient-caps', '--bounding-set']) expect(setpriv).toContain(`${set}=-all,+chown,+dac_override`);
    expect(args.filter((a, i) => args[i - 1] === '--cap-add')).toEqual(['CAP_SETUID', 'CAP_SETGID', 'CAP_SETPCAP', 'CAP_CHOWN', 'CAP_DAC_OVERRIDE']);
  });

  it('gives a jail that asks for it a read-only /proc of its own, with the kernel entries masked', () => {
    const [, plain] = jailArgv(spec, '/bin/true', [], { info: 3, release: 4 }, mergedUsr);
    expect(plain).not.toContain('--proc');
    const [, args] = jailArgv({ ...spec, proc: true }, '/bin/true', [], { info: 3, release: 4 }, mergedUsr);
    const at = args.indexOf('--proc');
    expect(args.slice(at, at + 9)).toEqual([
      '--proc', '/proc',
      '--ro-bind', '/dev/null', '/proc/keys',
      '--ro-bind', '/dev/null', '/proc/sysrq-trigger',
      '--remount-ro',
    ]);
  });

  it('joins supplementary groups (e.g. /dev/kvm’s) instead of clearing them', () => {
    const [, args] = jailArgv({ ...spec, groups: [993] }, '/bin/true', [], { info: 3, release: 4 }, mergedUsr);
    expect(args).toContain('--groups=993');
    expect(args).not.toContain('--clear-groups');
  });

  it('creates the parents of mount points (world-searchable), but not /dev, which is its own tmpfs', () => {
    const [, args] = jailArgv({ ...spec, mounts: [{ host: '/a', jail: '/x/y/z', access: 'ro' }] }, '/bin/true', [], { info: 3, release: 4 }, mergedUsr);
    const dirs = args.filter((a, i) => args[i - 1] === '--dir');
    expect(dirs).toEqual(['/x', '/x/y']);
  });
});

describe('systemMounts', () => {
  it('shows merged-/usr links as symlinks and real directories as read-only binds', () => {
    const fake = (links: Record<string, string | null>) =>
      systemMounts(
        ((path: string) => {
          if (!(path in links)) throw new Error('ENOENT');
          return { isSymbolicLink: () => links[path] !== null };
        }) as never,
        ((path: string) => links[path]) as never,
      );
    expect(fake({ '/bin': 'usr/bin', '/lib': null, '/lib64': 'usr/lib64', '/proc/keys': null })).toEqual({
      symlinks: [
        { path: '/bin', target: 'usr/bin' },
        { path: '/lib64', target: 'usr/lib64' },
      ],
      binds: ['/usr', '/lib'],
      procEntries: ['/proc/keys'],
    });
  });
});
