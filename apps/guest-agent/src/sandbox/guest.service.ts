import { chown, mkdir, open } from 'node:fs/promises';
import { dirname, isAbsolute, normalize } from 'node:path';
import { AGENT_MAX_CHUNK_BYTES, type CopyFileRequest, type SetGuestDateTimeRequest } from '@moat/proto';
import { AgentError, AgentErrorCode } from '../errors/agent.error';
import type { HostCommands } from '../host/host-commands.adapter';

/** Guest-wide operations that are not about one container: the clock and files. */
export class GuestService {
  constructor(private readonly host: HostCommands) {}

  /** Sets the guest's wall clock, e.g. after the VM was paused or restored (busybox `date -s @<sec>`). */
  async setDateTime(request: SetGuestDateTimeRequest): Promise<void> {
    const { sec, usec } = request;
    if (!Number.isSafeInteger(sec) || sec <= 0 || !Number.isSafeInteger(usec) || usec < 0 || usec >= 1_000_000) {
      throw new AgentError(AgentErrorCode.INVALID_ARGUMENT, `invalid time ${sec}.${usec}`);
    }
    // busybox date has whole-second resolution; round to the nearest second.
    const seconds = sec + (usec >= 500_000 ? 1 : 0);
    const result = await this.host.run('date', ['-u', '-s', `@${seconds}`]);
    if (result.exitCode !== 0) throw new AgentError(AgentErrorCode.GUEST_SETUP_FAILED, `date -s: ${result.stderr}`);
  }

  /** Writes one chunk of a file; offset 0 creates (or truncates) it with its mode and owner. */
  async copyFile(request: CopyFileRequest): Promise<void> {
    const path = guestPath(request.path);
    const { offset, fileSize, data } = request;
    if (data.length > AGENT_MAX_CHUNK_BYTES) {
      throw new AgentError(AgentErrorCode.INVALID_ARGUMENT, `a CopyFile chunk may hold at most ${AGENT_MAX_CHUNK_BYTES} bytes`);
    }
    if (offset + data.length > fileSize) {
      throw new AgentError(AgentErrorCode.INVALID_ARGUMENT, `chunk at ${offset} (+${data.length}) runs past file_size ${fileSize}`);
    }
    if (offset === 0) await mkdir(dirname(path), { recursive: true, mode: request.dirMode || 0o755 });
    const file = await open(path, offset === 0 ? 'w' : 'r+', request.fileMode || 0o644);
    try {
      if (offset === 0) {
        await file.chmod(request.fileMode || 0o644);
        await chown(path, request.uid, request.gid);
      }
      await file.write(data, 0, data.length, offset);
    } finally {
      await file.close();
    }
  }
}

function guestPath(path: string): string {
  if (!isAbsolute(path) || normalize(path) !== path || path === '/') {
    throw new AgentError(AgentErrorCode.INVALID_ARGUMENT, `path must be an absolute, normalised file path, got "${path}"`);
  }
  return path;
}
