import { describe, expect, it } from '@jest/globals';
import type { NetAdapter } from '../../host/net.adapter';
import { TenantOverlay } from './tenant-overlay';

/** `ip -j -4 addr show` of a node whose underlay interface has this MTU. */
function nodeWithUnderlayMtu(mtu: number): NetAdapter {
  const links = [
    { ifname: 'lo', mtu: 65536, addr_info: [{ local: '127.0.0.1' }] },
    { ifname: 'eth0', mtu, addr_info: [{ local: '10.0.0.2' }] },
  ];
  return { ip: () => Promise.resolve(JSON.stringify(links)) } as unknown as NetAdapter;
}

describe('TenantOverlay.mtuFor', () => {
  it('leaves 50 bytes of a 1500-byte underlay for VXLAN: guests get 1450', async () => {
    expect(await new TenantOverlay(nodeWithUnderlayMtu(1500)).mtuFor('10.0.0.2')).toBe(1450);
  });

  it('gives guests their full 1500 on jumbo frames, never more', async () => {
    expect(await new TenantOverlay(nodeWithUnderlayMtu(1550)).mtuFor('10.0.0.2')).toBe(1500);
    expect(await new TenantOverlay(nodeWithUnderlayMtu(9000)).mtuFor('10.0.0.2')).toBe(1500);
  });

  it('fails for an address no interface of the node has', async () => {
    await expect(new TenantOverlay(nodeWithUnderlayMtu(1500)).mtuFor('10.0.0.9')).rejects.toMatchObject({ code: 'LINK_FAILED' });
  });
});
