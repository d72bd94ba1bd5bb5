import { describe, expect, it } from '@jest/globals';
import { SpawnerDecoder, encodeKill, encodeRelease, encodeSpawn, fromWaitStatus } from './spawner.protocol';

function frame(type: string, ...fields: number[]): Buffer {
  const body = Buffer.alloc(1 + 4 * fields.length);
  body.write(type, 0, 'latin1');
  fields.forEach((field, index) => body.writeInt32LE(field, 1 + 4 * index));
  const length = Buffer.alloc(4);
  length.writeUInt32LE(body.length);
  return Buffer.concat([length, body]);
}

describe('spawner protocol', () => {
  it('encodes a spawn as id, counts and NUL-terminated cwd, argv and env', () => {
    const encoded = encodeSpawn({ id: 7, cwd: '/w', args: ['sh', '-c', 'échó'], env: ['A=1'] });
    expect(encoded.readUInt32LE(0)).toBe(encoded.length - 4);
    expect(encoded.toString('latin1', 4, 5)).toBe('S');
    expect([encoded.readUInt32LE(5), encoded.readUInt32LE(9), encoded.readUInt32LE(13)]).toEqual([7, 3, 1]);
    expect(encoded.subarray(17).toString('utf8')).toBe('/w\0sh\0-c\0échó\0A=1\0');
  });

  it('refuses a string the spawner could not pass on', () => {
    expect(() => encodeSpawn({ id: 1, cwd: '/', args: ['a\0b'], env: [] })).toThrow(/NUL/);
    expect(() => encodeSpawn({ id: 1, cwd: '/', args: ['x'], env: ['X='.padEnd(5 * 1024 * 1024, 'x')] })).toThrow(/exceed/);
  });

  it('encodes release and kill', () => {
    expect([...encodeRelease(3)]).toEqual([5, 0, 0, 0, 0x52, 3, 0, 0, 0]);
    expect([...encodeKill(3, 9)]).toEqual([9, 0, 0, 0, 0x4b, 3, 0, 0, 0, 9, 0, 0, 0]);
  });

  it('decodes frames split anywhere across chunks', () => {
    const stream = Buffer.concat([frame('H', 1), frame('S', 4, 12, 5, 6, 7), frame('F', 5, 11), frame('E', 4, 9)]);
    const decoder = new SpawnerDecoder();
    const messages = [...stream].flatMap((byte) => decoder.push(Buffer.from([byte])));
    expect(messages).toEqual([
      { type: 'hello', version: 1 },
      { type: 'started', id: 4, pid: 12, stdinFd: 5, stdoutFd: 6, stderrFd: 7 },
      { type: 'failed', id: 5, errno: 11 },
      { type: 'exited', id: 4, waitStatus: 9 },
    ]);
  });

  it('refuses a frame it does not know or of the wrong size', () => {
    expect(() => new SpawnerDecoder().push(frame('Z', 1))).toThrow(/unknown frame/);
    expect(() => new SpawnerDecoder().push(frame('E', 1))).toThrow(/'E' frame of 5 bytes/);
  });

  it('reads a wait status as an exit code or the signal that ended the process', () => {
    expect(fromWaitStatus(3 << 8)).toEqual({ code: 3, signal: null });
    expect(fromWaitStatus(9)).toEqual({ code: null, signal: 'SIGKILL' });
    // A core dump sets bit 7; the signal is still the low seven bits.
    expect(fromWaitStatus(0x80 | 9)).toEqual({ code: null, signal: 'SIGKILL' });
  });
});
