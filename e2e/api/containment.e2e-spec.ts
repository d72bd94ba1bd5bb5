import { execFileSync } from 'node:child_process';
import { networkInterfaces } from 'node:os';
import { UI_NAMESPACE, type UiEvents } from '@moat/proto';
import { io, type Socket } from 'socket.io-client';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { API_URL, DATA_DIR, api, waitFor } from '../support/api';
import { findLeaks } from '../support/leaks.mjs';
import { OUTSIDE, startOutside } from '../support/outside.mjs';
import { newTenantKey, sandboxGone, settledSandbox } from '../support/sandboxes';
import type { ExecResult, Sandbox } from '@moat/sdk';

const WEB_PORT = Number(new URL(process.env.MOAT_E2E_WEB_URL ?? 'http://localhost:3000').port);
const API_PORT = Number(new URL(API_URL).port);

/**
 * No road from a guest to the node: a sandbox reaches the outside world (a namespace the test
 * runs beyond the node) and its own tenant, and nothing of the node itself; egress policies
 * and DNS settings apply per sandbox. A 2-vCPU test node runs two 1-vCPU sandboxes at a time.
 */
describe('containment: what a sandbox can reach', () => {
  let outside: { stop(): void };
  let key: string;
  const ids: string[] = [];

  const create = async (body: Record<string, unknown> = {}): Promise<Sandbox> => {
    const res = await api<Sandbox>('POST', '/v1/sandboxes', { token: key, body: { vcpus: 1, memoryMiB: 256, ...body } });
    expect(res).toMatchObject({ status: 201 });
    ids.push(res.body.id);
    const sandbox = await settledSandbox<Sandbox>(res.body.id, key, 600_000);
    expect(sandbox.error ?? undefined).toBeUndefined();
    expect(sandbox.state).toBe('running');
    return sandbox;
  };
  const remove = async (sandbox: Sandbox) => {
    expect((await api('DELETE', `/v1/sandboxes/${sandbox.id}`, { token: key })).status).toBe(202);
    await sandboxGone(sandbox.id, key);
  };
  const sh = async (sandbox: Sandbox, script: string): Promise<ExecResult> => {
    const res = await api<ExecResult>('POST', `/v1/sandboxes/${sandbox.id}/exec`, { token: key, body: { command: ['sh', '-c', script], timeoutMs: 60_000 } });
    expect(res).toMatchObject({ status: 200 });
    return res.body;
  };
  /** HTTP GET from inside the sandbox; the default rootfs's wget, with a timeout. */
  const fetchFrom = (sandbox: Sandbox, url: string) => sh(sandbox, `wget -T 5 -q -O- ${url}`);
  /** Does a TCP connection from inside the sandbox get through? (busybox nc: 0 when it connected) */
  const connects = async (sandbox: Sandbox, address: string, port: number) => (await sh(sandbox, `nc -w 3 ${address} ${port} </dev/null`)).exitCode === 0;

  beforeAll(async () => {
    outside = startOutside();
    key = await newTenantKey('containment');
  });

  afterAll(async () => {
    for (const id of ids) await api('DELETE', `/v1/sandboxes/${id}`);
    for (const id of ids) await sandboxGone(id).catch(() => undefined);
    outside?.stop();
  }, 300_000);

  describe('a sandbox with the default policy', () => {
    let a: Sandbox;
    beforeAll(async () => {
      a = await create();
    }, 600_000);
    afterAll(async () => {
      if (a) await remove(a);
    }, 300_000);

    it('shows its VMM jailed in its own uid, with seccomp, in its host cgroup', () => {
      expect(a.isolation).toEqual({ jailed: true, uid: expect.any(Number), seccomp: true, cgroup: `/moat/${a.id}` });
      expect(a.isolation?.uid).toBeGreaterThanOrEqual(200_000);
    });

    it("reaches no port of the node on any of the node's addresses, while the node's services listen there", async () => {
      const nodeAddresses = Object.values(networkInterfaces())
        .flat()
        .filter((address) => address?.family === 'IPv4' && !address.internal)
        .map((address) => address!.address);
      const gateway = `${(a.ip ?? '').split('.').slice(0, 3).join('.')}.1`;
      expect(nodeAddresses).toContain(gateway);
      expect(nodeAddresses).toContain(OUTSIDE.hostAddress);
      for (const address of nodeAddresses) {
        for (const port of [API_PORT, WEB_PORT]) {
          // From the node itself the port answers (nc fails, and execFileSync throws, otherwise):
          // what the guest is refused is really there.
          expect(() => execFileSync('busybox', ['nc', '-w', '3', address, String(port)], { input: '' })).not.toThrow();
          expect({ from: 'the guest', to: `${address}:${port}`, connects: await connects(a, address, port) }).toMatchObject({ connects: false });
        }
      }
    });

    it('still reaches the outside world, but never a link-local address', async () => {
      expect((await fetchFrom(a, `http://${OUTSIDE.server}/`)).stdout).toBe('outside-a\n');
      // The node routes link-local to the outside namespace, which serves it: the fence is what stops it.
      expect(execFileSync('busybox', ['wget', '-q', '-O-', `http://${OUTSIDE.linkLocal}/`], { encoding: 'utf8' })).toBe('outside-link-local\n');
      const linkLocal = await fetchFrom(a, `http://${OUTSIDE.linkLocal}/`);
      expect(linkLocal.exitCode).not.toBe(0);
      expect(linkLocal.stdout).toBe('');
    });

    it('has resolv.conf, hosts and hostname as any container, resolves names, and its wget runs', async () => {
      const files = await sh(a, 'cat /etc/resolv.conf; echo ---; cat /etc/hosts; echo ---; cat /etc/hostname; hostname');
      const [resolvConf, hosts, hostname] = files.stdout.split('---\n');
      expect(resolvConf).toContain(`nameserver ${OUTSIDE.server}`);
      const name = a.id.slice(0, 8);
      expect(hosts).toMatch(new RegExp(`^${(a.ip ?? '').replaceAll('.', '\\.')}\\s+${name}$`, 'm'));
      expect(hostname).toBe(`${name}\n${name}\n`);
      const lookup = await sh(a, `nslookup ${OUTSIDE.dnsName}`);
      expect(lookup.stdout).toContain(OUTSIDE.namedServer);
      const byName = await fetchFrom(a, `http://${OUTSIDE.dnsName}/`);
      expect(byName.stdout).toBe('outside-named\n');
      // Debian's busybox crashes on wget's -T; the default rootfs's wget does not (139 would be SIGSEGV).
      expect((await sh(a, 'wget -T 2 -q -O- http://127.0.0.1:1/; echo "exit $?"')).stdout).toMatch(/exit 1\n$/);
    });

    describe('next to a sandbox that may only reach what its egress policy allows', () => {
      let c: Sandbox;
      beforeAll(async () => {
        c = await create({
          egress: { default: 'deny', allow: [`${OUTSIDE.server}/32`, `${OUTSIDE.otherServer}/32`], deny: [`${OUTSIDE.otherServer}/32`] },
          dns: { servers: [OUTSIDE.server], search: ['test'] },
        });
        await sh(a, 'mkdir -p /tmp/www && echo tenant-a > /tmp/www/index.html && httpd -p 8080 -h /tmp/www');
      }, 600_000);
      afterAll(async () => {
        if (c) await remove(c);
      }, 300_000);

      it('shows its policy, and lets through only the listed CIDRs, deny winning', async () => {
        expect(c.egress).toEqual({ default: 'deny', allow: [`${OUTSIDE.server}/32`, `${OUTSIDE.otherServer}/32`], deny: [`${OUTSIDE.otherServer}/32`] });
        expect((await fetchFrom(c, `http://${OUTSIDE.server}/`)).stdout).toBe('outside-a\n');
        expect((await fetchFrom(c, `http://${OUTSIDE.otherServer}/`)).exitCode).not.toBe(0);
        expect((await fetchFrom(c, `http://${OUTSIDE.namedServer}/`)).exitCode).not.toBe(0);
        // The default policy lets its neighbour through to all of them.
        expect((await fetchFrom(a, `http://${OUTSIDE.otherServer}/`)).stdout).toBe('outside-b\n');
      });

      it('still reaches its own tenant, and its own resolvers with its own search list', async () => {
        expect((await fetchFrom(c, `http://${a.ip}:8080/`)).stdout).toBe('tenant-a\n');
        const resolvConf = (await sh(c, 'cat /etc/resolv.conf')).stdout;
        expect(resolvConf).toContain(`nameserver ${OUTSIDE.server}`);
        expect(resolvConf).toMatch(/^search test$/m);
        expect((await sh(c, `nslookup ${OUTSIDE.dnsName}`)).stdout).toContain(OUTSIDE.namedServer);
      });
    });
  });

  it('refuses a bad CIDR, a bad resolver and an egress policy without a network with 400', async () => {
    for (const body of [
      { egress: { default: 'deny', allow: ['10.0.0.0/33'] } },
      { egress: { default: 'deny', allow: ['not-a-cidr'] } },
      { egress: { default: 'maybe' } },
      { dns: { servers: ['dns.example.com'] } },
      { network: false, egress: { default: 'deny' } },
    ]) {
      const res = await api<{ error: { code: string; message: string } }>('POST', '/v1/sandboxes', { token: key, body });
      expect({ status: res.status, body }).toMatchObject({ status: 400 });
      expect(res.body.error.code).toBe('VALIDATION_FAILED');
    }
  });
});

