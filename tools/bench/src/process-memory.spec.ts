import { describe, expect, it } from '@jest/globals';
import { mappedKiB, ownerOf, parseSmapsRollup, smapsDevice } from './process-memory';

const ROLLUP = `55e61a5ff000-7fff00b21000 ---p 00000000 00:00 0                          [rollup]
Rss:              301744 kB
Pss:              287220 kB
Pss_Dirty:        280112 kB
Pss_Anon:          20112 kB
Pss_File:           1108 kB
Pss_Shmem:        266000 kB
Shared_Clean:       1592 kB
`;

/** Two mappings of a restored VM's RAM file (tmpfs 00:1a, inode 4242), one of the binary on fe:00 with the same inode. */
const SMAPS = `7f0000000000-7f0010000000 rw-s 00000000 00:1a 4242                       /vm/memory
Size:             262144 kB
Rss:               81920 kB
Pss:               81920 kB
7f0010000000-7f0010001000 rw-s 10000000 00:1a 4242                       /vm/memory
Size:                  4 kB
Rss:                   4 kB
555737736000-555737738000 r-xp 00000000 fe:00 4242                       /usr/bin/qemu-system-x86_64
Size:               8192 kB
Rss:                6000 kB
7ffd00000000-7ffd00021000 rw-p 00000000 00:00 0                          [stack]
Rss:                  12 kB
`;

describe('parseSmapsRollup', () => {
  it('reads Pss and its breakdown', () => {
    expect(parseSmapsRollup(ROLLUP)).toEqual({ total: 287220, anon: 20112, file: 1108, shmem: 266000 });
  });

  it('reads Pss alone from an older kernel without the breakdown', () => {
    expect(parseSmapsRollup('Rss: 12 kB\nPss:                 10 kB\n')).toEqual({ total: 10, anon: 0, file: 0, shmem: 0 });
  });

  it('fails on text that is not a rollup', () => {
    expect(() => parseSmapsRollup('Name: qemu\n')).toThrow(/Pss/);
  });
});

describe('mappedKiB', () => {
  it('adds the resident pages of every mapping of the file, matched by device and inode', () => {
    expect(mappedKiB(SMAPS, { device: '00:1a', inode: 4242 })).toBe(81924);
  });

  it('is 0 when the process does not map the file', () => {
    expect(mappedKiB(SMAPS, { device: '00:1a', inode: 1 })).toBe(0);
  });
});

describe('smapsDevice', () => {
  it('writes st_dev as smaps does, major:minor in hex', () => {
    expect(smapsDevice(0x801)).toBe('08:01');
    expect(smapsDevice(26)).toBe('00:1a');
    // A minor above 255 has its high bits above the major's.
    expect(smapsDevice(0x10002c)).toBe('00:12c');
    expect(smapsDevice(0xfe00)).toBe('fe:00');
  });
});

describe('ownerOf', () => {
  const ids = ['aaaaaaaa-0000-4000-8000-000000000001', 'bbbbbbbb-0000-4000-8000-000000000002'];
  const noCgroup = '4:memory:/\n0::/\n';

  it('finds the sandbox by its host cgroup in any hierarchy', () => {
    expect(ownerOf({ argv: ['/usr/bin/qemu-system-x86_64'], cgroup: `4:memory:/moat/${ids[1]}\n0::/\n` }, ids)).toBe(ids[1]);
  });

  it('finds it by its id on the command line', () => {
    expect(ownerOf({ argv: ['/usr/lib/qemu/virtiofsd', `--socket-path=/run/moat/${ids[0]}/vm/virtiofsd.sock`], cgroup: noCgroup }, ids)).toBe(ids[0]);
  });

  it("leaves out the node's own processes and cgroups that merely start with the id", () => {
    expect(ownerOf({ argv: ['node', 'apps/node-agent/dist/main.js'], cgroup: noCgroup }, ids)).toBeUndefined();
    expect(ownerOf({ argv: ['sleep'], cgroup: `4:memory:/moat/${ids[0]}-other\n` }, ids)).toBeUndefined();
  });
});
