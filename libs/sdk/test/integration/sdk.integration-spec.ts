import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { eventually, startControlPlane, type ControlPlaneProcess } from '@moat/test-support';
import { AttachSession, Moat, MoatApiError, MoatAttachError, type CreatedTenant } from '../../src';

// The SDK against the real control plane (its built dist/main.js on SQLite) with no node: sandboxes
// are created, listed, read and deleted while `pending`, and every refusal arrives typed.
describe('@moat/sdk against a real control plane', () => {
  let controlPlane: ControlPlaneProcess;
  let admin: Moat;
  let acme: Moat;

  async function createTenant(name: string): Promise<CreatedTenant> {
    const { data, error } = await admin.api.POST('/v1/tenants', { body: { name } });
    if (!data) throw new Error(`creating tenant ${name}: ${JSON.stringify(error)}`);
    return data;
  }

  beforeAll(async () => {
    controlPlane = await startControlPlane();
    admin = new Moat({ apiUrl: controlPlane.apiUrl, token: controlPlane.adminToken });
    acme = new Moat({ apiUrl: controlPlane.apiUrl, token: (await createTenant('acme')).apiKey });
  });
  afterAll(async () => {
    await controlPlane?.stop();
  });

  it('creates, lists, gets and deletes a sandbox', async () => {
    const sandbox = await acme.sandboxes.create({ image: 'docker.io/library/busybox:latest', labels: { team: 'sdk' }, memoryMiB: 128 });
    expect(sandbox.info).toMatchObject({ state: 'pending', nodeId: null, image: 'docker.io/library/busybox:latest', labels: { team: 'sdk' }, memoryMiB: 128 });
    expect(sandbox.info.pendingReason?.code).toBe('NO_READY_NODE');

    expect((await acme.sandboxes.list()).map((s) => s.id)).toEqual([sandbox.id]);
    expect(await acme.sandboxes.list({ state: 'running' })).toEqual([]);
    expect((await acme.sandboxes.get(sandbox.id)).info).toEqual(sandbox.info);

    await acme.sandboxes.delete(sandbox.id);
    await eventually(() => expect(acme.sandboxes.get(sandbox.id)).rejects.toMatchObject({ status: 404, code: 'NOT_FOUND' }));
    expect(await acme.sandboxes.list()).toEqual([]);
  });

  it("answers 404 as a MoatApiError with the API's code, also for another tenant's sandbox", async () => {
    const missing = await acme.sandboxes.get('00000000-0000-4000-8000-000000000000').catch((err: unknown) => err);
    expect(missing).toBeInstanceOf(MoatApiError);
    expect(missing).toMatchObject({ status: 404, code: 'NOT_FOUND' });

    const other = new Moat({ apiUrl: controlPlane.apiUrl, token: (await createTenant('other')).apiKey });
    const theirs = await other.sandboxes.create();
    await expect(acme.sandboxes.get(theirs.id)).rejects.toMatchObject({ status: 404, code: 'NOT_FOUND' });
    await other.sandboxes.delete(theirs.id);
  });

  it('carries the code of every refusal: bad token, invalid body, a sandbox that is not running', async () => {
    const stranger = new Moat({ apiUrl: controlPlane.apiUrl, token: 'moat_not-a-key' });
    await expect(stranger.sandboxes.list()).rejects.toMatchObject({ status: 401, code: 'UNAUTHENTICATED' });
    await expect(acme.sandboxes.create({ vcpus: 0 })).rejects.toMatchObject({ status: 400, code: 'VALIDATION_FAILED', message: expect.stringContaining('vcpus') });

    const sandbox = await acme.sandboxes.create();
    await expect(sandbox.exec(['true'], { cwd: '/tmp', env: { A: '1' }, timeoutMs: 1_000 })).rejects.toMatchObject({ status: 409, code: 'SANDBOX_NOT_RUNNING' });
    await expect(sandbox.waitUntil('running', { timeoutMs: 300, intervalMs: 100 })).rejects.toMatchObject({ code: 'WAIT_TIMEOUT' });
    // Never placed: no node holds its logs.
    await expect(sandbox.logs({ follow: true })[Symbol.asyncIterator]().next()).rejects.toMatchObject({ status: 409, code: 'SANDBOX_NOT_RUNNING' });
    await sandbox.delete();
  });

  it("refuses an attach with the gateway's codes: a bad token, an invalid request, a sandbox that is not running", async () => {
    const sandbox = await acme.sandboxes.create();
    await expect(AttachSession.start({ apiUrl: controlPlane.apiUrl, token: 'moat_not-a-key' }, { sandboxId: sandbox.id })).rejects.toMatchObject({ code: 'UNAUTHENTICATED' });
    await expect(sandbox.attach({ cwd: 'relative' })).rejects.toMatchObject({ code: 'VALIDATION_FAILED', message: expect.stringContaining('cwd') });
    const notRunning = await sandbox.attach({ command: ['true'], tty: false }).catch((err: unknown) => err);
    expect(notRunning).toBeInstanceOf(MoatAttachError);
    expect(notRunning).toMatchObject({ code: 'SANDBOX_NOT_RUNNING' });
    await sandbox.delete();
  });
});