/**
 * A VMM that outgrows its host cgroup is killed alone: its sandbox fails with
 * VMM_OUT_OF_MEMORY and its deployment replaces it, while a neighbour keeps answering.
 */
describe('containment: a VMM out of memory', () => {
  let key: string;
  let deploymentId: string;
  let neighbour: Sandbox;

  beforeAll(async () => {
    key = await newTenantKey('oom');
  });
  afterAll(async () => {
    if (deploymentId) await api('DELETE', `/v1/deployments/${deploymentId}`, { token: key });
    if (neighbour) await api('DELETE', `/v1/sandboxes/${neighbour.id}`, { token: key });
    if (neighbour) await sandboxGone(neighbour.id, key).catch(() => undefined);
    await waitFor('the deployment to be gone', async () => ((await api('GET', `/v1/deployments/${deploymentId}`, { token: key })).status === 404 ? true : undefined), 300_000).catch(() => undefined);
  }, 400_000);

  it('fails the sandbox with VMM_OUT_OF_MEMORY, replaces it, and leaves the neighbour answering', async () => {
    const template = await api<{ id: string }>('POST', '/v1/templates', { token: key, body: { name: `oom-${Date.now()}`, vcpus: 1, memoryMiB: 256 } });
    expect(template.status).toBe(201);
    const deployment = await api<{ id: string }>('POST', '/v1/deployments', { token: key, body: { templateId: template.body.id, replicas: 1, strategy: { type: 'rolling' } } });
    expect(deployment.status).toBe(201);
    deploymentId = deployment.body.id;
    const replica = () =>
      waitFor('a running replica', async () => {
        const list = await api<Sandbox[]>('GET', `/v1/sandboxes?deploymentId=${deploymentId}`, { token: key });
        return list.body.find((s) => s.state === 'running');
      }, 600_000);
    const victim = await replica();
    const created = await api<Sandbox>('POST', '/v1/sandboxes', { token: key, body: { vcpus: 1, memoryMiB: 256 } });
    neighbour = await settledSandbox<Sandbox>(created.body.id, key, 600_000);
    expect(neighbour.state).toBe('running');

    // What an operator's tooling sees: the VMM's cgroup, named on the sandbox. Its limit goes just
    // above what the VMM uses now, and the guest then touches 100 MiB more of its RAM.
    const cgroup = victim.isolation?.cgroup ?? '';
    expect(cgroup).toBe(`/moat/${victim.id}`);
    // Its deployment replaces it within moments of its failure, so the failure is watched live, as the dashboard sees it.
    const updates: Socket<UiEvents<{ sandbox: Sandbox }>> = io(`${API_URL}${UI_NAMESPACE}`, { auth: { token: key }, transports: ['websocket'] });
    const failed = new Promise<Sandbox>((resolve) => {
      updates.on('sandbox:updated', (sandbox) => {
        if (sandbox.id === victim.id && sandbox.state === 'failed') resolve(sandbox);
      });
    });
    await new Promise<void>((resolve) => updates.once('connect', () => resolve()));
    try {
      lowerMemoryLimit(cgroup, 32 * 1024 * 1024);
      await api('POST', `/v1/sandboxes/${victim.id}/exec`, { token: key, body: { command: ['sh', '-c', 'dd if=/dev/zero of=/tmp/fill bs=1M count=100'], timeoutMs: 60_000 } });
      const failure = await Promise.race([failed, new Promise<undefined>((resolve) => setTimeout(resolve, 120_000))]);
      expect(failure?.error?.code).toBe('VMM_OUT_OF_MEMORY');
    } finally {
      updates.close();
    }
    const exec = await api<ExecResult>('POST', `/v1/sandboxes/${neighbour.id}/exec`, { token: key, body: { command: ['echo', 'still here'] } });
    expect(exec.body.stdout).toBe('still here\n');
    const replacement = await waitFor('a replacement replica', async () => {
      const list = await api<Sandbox[]>('GET', `/v1/sandboxes?deploymentId=${deploymentId}`, { token: key });
      return list.body.find((s) => s.state === 'running' && s.id !== victim.id);
    }, 600_000);
    expect(replacement.isolation?.jailed).toBe(true);
  });
});

