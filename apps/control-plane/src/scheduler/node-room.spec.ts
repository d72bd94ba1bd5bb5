import { describe, expect, it } from '@jest/globals';
import { roomShortfall } from './node-room';

describe("a node's room for sandboxes that can go nowhere else", () => {
  const room = { free: { vcpus: 3, memoryMiB: 1000 }, overheadMiB: 160 };

  it('takes them when all of them fit, overhead included', () => {
    expect(roomShortfall(room, { vcpus: 1, memoryMiB: 340 }, 2)).toBeUndefined();
    expect(roomShortfall(room, { vcpus: 1, memoryMiB: 0 }, 3)).toBeUndefined();
  });

  it('says what all of them together lack: vCPUs, memory with the overhead of each, or both', () => {
    expect(roomShortfall(room, { vcpus: 1, memoryMiB: 128 }, 4)).toBe(
      '4 vCPUs needed, 3 free; 1152 MiB needed (4 × 128 MiB + 160 MiB overhead), 1000 MiB free',
    );
    expect(roomShortfall(room, { vcpus: 1, memoryMiB: 341 }, 2)).toBe('1002 MiB needed (2 × 341 MiB + 160 MiB overhead), 1000 MiB free');
    expect(roomShortfall({ free: { vcpus: -2, memoryMiB: 64 }, overheadMiB: 0 }, { vcpus: 1, memoryMiB: 128 }, 1)).toBe(
      '1 vCPU needed, 0 free; 128 MiB needed (1 × 128 MiB), 64 MiB free',
    );
  });
});
