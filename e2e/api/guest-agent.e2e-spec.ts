import { createHash, randomBytes } from 'node:crypto';
import type { AttachStart } from '@moat/proto';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { eventually } from '@moat/test-support';
import { api } from '../support/api';
import { AttachSession } from '../support/attach';
import { settledSandbox } from '../support/sandboxes';
import type { ExecResult, Sandbox, SandboxStats } from '@moat/sdk';

const TEN_MB = 10 * 1024 * 1024;
const md5 = (data: Buffer): string => createHash('md5').update(data).digest('hex');

// One VM for every assertion: booting is the expensive part under TCG.
describe('the guest agent API through REST and /attach, against one real VM', () => {
  let key: string;
  let sandbox: Sandbox;
  const sessions: AttachSession[] = [];

  const exec = async (body: Record<string, unknown>): Promise<ExecResult> => {
    const res = await api<ExecResult>('POST', `/v1/sandboxes/${sandbox.id}/exec`, { token: key, body });
    expect(res).toMatchObject({ status: 200 });
    return res.body;
  };
  const attach = async (request: Omit<AttachStart, 'sandboxId'>): Promise<AttachSession> => {
    const session = await AttachSession.start(key, { sandboxId: sandbox.id, ...request });
    sessions.push(session);
    return session;
  };

  beforeAll(async () => {
    const tenant = await api<{ apiKey: string }>('POST', '/v1/tenants', { body: { name: `guest-e2e-${Date.now()}` } });
    key = tenant.body.apiKey;
    const res = await api<Sandbox>('POST', '/v1/sandboxes', { token: key, body: { vcpus: 1, memoryMiB: 128 } });
    expect(res.status).toBe(201);
    sandbox = await settledSandbox<Sandbox>(res.body.id, key);
    expect(sandbox.error).toBeUndefined();
    expect(sandbox.state).toBe('running');
  });

  afterAll(async () => {
    for (const session of sessions) session.close();
    if (sandbox) await api('DELETE', `/v1/sandboxes/${sandbox.id}`, { token: key });
  });

  it('reports the transport it reaches the agent over (virtio-serial on hosts without vhost-vsock)', () => {
    expect(['vsock', 'hybrid-vsock', 'virtio-serial']).toContain(sandbox.transport);
  });

  it('passes env, cwd, stdout, stderr and the exit code', async () => {
    const out = await exec({
      command: ['sh', '-c', 'echo "$GREETING"; pwd; echo to-stderr >&2; exit 42'],
      env: { GREETING: 'hello guest' },
      cwd: '/tmp',
    });
    expect(out).toMatchObject({ exitCode: 42, stdout: 'hello guest\n/tmp\n', stderr: 'to-stderr\n', signal: 0, timedOut: false, oomKilled: false });
  });

  it('feeds stdin to the process', async () => {
    expect((await exec({ command: ['tr', 'a-z', 'A-Z'], stdin: 'shout this' })).stdout).toBe('SHOUT THIS');
  });

  it('returns an output larger than one answer of the guest whole (read on after the one-call exec)', async () => {
    const out = await exec({ command: ['sh', '-c', 'head -c 3000000 /dev/zero | tr "\\0" a; echo done >&2'] });
    expect(out).toMatchObject({ exitCode: 0, stderr: 'done\n' });
    expect(out.stdout).toBe('a'.repeat(3_000_000));
  });

  it('shows the container only its own processes: not the agent, not the init of the VM', async () => {
    const ps = (await exec({ command: ['ps', '-o', 'pid,args'] })).stdout;
    expect(ps).not.toMatch(/guest-agent|node /);
    // PID 1 is the container's init (the idle shell), not the VM's.
    expect(ps).toMatch(/^\s*1 \/bin\/sh -c trap/m);
  });

  it('kills a process and everything it started when its timeout passes', async () => {
    const out = await exec({ command: ['sh', '-c', 'sleep 600 & sleep 601; echo not reached'], timeoutMs: 1_500 });
    expect(out).toMatchObject({ exitCode: 137, signal: 9, timedOut: true, stdout: '' });
    const left = (await exec({ command: ['ps', '-o', 'args'] })).stdout;
    expect(left).not.toMatch(/sleep 60[01]/);
  });

  it('runs a command on a TTY (24x80 by default, stderr merged)', async () => {
    const out = await exec({ command: ['sh', '-c', 'stty size; test -t 0 && echo stdin-is-a-tty; echo err >&2'], tty: true });
    expect(out.exitCode).toBe(0);
    expect(out.stdout).toContain('24 80');
    expect(out.stdout).toContain('stdin-is-a-tty');
    expect(out.stdout).toContain('err');
    expect(out.stderr).toBe('');
  });

  it('carries an interactive TTY session with resize over /attach', async () => {
    const shell = await attach({ command: ['/bin/sh'], tty: true, window: { rows: 30, cols: 100 } });
    await shell.write('stty size\n');
    await shell.waitForOutput(/30 100/);
    shell.resize(50, 132);
    await shell.write('stty size\n');
    await shell.waitForOutput(/50 132/);
    await shell.write('exit 3\n');
    expect(await shell.exited).toMatchObject({ exitCode: 3, signal: 0 });
  });

  it('delivers a signal to a session process and reports it', async () => {
    const sleeper = await attach({ command: ['sleep', '600'], tty: false });
    sleeper.signal(15);
    expect(await sleeper.exited).toMatchObject({ exitCode: 143, signal: 15 });
  });

  it('streams 10 MB into a process', async () => {
    const input = randomBytes(TEN_MB);
    const session = await attach({ command: ['md5sum'], tty: false });
    await session.write(input);
    session.eof();
    expect(await session.exited).toMatchObject({ exitCode: 0 });
    expect(session.text().split(' ')[0]).toBe(md5(input));
  });

  it('streams 10 MB out of a process', async () => {
    const session = await attach({ command: ['sh', '-c', `head -c ${TEN_MB} /dev/urandom > /tmp/out && cat /tmp/out`], tty: false });
    expect(await session.exited).toMatchObject({ exitCode: 0 });
    const output = Buffer.concat(session.stdout);
    expect(output.length).toBe(TEN_MB);
    expect((await exec({ command: ['md5sum', '/tmp/out'] })).stdout.split(' ')[0]).toBe(md5(output));
  });

  it('reports live stats that move when the container works', async () => {
    const read = async (): Promise<SandboxStats> => {
      const res = await api<SandboxStats>('GET', `/v1/sandboxes/${sandbox.id}/stats`, { token: key });
      expect(res).toMatchObject({ status: 200 });
      return res.body;
    };
    const before = await read();
    expect(before.memory.limitBytes).toBe(128 * 1024 * 1024);
    expect(before.pids.current).toBeGreaterThanOrEqual(1);
    await exec({ command: ['sh', '-c', 'i=0; while [ $i -lt 100000 ]; do i=$((i+1)); done'] });
    const after = await read();
    expect(after.cpu.usageUsec).toBeGreaterThan(before.cpu.usageUsec);
    expect(after.memory.maxBytes).toBeGreaterThan(0);
    expect(Date.parse(after.at)).toBeGreaterThanOrEqual(Date.parse(before.at));
  });

  it('reports a process killed at the memory limit as OOM, and the sandbox lives on', async () => {
    // The container is limited to the sandbox's 128 MiB; tail keeps all of /dev/zero (no line
    // ends) in a buffer that grows until the limit. (One 200 MiB allocation at once would be
    // refused by the guest kernel's overcommit check instead, without an OOM kill.)
    const out = await exec({ command: ['tail', '/dev/zero'] });
    expect(out).toMatchObject({ exitCode: 137, signal: 9, oomKilled: true });
    expect((await exec({ command: ['echo', 'still here'] })).stdout).toBe('still here\n');
  });

  it('pauses and resumes the container: a frozen process makes no progress until resumed', async () => {
    const ticker = await attach({ command: ['sh', '-c', 'i=0; while :; do i=$((i+1)); echo $i; sleep 0.2; done'], tty: false });
    await ticker.waitForOutput(/\n3\n/);
    expect((await api('POST', `/v1/sandboxes/${sandbox.id}/pause`, { token: key })).status).toBe(204);
    // Let whatever was in flight arrive, then watch the output stand still.
    await new Promise((resolve) => setTimeout(resolve, 2_000));
    const frozenAt = ticker.text().length;
    await new Promise((resolve) => setTimeout(resolve, 3_000));
    expect(ticker.text().length).toBe(frozenAt);
    // Paused is not running: a second pause is refused by the guest.
    expect((await api('POST', `/v1/sandboxes/${sandbox.id}/pause`, { token: key })).status).toBeGreaterThanOrEqual(400);
    expect((await api('POST', `/v1/sandboxes/${sandbox.id}/resume`, { token: key })).status).toBe(204);
    await eventually(() => expect(ticker.text().length).toBeGreaterThan(frozenAt), { timeout: 60_000 });
    ticker.signal(9);
    expect(await ticker.exited).toMatchObject({ signal: 9 });
  });

  it('hides sessions and stats of the sandbox from another tenant', async () => {
    const other = await api<{ apiKey: string }>('POST', '/v1/tenants', { body: { name: `guest-e2e-other-${Date.now()}` } });
    expect((await api('GET', `/v1/sandboxes/${sandbox.id}/stats`, { token: other.body.apiKey })).status).toBe(404);
    expect((await api('POST', `/v1/sandboxes/${sandbox.id}/pause`, { token: other.body.apiKey })).status).toBe(404);
    await expect(AttachSession.start(other.body.apiKey, { sandboxId: sandbox.id })).rejects.toMatchObject({ code: 'NOT_FOUND' });
  });
});
