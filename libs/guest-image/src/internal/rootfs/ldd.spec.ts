import { describe, expect, it } from '@jest/globals';
import { parseLddOutput } from './ldd';

describe('parseLddOutput', () => {
  it('lists libraries and the loader, skipping the vDSO', () => {
    const output = `\tlinux-vdso.so.1 (0x00007ffd1a5f2000)
\tlibseccomp.so.2 => /lib/x86_64-linux-gnu/libseccomp.so.2 (0x00007f9c7d0e9000)
\tlibc.so.6 => /lib/x86_64-linux-gnu/libc.so.6 (0x00007f9c7ceef000)
\t/lib64/ld-linux-x86-64.so.2 (0x00007f9c7d268000)
`;
    expect(parseLddOutput(output)).toEqual({
      libraries: ['/lib/x86_64-linux-gnu/libseccomp.so.2', '/lib/x86_64-linux-gnu/libc.so.6', '/lib64/ld-linux-x86-64.so.2'],
      missing: [],
    });
  });

  it('reports libraries the host cannot find', () => {
    expect(parseLddOutput('\tlibyajl.so.2 => not found\n').missing).toEqual(['libyajl.so.2']);
  });
});
