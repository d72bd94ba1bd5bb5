import { execFileSync } from 'node:child_process';
import { describe, expect, it } from '@jest/globals';
import { expectGoldenFile } from '@moat/test-support';
import { renderRuleset, type SandboxFence } from './nft-ruleset';

const A = '0b5e7a4c-1d2f-4a3b-8c9d-0e1f2a3b4c5d';
const B = '1b5e7a4c-1d2f-4a3b-8c9d-0e1f2a3b4c5d';
const fenceA: SandboxFence = { bridge: 'moat0', bridgePort: 'veth1234abcd', ip: '10.88.0.2', mac: '02:0b:5e:7a:4c:1d', dns: ['192.0.2.53'] };
const fenceB: SandboxFence = {
  bridge: 'moat1',
  bridgePort: 'mt1b5e7a4c1d2f4',
  ip: '10.88.1.2',
  mac: '02:1b:5e:7a:4c:1d',
  dns: [],
  egress: { default: 'deny', allow: ['198.51.100.0/24', '203.0.113.7/32'], deny: ['198.51.100.128/25', '10.1.2.3/8'] },
};

describe('renderRuleset', () => {
  it('matches the golden rule set: the node out of reach, tenants apart, egress per sandbox, no spoofing', () => {
    const script = renderRuleset({ bridgePrefix: 'moat', subnetPool: '10.88.0.0/16', sandboxes: { [B]: fenceB, [A]: fenceA } });
    expectGoldenFile(script, '__golden__/ruleset-two-tenants.nft');
  });

  it("takes a tenant overlay's VXLAN only from its peers, and leaves other VNIs alone", () => {
    const render = (overlay: { vnis: number[]; peers: string[] }) =>
      renderRuleset({ bridgePrefix: 'moat', subnetPool: '10.88.0.0/16', sandboxes: { [A]: fenceA }, overlay });
    expect(render({ vnis: [7, 9], peers: ['192.0.2.2', '192.0.2.3'] })).toContain(
      'udp dport 4789 @th,96,24 { 7, 9 } ip saddr != { 192.0.2.2, 192.0.2.3 } counter drop comment "tenant overlays only from their nodes"',
    );
    expect(render({ vnis: [7], peers: [] })).toContain('udp dport 4789 @th,96,24 { 7 } counter drop');
    expect(render({ vnis: [], peers: ['192.0.2.2'] })).not.toContain('udp dport 4789 @th');
  });

  it('rebuilds both tables in one script, so nft applies all of it or none', () => {
    const script = renderRuleset({ bridgePrefix: 'mte2e', subnetPool: '10.250.0.0/16', sandboxes: { [A]: fenceA } });
    expect(script.split('\n').slice(0, 4)).toEqual(['add table inet mte2e', 'delete table inet mte2e', 'add table bridge mte2e', 'delete table bridge mte2e']);
    expect(script).toContain('table inet mte2e {');
    expect(script).toContain('table bridge mte2e {');
  });

  it('removes the tables with the last sandbox', () => {
    expect(renderRuleset({ bridgePrefix: 'moat', subnetPool: '10.88.0.0/16', sandboxes: {} })).toBe(
      'add table inet moat\ndelete table inet moat\nadd table bridge moat\ndelete table bridge moat\n',
    );
  });

  it('masks host bits nft would refuse, and lets deny win over allow', () => {
    const script = renderRuleset({ bridgePrefix: 'moat', subnetPool: '10.88.7.1/16', sandboxes: { [B]: fenceB } });
    expect(script).toContain('ip saddr 10.88.0.0/16 oifname != "moat*" masquerade');
    const start = script.indexOf('chain egress_');
    const chain = script.slice(start, script.indexOf('\tchain ', start + 1));
    expect(chain.indexOf('10.0.0.0/8')).toBeGreaterThan(0);
    expect(chain.indexOf('drop')).toBeLessThan(chain.indexOf('198.51.100.0/24'));
  });

  it('is a script nft itself parses (nft --check, nothing applied)', () => {
    const script = renderRuleset({ bridgePrefix: 'moat', subnetPool: '10.88.0.0/16', sandboxes: { [A]: fenceA, [B]: fenceB } });
    let nft = true;
    try {
      execFileSync('nft', ['--version']);
    } catch {
      nft = false;
    }
    if (nft) expect(() => execFileSync('nft', ['--check', '-f', '-'], { input: script })).not.toThrow();
  });
});
