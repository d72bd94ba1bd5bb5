/**
 * The frames the agent and moat-spawner (apps/guest-agent/native/moat-spawner.c) exchange over
 * their socket: u32 payload length (little endian), u8 type, payload. The C side's header
 * comment is the other half of this contract.
 */
import { signalName, type RawExit } from '../process/process-handle';

export const SPAWNER_PROTOCOL_VERSION = 1;
/** The spawner refuses (and exits on) a larger frame. */
export const MAX_SPAWN_FRAME_BYTES = 4 * 1024 * 1024;

export type SpawnerMessage =
  | { type: 'hello'; version: number }
  | { type: 'started'; id: number; pid: number; stdinFd: number; stdoutFd: number; stderrFd: number }
  /** The spawner could not fork: nothing ran. */
  | { type: 'failed'; id: number; errno: number }
  | { type: 'exited'; id: number; waitStatus: number };

export interface SpawnCommand {
  id: number;
  cwd: string;
  args: readonly string[];
  env: readonly string[];
}

function frame(type: string, payload: Buffer): Buffer {
  const header = Buffer.alloc(5);
  header.writeUInt32LE(payload.length + 1, 0);
  header.write(type, 4, 'latin1');
  return Buffer.concat([header, payload]);
}

function u32s(...values: number[]): Buffer {
  const buffer = Buffer.alloc(4 * values.length);
  values.forEach((value, index) => buffer.writeUInt32LE(value >>> 0, 4 * index));
  return buffer;
}

/** Refuses strings the spawner cannot pass on (a NUL ends a C string). */
function cString(value: string, what: string): Buffer {
  if (value.includes('\0')) throw new RangeError(`${what} must not contain NUL`);
  return Buffer.from(`${value}\0`, 'utf8');
}

export function encodeSpawn(command: SpawnCommand): Buffer {
  const payload = Buffer.concat([
    u32s(command.id, command.args.length, command.env.length),
    cString(command.cwd, 'cwd'),
    ...command.args.map((arg) => cString(arg, 'an argument')),
    ...command.env.map((entry) => cString(entry, 'an environment entry')),
  ]);
  if (payload.length + 1 > MAX_SPAWN_FRAME_BYTES) throw new RangeError(`the command and its environment exceed ${MAX_SPAWN_FRAME_BYTES} bytes`);
  return frame('S', payload);
}

export function encodeRelease(id: number): Buffer {
  return frame('R', u32s(id));
}

export function encodeKill(id: number, signal: number): Buffer {
  return frame('K', u32s(id, signal));
}

/** Splits the spawner's byte stream into messages; keeps a partial frame for the next chunk. */
export class SpawnerDecoder {
  private pending: Buffer = Buffer.alloc(0);

  push(chunk: Buffer): SpawnerMessage[] {
    this.pending = this.pending.length === 0 ? chunk : Buffer.concat([this.pending, chunk]);
    const messages: SpawnerMessage[] = [];
    while (this.pending.length >= 4) {
      const length = this.pending.readUInt32LE(0);
      if (this.pending.length < 4 + length) break;
      messages.push(decode(this.pending.subarray(4, 4 + length)));
      this.pending = this.pending.subarray(4 + length);
    }
    return messages;
  }
}

function decode(body: Buffer): SpawnerMessage {
  const type = String.fromCharCode(body[0] ?? 0);
  const fields = (count: number): number[] => {
    if (body.length !== 1 + 4 * count) throw new Error(`spawner sent a '${type}' frame of ${body.length} bytes`);
    return Array.from({ length: count }, (_, index) => body.readUInt32LE(1 + 4 * index));
  };
  const signed = (value: number): number => value | 0;
  switch (type) {
    case 'H': {
      const [version] = fields(1);
      return { type: 'hello', version };
    }
    case 'S': {
      const [id, pid, stdinFd, stdoutFd, stderrFd] = fields(5);
      return { type: 'started', id, pid: signed(pid), stdinFd: signed(stdinFd), stdoutFd: signed(stdoutFd), stderrFd: signed(stderrFd) };
    }
    case 'F': {
      const [id, errno] = fields(2);
      return { type: 'failed', id, errno: signed(errno) };
    }
    case 'E': {
      const [id, waitStatus] = fields(2);
      return { type: 'exited', id, waitStatus: signed(waitStatus) };
    }
    default:
      throw new Error(`spawner sent an unknown frame type ${JSON.stringify(type)}`);
  }
}

/** A wait(2) status as Node reports a child's end: an exit code, or the signal that ended it. */
export function fromWaitStatus(status: number): RawExit {
  const termination = status & 0x7f;
  if (termination === 0) return { code: (status >> 8) & 0xff, signal: null };
  return { code: null, signal: signalName(termination) };
}