/** Lowers a sandbox cgroup's memory limit to its current use plus `headroom` bytes (v1 or v2). */
function lowerMemoryLimit(cgroup: string, headroom: number): void {
  const v1 = `/sys/fs/cgroup/memory${cgroup}`;
  const read = (file: string) => Number(execFileSync('cat', [file], { encoding: 'utf8' }).trim());
  const write = (file: string, value: number) => execFileSync('sh', ['-c', `echo ${value} > ${file}`]);
  try {
    const limit = read(`${v1}/memory.usage_in_bytes`) + headroom;
    write(`${v1}/memory.limit_in_bytes`, limit);
    try {
      write(`${v1}/memory.memsw.limit_in_bytes`, limit);
    } catch {
      // No swap accounting on this host.
    }
  } catch {
    const v2 = `/sys/fs/cgroup${cgroup}`;
    write(`${v2}/memory.max`, read(`${v2}/memory.current`) + headroom);
  }
}

/** Every kind of sandbox, created and deleted over and over, leaves nothing of itself behind. */
describe('containment: create/delete cycles', () => {
  /** Every network model with every rootfs kind (9 kinds of sandbox) at least once; long soaks are for benchmarks. */
  const CYCLES = 10;
  const MODELS = ['tcfilter', 'macvtap', 'bridge'] as const;
  const ROOTFS = ['virtiofs', '9p', 'block'] as const;

  it(`leaves no uid lease, cgroup, jail, mount, netns, link or rule behind after ${CYCLES} cycles of mixed models and rootfs kinds`, async () => {
    const key = await newTenantKey('cycles');
    const ids: string[] = [];
    // Two at a time, the test node's capacity.
    for (let i = 0; i < CYCLES; i += 2) {
      const batch = await Promise.all(
        [i, i + 1].map(async (n) => {
          const res = await api<Sandbox>('POST', '/v1/sandboxes', {
            token: key,
            body: { vcpus: 1, memoryMiB: 256, networkModel: MODELS[n % MODELS.length], rootfs: ROOTFS[Math.floor(n / MODELS.length) % ROOTFS.length] },
          });
          expect(res.status).toBe(201);
          ids.push(res.body.id);
          return settledSandbox<Sandbox>(res.body.id, key, 600_000);
        }),
      );
      for (const sandbox of batch) expect({ state: sandbox.state, error: sandbox.error }).toMatchObject({ state: 'running' });
      for (const sandbox of batch) expect((await api('DELETE', `/v1/sandboxes/${sandbox.id}`, { token: key })).status).toBe(202);
      for (const sandbox of batch) await sandboxGone(sandbox.id, key);
    }
    expect(findLeaks(DATA_DIR, ids)).toEqual([]);
  }, 1_800_000);
});
