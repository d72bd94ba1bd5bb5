import type { ExecProcessRequest, ExecSyncResponse } from '@moat/proto';
import type { AgentProcessRequest, ExecOutput } from './agent.types';
import { protocolViolation, validExit, validWindow } from './agent.validation';

/** What ExecProcess and ExecSync are asked: the process, its TTY window, its deadline. */
export function execProcessRequest(req: AgentProcessRequest): ExecProcessRequest {
  return {
    containerId: req.containerId,
    execId: req.execId,
    process: { args: req.args, env: req.env, cwd: req.cwd, terminal: req.tty ?? false, uid: req.user?.uid ?? 0, gid: req.user?.gid ?? 0 },
    window: req.window ? validWindow(req.window) : undefined,
    timeoutMs: req.timeoutMs ?? 0,
  };
}

/** An ExecSync answer as an exec's output; undefined when it says the process goes on. */
export function wholeRun(reply: ExecSyncResponse, inlineBytes: number): ExecOutput | undefined {
  if (typeof reply.complete !== 'boolean') throw protocolViolation('ExecSync returned no complete flag');
  if (!reply.complete) return undefined;
  if (!reply.exit) throw protocolViolation('ExecSync returned a complete run without its exit');
  const { stdout, stderr }: { stdout: unknown; stderr: unknown } = reply;
  if (!(stdout instanceof Uint8Array) || !(stderr instanceof Uint8Array) || stdout.length + stderr.length > inlineBytes) {
    throw protocolViolation(`ExecSync returned more output than the ${inlineBytes} bytes it was allowed, or none`);
  }
  return { ...validExit(reply.exit), stdout: Buffer.from(stdout), stderr: Buffer.from(stderr) };
}
