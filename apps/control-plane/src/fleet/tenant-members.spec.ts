import { describe, expect, it } from '@jest/globals';
import { memberAddresses, PublishedMembers, tenantPlanFor } from './tenant-members';

/** Two nodes' underlay addresses. */
const addresses = new Map([
  ['a', '192.0.2.1'],
  ['b', '192.0.2.2'],
]);

describe('PublishedMembers', () => {
  it('says a tenant changed the first time, then only when a node joins, leaves or moves', () => {
    const members = new PublishedMembers();
    expect(members.update('t', ['a'], addresses)).toBe(true);
    expect(members.update('t', ['a'], addresses)).toBe(false);
    expect(members.update('t', ['b', 'a'], addresses)).toBe(true);
    expect(members.update('t', ['a', 'b'], addresses)).toBe(false);
    expect(members.update('t', ['a', 'b'], new Map([...addresses, ['b', '192.0.2.9']]))).toBe(true);
    expect(members.update('t', ['a'], addresses)).toBe(true);
  });

  it('remembers which tenants a node was published with, so leaving its last one is noticed', () => {
    const members = new PublishedMembers();
    members.update('t', ['a', 'b'], addresses);
    members.update('u', ['b'], addresses);
    expect(members.tenantsOf(['b']).sort()).toEqual(['t', 'u']);
    members.update('u', [], addresses);
    expect(members.tenantsOf(['b'])).toEqual(['t']);
    expect(members.update('u', [], addresses)).toBe(false);
  });

  it('says a tenant may have changed when never published, or when a node took it up or gave it up, and not otherwise', () => {
    const members = new PublishedMembers();
    expect(members.mayHaveChanged('t', new Map([['a', new Set(['t'])]]))).toBe(true);
    members.update('t', ['a'], addresses);
    // Node a still holds it; node b never did and still does not.
    expect(members.mayHaveChanged('t', new Map([['a', new Set(['t'])], ['b', new Set<string>()]]))).toBe(false);
    expect(members.mayHaveChanged('t', new Map([['b', new Set(['t'])]]))).toBe(true);
    expect(members.mayHaveChanged('t', new Map([['a', new Set<string>()]]))).toBe(true);
  });
});

describe('tenantPlanFor', () => {
  const network = { tenantId: 't', vni: 7, subnet: '10.88.3.0/24', gateway: '10.88.3.1' };

  it('lists the other nodes’ addresses, sorted, leaving out nodes with none', () => {
    const addresses = new Map([
      ['a', '192.0.2.9'],
      ['b', '192.0.2.2'],
      ['c', '192.0.2.3'],
    ]);
    const tenantAddresses = memberAddresses(['a', 'b', 'c', 'd'], addresses);
    expect(tenantAddresses).toEqual(['192.0.2.2', '192.0.2.3', '192.0.2.9']);
    expect(tenantPlanFor(network, addresses.get('a'), tenantAddresses)).toEqual({ ...network, peers: ['192.0.2.2', '192.0.2.3'] });
  });

  it('never names the node’s own address, even for another node on the same host', () => {
    const addresses = new Map([
      ['a', '127.0.0.1'],
      ['b', '127.0.0.1'],
    ]);
    expect(tenantPlanFor(network, addresses.get('a'), memberAddresses(['a', 'b'], addresses)).peers).toEqual([]);
  });
});
