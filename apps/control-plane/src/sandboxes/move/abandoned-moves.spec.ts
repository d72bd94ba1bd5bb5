import { describe, expect, it } from '@jest/globals';
import { abandonedMoveOutcome, moveStartedAt } from './abandoned-moves';

const move = { sandboxId: 's-1', tenantId: 't-1', from: 'node-a', to: 'node-b' };
const since = new Date('2026-12-07T10:00:00Z');
const beat = (sandboxIds: string[], at = '2026-12-07T10:00:05Z') => ({ sandboxIds, receivedAt: new Date(at) });

describe('moveStartedAt', () => {
  const events = [
    { at: '2026-12-07T09:00:00Z', state: 'migrating' as const },
    { at: '2026-12-07T09:01:00Z', state: 'running' as const },
    { at: '2026-12-07T09:30:00Z', state: 'hibernated' as const },
    { at: '2026-12-07T09:40:00Z', state: 'waking' as const },
  ];

  it("is the latest event of the move's kind: migrating for a live one, waking for a saved state's", () => {
    expect(moveStartedAt({ liveMove: true, events })).toEqual(new Date('2026-12-07T09:00:00Z'));
    expect(moveStartedAt({ liveMove: false, events })).toEqual(new Date('2026-12-07T09:40:00Z'));
    expect(moveStartedAt({ liveMove: true, events: events.slice(1) })).toBeUndefined();
  });
});

describe('abandonedMoveOutcome', () => {
  it('waits for a heartbeat of each node sent after the move was abandoned', () => {
    expect(abandonedMoveOutcome(move, since, undefined, beat(['s-1']), 'MIGRATION_FAILED')).toBeUndefined();
    expect(abandonedMoveOutcome(move, since, beat([]), beat(['s-1'], '2026-12-07T09:59:59Z'), 'MIGRATION_FAILED')).toBeUndefined();
  });

  it('leaves it on its source while the source holds it, even when the target holds a copy too', () => {
    for (const target of [beat([]), beat(['s-1'])]) {
      expect(abandonedMoveOutcome(move, since, beat(['s-1', 's-2']), target, 'MIGRATION_FAILED')).toEqual({
        holder: 'node-a',
        outcome: { error: { code: 'MIGRATION_FAILED', message: 'the control plane lost track of it; node node-a still holds it, so it stays there' } },
      });
    }
  });

  it('places it on the target once only the target holds it', () => {
    expect(abandonedMoveOutcome(move, since, beat(['s-2']), beat(['s-1']), 'MOVE_FAILED')).toEqual({
      holder: 'node-b',
      outcome: { found: 'the control plane lost track of it; node node-b holds it and node node-a no longer does' },
    });
  });

  it('leaves it placed on its source when neither holds it', () => {
    expect(abandonedMoveOutcome(move, since, beat([]), beat([]), 'MIGRATION_FAILED')).toEqual({
      holder: 'node-a',
      outcome: { error: { code: 'MIGRATION_FAILED', message: 'the control plane lost track of it; neither node holds it, so it stays placed on node node-a' } },
    });
  });
});
