import { describe, expect, it } from '@jest/globals';
import { guestRequests, macForSandbox } from './sandbox-networks';

describe('guest network requests', () => {
  it('lists the connected route explicitly, because replacing the routes flushes it', () => {
    const { iface, routes } = guestRequests({
      mac: 'aa:bb:cc:dd:ee:ff',
      addresses: [{ address: '10.88.3.7', prefix: 24, family: '4' }],
      routes: [{ dest: '0.0.0.0/0', gateway: '10.88.3.1' }],
      dns: [],
    });
    expect(iface).toMatchObject({ name: 'eth0', hwAddr: 'aa:bb:cc:dd:ee:ff', ipAddresses: [{ address: '10.88.3.7', mask: '24', family: '4' }] });
    expect(routes).toEqual([
      { dest: '10.88.3.0/24', gateway: '', device: 'eth0', source: '10.88.3.7' },
      { dest: 'default', gateway: '10.88.3.1', device: 'eth0', source: '' },
    ]);
  });

  it("asks for the overlay's MTU on a fleet-wide segment, and for the NIC's own (0) otherwise", () => {
    const guest = { mac: 'aa:bb:cc:dd:ee:ff', addresses: [{ address: '10.88.3.7', prefix: 24, family: '4' as const }], routes: [], dns: [] };
    expect(guestRequests({ ...guest, mtu: 1450 }).iface.mtu).toBe(1450);
    expect(guestRequests(guest).iface.mtu).toBe(0);
  });

  it('derives a locally administered unicast MAC from the sandbox id', () => {
    expect(macForSandbox('3f0c8a9e-5b1d-4c2e-9f7a-1b2c3d4e5f60')).toBe('02:3f:0c:8a:9e:5b');
  });
});
