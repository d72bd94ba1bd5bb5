import { describe, expect, it } from '@jest/globals';
import { dnsFacts, egressFacts, isolationFacts } from './sandbox-fences';

describe('isolationFacts', () => {
  it('shows a jailed VMM without warnings', () => {
    expect(isolationFacts({ jailed: true, uid: 200_017, seccomp: true, cgroup: '/moat/sbx-1' })).toEqual([
      { term: 'Jailed', value: 'yes', warn: false },
      { term: 'Host uid', value: '200017', warn: false },
      { term: 'Seccomp', value: 'on', warn: false },
      { term: 'Cgroup', value: '/moat/sbx-1' },
    ]);
  });

  it('marks every fence that is down', () => {
    const facts = isolationFacts({ jailed: false, uid: 0, seccomp: false });
    expect(facts.filter((f) => f.warn).map((f) => f.term)).toEqual(['Jailed', 'Host uid', 'Seccomp']);
    expect(facts.map((f) => f.value)).toEqual(['no (runs as root in the host namespaces)', '0', 'off', 'not reported']);
  });
});

describe('egressFacts', () => {
  it('puts the default first, then both lists', () => {
    expect(egressFacts({ default: 'deny', allow: ['10.0.0.0/8', '192.0.2.7/32'] }).map((f) => f.value)).toEqual([
      'denied',
      '10.0.0.0/8, 192.0.2.7/32',
      'none',
    ]);
    expect(egressFacts({ default: 'allow', deny: ['203.0.113.0/24'] }).map((f) => f.value)).toEqual(['allowed', 'none', '203.0.113.0/24']);
  });
});

describe('dnsFacts', () => {
  it("falls back to the node's servers when none are set", () => {
    expect(dnsFacts({ search: ['svc.example.com', 'example.com'], options: ['ndots:2'] }).map((f) => f.value)).toEqual([
      "the node's",
      'svc.example.com example.com',
      'ndots:2',
    ]);
    expect(dnsFacts({ servers: ['192.0.2.53', '198.51.100.53'] })[0]).toEqual({ term: 'Name servers', value: '192.0.2.53, 198.51.100.53' });
  });
});
