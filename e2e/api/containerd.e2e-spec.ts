import { execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { MOAT_RUNTIME, startContainerd, type OwnContainerd } from '../support/containerd.mjs';
import { DATA_DIR, api, waitFor } from '../support/api';
import { NODE_RUN_DIR, shimProcesses, vmsOfNamespace } from '../support/containerd-vms';
import { findLeaks } from '../support/leaks.mjs';
import { busyboxLayer, startRegistry, type TestRegistry } from '../support/registry';

/** containerd's namespace for this test's images and tasks. */
const NS = 'moat-e2e';

/** The release of the guest kernel every Moat VM boots. */
function guestKernelRelease(): string {
  const images = join(DATA_DIR, 'guest-images');
  const { id } = JSON.parse(readFileSync(join(images, 'current.json'), 'utf8')) as { id: string };
  return (JSON.parse(readFileSync(join(images, id, 'manifest.json'), 'utf8')) as { kernelRelease: string }).kernelRelease;
}


let registry: TestRegistry;
let containerd: OwnContainerd;
let image: string;
/** Every sandbox a task of this test ran in, seen while it ran (the leak check looks for each). */
const seen = new Set<string>();
let watcher: NodeJS.Timeout;

const ctr = (args: string[]) => containerd.ctr(['--namespace', NS, ...args]);
const run = (id: string, command: string[], flags: string[] = []) => ctr(['run', '--runtime', MOAT_RUNTIME, '--rm', ...flags, image, id, ...command]);

beforeAll(async () => {
  registry = await startRegistry();
  const applets = ['uname', 'tr', 'stty'].map((name) => ({ name: `bin/${name}`, type: 'symlink' as const, linkname: 'busybox' }));
  image = await registry.push('moat/busybox', 'v1', { layers: [[...busyboxLayer(), ...applets]] });
  // Short: containerd's sockets live under it.
  containerd = await startContainerd({ dir: mkdtempSync('/tmp/ctrd-'), env: { MOAT_RUN_DIR: NODE_RUN_DIR } });
  const pulled = await ctr(['images', 'pull', '--plain-http', image]);
  expect({ status: pulled.status, stderr: pulled.stderr }).toMatchObject({ status: 0 });
  watcher = setInterval(() => vmsOfNamespace(NS).forEach((id) => seen.add(id)), 100);
}, 120_000);

afterAll(async () => {
  clearInterval(watcher);
  await containerd?.stop();
  await registry?.stop();
});

describe('containerd runs tasks in Moat VMs (io.containerd.moat.v2)', () => {
  it("ctr run prints the guest kernel's release, not the host's", async () => {
    const result = await run('uname', ['uname', '-r']);
    expect({ status: result.status, stdout: result.stdout, stderr: result.stderr }).toEqual({ status: 0, stdout: `${guestKernelRelease()}\n`, stderr: '' });
    expect(guestKernelRelease()).not.toBe(execFileSync('uname', ['-r'], { encoding: 'utf8' }).trim());
  });

  it('passes exit codes and both output streams through', async () => {
    const result = await run('exit3', ['sh', '-c', 'echo out; echo err >&2; exit 3']);
    expect({ status: result.status, stdout: result.stdout, stderr: result.stderr }).toEqual({ status: 3, stdout: 'out\n', stderr: 'err\n' });
  });

  it('runs the init on a terminal with ctr run -t', async () => {
    // ctr wants a terminal of its own: script(1) gives it one.
    const command = ['ctr', '--address', containerd.address, '--namespace', NS, 'run', '--runtime', MOAT_RUNTIME, '--rm', '-t', image, 'tty', 'sh', '-c', "test -t 0 && test -t 1 && echo on-a-tty; stty size; exit 4"];
    const result = await new Promise<{ status: number | null; stdout: string }>((resolve) => {
      const script = spawn('script', ['-qec', command.map((arg) => `'${arg}'`).join(' '), '/dev/null'], { stdio: ['ignore', 'pipe', 'inherit'] });
      let stdout = '';
      script.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
      script.on('close', (status) => resolve({ status, stdout }));
    });
    expect(result.status).toBe(4);
    expect(result.stdout.replace(/\r/g, '')).toContain('on-a-tty\n24 80\n');
  });

  it('execs a second process in the same VM, lists its processes, kills and deletes it', async () => {
    expect((await ctr(['run', '--runtime', MOAT_RUNTIME, '-d', image, 'sleeper', 'sleep', '600'])).status).toBe(0);
    expect((await ctr(['task', 'ls'])).stdout).toMatch(/sleeper\s+\d+\s+RUNNING/);
    const kernel = guestKernelRelease();
    const exec = await ctr(['task', 'exec', '--exec-id', 'second', 'sleeper', 'sh', '-c', 'uname -r; cat /proc/1/cmdline | tr "\\0" " "; exit 5']);
    expect({ status: exec.status, stdout: exec.stdout }).toEqual({ status: 5, stdout: `${kernel}\nsleep 600 ` });
    const ps = await ctr(['task', 'ps', 'sleeper']);
    expect(ps.status).toBe(0);
    // The init (sleep) is among the guest's pids the container's cgroup holds.
    expect(ps.stdout.split('\n').slice(1).filter((line) => /^\d+/.test(line)).length).toBeGreaterThanOrEqual(1);
    const metrics = await ctr(['task', 'metrics', 'sleeper']);
    expect({ status: metrics.status, stderr: metrics.stderr }).toEqual({ status: 0, stderr: '' });
    expect(metrics.stdout).toMatch(/memory\.usage_in_bytes\s+[1-9]/);
    const asUser = await ctr(['task', 'exec', '--exec-id', 'as-user', '--user', '1000', 'sleeper', 'id', '-u']);
    expect(asUser.stdout).toBe('1000\n');

    // One node, one truth: the admin sees the task's VM among the sandboxes, and may not delete it.
    const listed = await waitFor('the task in GET /v1/sandboxes', async () => {
      const res = await api<{ id: string; origin: string; containerd?: { namespace: string; id: string }; memoryMiB: number }[]>('GET', '/v1/sandboxes');
      return res.body.find((s) => s.containerd?.namespace === NS && s.containerd.id === 'sleeper');
    }, 30_000);
    expect(listed).toMatchObject({ origin: 'containerd', memoryMiB: 256 });
    const refused = await api<{ error: { code: string } }>('DELETE', `/v1/sandboxes/${listed.id}`);
    expect({ status: refused.status, code: refused.body.error.code }).toEqual({ status: 409, code: 'MANAGED_BY_CONTAINERD' });
    expect((await ctr(['task', 'kill', '--signal', 'SIGKILL', 'sleeper'])).status).toBe(0);
    for (let i = 0; i < 100 && !/sleeper\s+\d+\s+STOPPED/.test((await ctr(['task', 'ls'])).stdout); i++) await new Promise((r) => setTimeout(r, 200));
    expect((await ctr(['task', 'ls'])).stdout).toMatch(/sleeper\s+\d+\s+STOPPED/);
    expect((await ctr(['task', 'delete', 'sleeper'])).status).toBe(0);
    expect((await ctr(['container', 'delete', 'sleeper'])).status).toBe(0);
  });

  it('cleans up after a shim killed with SIGKILL mid-task', async () => {
    expect((await ctr(['run', '--runtime', MOAT_RUNTIME, '-d', image, 'orphan', 'sleep', '600'])).status).toBe(0);
    const [shim] = shimProcesses().filter((line) => line.includes('-id orphan'));
    expect(shim).toBeDefined();
    process.kill(Number(shim.split(' ')[0]), 'SIGKILL');
    // containerd sees its shim gone and runs `containerd-shim-moat-v2 delete`, which asks the node agent to remove the VM.
    for (let i = 0; i < 150 && (await ctr(['task', 'ls'])).stdout.includes('orphan'); i++) await new Promise((r) => setTimeout(r, 200));
    expect((await ctr(['task', 'ls'])).stdout).not.toContain('orphan');
    expect((await ctr(['container', 'delete', 'orphan'])).status).toBe(0);
  });

  it('leaves nothing behind: no VM, shim, socket, mount, sandbox dir or cgroup of any task', async () => {
    // uname, exit3, tty, sleeper and orphan: one VM each (the exec ran in sleeper's).
    expect(seen.size).toBe(5);
    for (let i = 0; i < 50 && vmsOfNamespace(NS).length > 0; i++) await new Promise((r) => setTimeout(r, 200));
    expect(vmsOfNamespace(NS)).toEqual([]);
    expect(findLeaks(DATA_DIR, [...seen])).toEqual([]);
    expect(shimProcesses()).toEqual([]);
    expect(existsSync(join(NODE_RUN_DIR, 's')) ? readdirSync(join(NODE_RUN_DIR, 's')) : []).toEqual([]);
    expect(readFileSync('/proc/self/mountinfo', 'utf8').split('\n').filter((line) => line.includes(containerd.address.replace(/\/containerd.sock$/, '/state')))).toEqual([]);
  });
});
