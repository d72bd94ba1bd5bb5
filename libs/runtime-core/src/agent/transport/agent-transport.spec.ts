import { describe, expect, it } from '@jest/globals';
import { chooseAgentTransport } from './agent-transport';
import { guestCidFor, MIN_GUEST_CID, vsockConnectArgv } from './vsock.dialer';

describe('chooseAgentTransport', () => {
  it('uses vsock on QEMU only when the host has vhost-vsock, else virtio-serial', () => {
    expect(chooseAgentTransport({ hypervisor: 'qemu', vhostVsock: true })).toBe('vsock');
    expect(chooseAgentTransport({ hypervisor: 'qemu', vhostVsock: false })).toBe('virtio-serial');
  });

  it('uses hybrid vsock for Firecracker and Cloud Hypervisor, which speak nothing else', () => {
    expect(chooseAgentTransport({ hypervisor: 'firecracker', vhostVsock: false })).toBe('hybrid-vsock');
    expect(chooseAgentTransport({ hypervisor: 'cloud-hypervisor', vhostVsock: true })).toBe('hybrid-vsock');
  });
});

describe('vsock', () => {
  it('connects with socat to the guest CID and port, without a shell', () => {
    expect(vsockConnectArgv(42, 1024)).toEqual(['-b65536', 'STDIO', 'VSOCK-CONNECT:42:1024']);
  });

  it('refuses reserved CIDs and impossible ports', () => {
    for (const cid of [0, 1, 2, -1, 1.5, 0xffff_ffff]) expect(() => vsockConnectArgv(cid, 1024)).toThrow(RangeError);
    for (const port of [0, -1, 2 ** 32]) expect(() => vsockConnectArgv(3, port)).toThrow(RangeError);
  });

  it('derives a stable guest CID per sandbox, outside the reserved range', () => {
    const a = guestCidFor('3f0c8a9e-5b1d-4c2e-9f7a-1b2c3d4e5f60');
    expect(guestCidFor('3f0c8a9e-5b1d-4c2e-9f7a-1b2c3d4e5f60')).toBe(a);
    expect(guestCidFor('3f0c8a9e-5b1d-4c2e-9f7a-1b2c3d4e5f61')).not.toBe(a);
    for (let i = 0; i < 1000; i++) {
      const cid = guestCidFor(`sandbox-${i}`);
      expect(cid).toBeGreaterThanOrEqual(MIN_GUEST_CID);
      expect(cid).toBeLessThan(0xffff_ffff);
      expect(() => vsockConnectArgv(cid, 1024)).not.toThrow();
    }
  });
});
