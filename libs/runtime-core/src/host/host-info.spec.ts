import { mkdtempSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from '@jest/globals';
import { kvmUsable } from './host-info';

const dir = mkdtempSync(join(tmpdir(), 'moat-hostinfo-'));
const file = (name: string, content: string) => {
  const path = join(dir, name);
  writeFileSync(path, content);
  return path;
};
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('kvmUsable', () => {
  it('refuses KVM when the CPU lacks vmx/svm even if the device opens (paravirtual KVM)', async () => {
    const cpuinfo = file('pvm', 'processor\t: 0\nflags\t\t: fpu sse sse2 cx16 hypervisor\n');
    expect(await kvmUsable(file('dev-ok', ''), cpuinfo)).toBe(false);
  });

  it('accepts KVM with hardware virtualisation and an openable device', async () => {
    const cpuinfo = file('vmx', 'processor\t: 0\nflags\t\t: fpu vmx sse2\n');
    expect(await kvmUsable(file('dev', ''), cpuinfo)).toBe(true);
  });

  it('refuses KVM when the device is missing', async () => {
    const cpuinfo = file('svm', 'flags\t\t: fpu svm\n');
    expect(await kvmUsable(join(dir, 'no-such-device'), cpuinfo)).toBe(false);
  });
});
