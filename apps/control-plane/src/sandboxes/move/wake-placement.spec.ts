import { describe, expect, it } from '@jest/globals';
import { wakePlacement } from './wake-placement';

describe('wakePlacement', () => {
  it('wakes on a ready node with room, and on one not heard from since the control plane started', () => {
    expect(wakePlacement({ name: 'a', state: 'ready' }, undefined)).toEqual({ kind: 'here' });
    expect(wakePlacement({ name: 'a', state: 'unknown' }, undefined)).toEqual({ kind: 'here' });
  });

  it('wakes elsewhere when its node takes no sandboxes or has no room, saying which', () => {
    expect(wakePlacement({ name: 'a', state: 'cordoned' }, undefined)).toEqual({ kind: 'elsewhere', why: 'is cordoned' });
    expect(wakePlacement({ name: 'a', state: 'draining' }, undefined)).toEqual({ kind: 'elsewhere', why: 'is draining' });
    expect(wakePlacement({ name: 'a', state: 'ready' }, '2 vCPUs needed, 1 free')).toEqual({ kind: 'elsewhere', why: 'has no room for it (2 vCPUs needed, 1 free)' });
  });

  it('cannot wake while its saved state is on a node that is down or gone', () => {
    expect(wakePlacement({ name: 'a', state: 'down' }, undefined)).toEqual({ kind: 'unreachable', why: 'is down' });
    expect(wakePlacement(null, undefined)).toEqual({ kind: 'unreachable', why: 'is gone' });
  });
});
