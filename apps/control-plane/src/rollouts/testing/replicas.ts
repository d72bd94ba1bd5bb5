import type { Replica } from '../replica';

/** The planners' "now" in unit tests: ten minutes after every test replica became healthy. */
export const NOW = new Date('2026-01-01T00:10:00Z');

let seq = 0;

/** A running, healthy replica of `version` (healthy since 00:00), with a fresh id. */
export const replica = (version: number, overrides: Partial<Replica> = {}): Replica => ({
  id: `r${(seq += 1)}`,
  nodeId: 'n1',
  version,
  state: 'running',
  health: 'healthy',
  healthySince: new Date('2026-01-01T00:00:00Z'),
  createdAt: new Date('2026-01-01T00:00:00Z'),
  displaced: false,
  ...overrides,
});
