import { NO_SIZING } from '../node-offer';
import type { Candidate, PlacementRequest } from '../placement';

/** A candidate node for the placement tests: its capacity, what is `used` of it ([vCPUs, MiB]) and its labels; no sizing overhead. */
export const node = (id: string, vcpus: number, memoryMiB: number, used: [number, number] = [0, 0], labels: Record<string, string> = {}): Candidate => ({
  id,
  capacity: { vcpus, memoryMiB },
  allocated: { vcpus: used[0], memoryMiB: used[1] },
  sizing: NO_SIZING,
  labels,
  keyCounts: new Map(),
});

/** A placement request for the placement tests: no node selector and no anti-affinity unless `extra` says. */
export const req = (vcpus: number, memoryMiB: number, extra: Partial<PlacementRequest> = {}): PlacementRequest => ({
  vcpus,
  memoryMiB,
  nodeSelector: {},
  antiAffinityKey: null,
  ...extra,
});
