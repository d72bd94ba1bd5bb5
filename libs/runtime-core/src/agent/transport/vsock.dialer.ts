import { spawn } from 'node:child_process';
import { Duplex } from 'node:stream';
import { RuntimeError, RuntimeErrorCode } from '../../errors/runtime.errors';

/** The smallest CID a guest can have (0-2 are reserved for the hypervisor, local and host). */
export const MIN_GUEST_CID = 3;

/**
 * socat's argv for a stream to `cid:port`. Node has no AF_VSOCK sockets and the npm addons
 * for them are little used, so each connection is one `socat STDIO VSOCK-CONNECT` (Debian's
 * socat has VSOCK since 1.7.4), spawned without a shell; its stdio is the stream.
 */
export function vsockConnectArgv(cid: number, port: number): string[] {
  if (!Number.isInteger(cid) || cid < MIN_GUEST_CID || cid > 0xffff_fffe) throw new RangeError(`invalid guest CID ${cid}`);
  if (!Number.isInteger(port) || port < 1 || port > 0xffff_ffff) throw new RangeError(`invalid vsock port ${port}`);
  return ['-b65536', 'STDIO', `VSOCK-CONNECT:${cid}:${port}`];
}

/** A guest CID for a sandbox, stable across restarts: derived from its id (a UUID). */
export function guestCidFor(sandboxId: string): number {
  let hash = 0x811c9dc5;
  for (const char of sandboxId) hash = Math.imul(hash ^ char.charCodeAt(0), 0x01000193) >>> 0;
  // Keep clear of the reserved CIDs and of the top value (VMADDR_CID_ANY).
  return MIN_GUEST_CID + (hash % (0xffff_fff0 - MIN_GUEST_CID));
}

/** Opens a stream to a guest vsock port through socat; socat's stderr explains a failure. */
export function dialVsock(cid: number, port: number, socat = 'socat'): Promise<Duplex> {
  return new Promise((resolve, reject) => {
    const child = spawn(socat, vsockConnectArgv(cid, port), { stdio: ['pipe', 'pipe', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => {
      if (stderr.length < 4096) stderr += chunk.toString('utf8');
    });
    child.once('error', (error) =>
      reject(new RuntimeError(RuntimeErrorCode.AGENT_UNREACHABLE, `cannot run socat: ${error.message}`, { cause: error })),
    );
    child.once('spawn', () => {
      const stream = Duplex.from({ readable: child.stdout, writable: child.stdin });
      child.once('exit', (code) => {
        if (code !== 0) stream.destroy(new RuntimeError(RuntimeErrorCode.AGENT_UNREACHABLE, `vsock ${cid}:${port}: ${stderr.trim() || `socat exited ${code}`}`));
      });
      stream.once('close', () => child.kill());
      resolve(stream);
    });
  });
}
