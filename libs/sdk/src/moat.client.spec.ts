import { describe, expect, it } from '@jest/globals';
import { SANDBOX_STATES } from './api.types';
import { Moat } from './moat.client';
import { MoatApiError, MoatClientError } from './moat.error';
import { FakeApi, nodeOf, sandboxOf } from './testing';

const API_URL = 'http://moat.test:8080/';
const SANDBOX = sandboxOf();
const SANDBOX_PATH = `/v1/sandboxes/${SANDBOX.id}`;

function moatOn(fake: FakeApi): Moat {
  return new Moat({ apiUrl: API_URL, token: 'tenant-key', fetch: fake.fetch });
}

async function rejectionOf(promise: Promise<unknown>): Promise<unknown> {
  return promise.then(
    () => {
      throw new Error('expected a rejection');
    },
    (err: unknown) => err,
  );
}

describe('moat.sandboxes', () => {
  it('creates a sandbox with the bearer token and the given settings', async () => {
    const fake = new FakeApi().reply('POST /v1/sandboxes', { status: 201, body: SANDBOX });
    const sandbox = await moatOn(fake).sandboxes.create({ image: 'docker.io/library/alpine:3', vcpus: 2 });
    expect(sandbox.id).toBe(SANDBOX.id);
    expect(sandbox.state).toBe('pending');
    expect(fake.seen).toEqual([
      expect.objectContaining({ method: 'POST', path: '/v1/sandboxes', authorization: 'Bearer tenant-key', body: { image: 'docker.io/library/alpine:3', vcpus: 2 } }),
    ]);
  });

  it('lists with the query as search parameters and gets one by id', async () => {
    const other = sandboxOf({ id: '7f0c1d2e-0000-4000-8000-000000000002', state: 'running' });
    const fake = new FakeApi().reply('GET /v1/sandboxes', { status: 200, body: [other] }).reply(`GET ${SANDBOX_PATH}`, { status: 200, body: SANDBOX });
    const moat = moatOn(fake);
    expect((await moat.sandboxes.list({ state: 'running' })).map((s) => s.info)).toEqual([other]);
    expect(fake.seen[0]?.query.get('state')).toBe('running');
    expect((await moat.sandboxes.get(SANDBOX.id)).info).toEqual(SANDBOX);
  });

  it('deletes by id and gives the sandbox as accepted', async () => {
    const fake = new FakeApi().reply(`DELETE ${SANDBOX_PATH}`, { status: 202, body: { ...SANDBOX, state: 'stopping' } });
    expect((await moatOn(fake).sandboxes.delete(SANDBOX.id)).state).toBe('stopping');
  });

  it('hibernates, wakes and forks by id, forks giving a handle per clone', async () => {
    const clone = sandboxOf({ id: '7f0c1d2e-0000-4000-8000-000000000003', forkedFrom: SANDBOX.id });
    const fake = new FakeApi()
      .reply(`POST ${SANDBOX_PATH}/hibernate`, { status: 202, body: SANDBOX })
      .reply(`POST ${SANDBOX_PATH}/wake`, { status: 202, body: SANDBOX })
      .reply(`POST ${SANDBOX_PATH}/fork`, { status: 201, body: [clone] });
    const moat = moatOn(fake);
    expect(await moat.sandboxes.hibernate(SANDBOX.id)).toEqual(SANDBOX);
    expect(await moat.sandboxes.wake(SANDBOX.id)).toEqual(SANDBOX);
    const [forked] = await moat.sandboxes.fork(SANDBOX.id, 3);
    expect(forked.info).toEqual(clone);
    expect(fake.seen.map((request) => `${request.method} ${request.path}`)).toEqual([`POST ${SANDBOX_PATH}/hibernate`, `POST ${SANDBOX_PATH}/wake`, `POST ${SANDBOX_PATH}/fork`]);
    expect(fake.seen[2]?.body).toEqual({ count: 3 });
  });

  it('migrates by id, to the node given or where the scheduler chooses, and gives the sandbox as accepted', async () => {
    const migrating = { ...SANDBOX, state: 'migrating' as const, nodeId: 'n-1' };
    const fake = new FakeApi().reply(`POST ${SANDBOX_PATH}/migrate`, { status: 202, body: migrating });
    const moat = moatOn(fake);
    expect(await moat.sandboxes.migrate(SANDBOX.id, { nodeId: 'n-2' })).toEqual(migrating);
    expect(await moat.sandboxes.migrate(SANDBOX.id)).toEqual(migrating);
    expect(fake.seen.map((request) => [`${request.method} ${request.path}`, request.body])).toEqual([
      [`POST ${SANDBOX_PATH}/migrate`, { nodeId: 'n-2' }],
      [`POST ${SANDBOX_PATH}/migrate`, {}],
    ]);
  });

  it("throws a refused migration's code, MIGRATION_UNSUPPORTED among them", async () => {
    const fake = new FakeApi().reply(`POST ${SANDBOX_PATH}/migrate`, { status: 409, body: { error: { code: 'MIGRATION_UNSUPPORTED', message: 'only a rootfs block sandbox can migrate' } } });
    const err = await rejectionOf(moatOn(fake).sandboxes.migrate(SANDBOX.id));
    expect(err).toBeInstanceOf(MoatApiError);
    expect(err).toMatchObject({ status: 409, code: 'MIGRATION_UNSUPPORTED' });
  });

  it("throws the API's error code and status as a MoatApiError", async () => {
    const fake = new FakeApi().reply(`GET ${SANDBOX_PATH}`, { status: 404, body: { error: { code: 'NOT_FOUND', message: 'sandbox not found' } } });
    const err = await rejectionOf(moatOn(fake).sandboxes.get(SANDBOX.id));
    expect(err).toBeInstanceOf(MoatApiError);
    expect(err).toMatchObject({ status: 404, code: 'NOT_FOUND', message: 'sandbox not found' });
  });

  it('names the status when something other than the API answered', async () => {
    const fake = new FakeApi().reply('POST /v1/sandboxes', { status: 502, text: '<html>Bad Gateway</html>' });
    const err = await rejectionOf(moatOn(fake).sandboxes.create());
    expect(err).toMatchObject({ status: 502, code: 'HTTP_ERROR', message: 'The API answered 502.' });
  });
});

describe('moat.nodes', () => {
  const NODE = nodeOf({ id: 'n-1' });

  it('lists, gets, cordons and uncordons by id', async () => {
    const fake = new FakeApi()
      .reply('GET /v1/nodes', { status: 200, body: [NODE] })
      .reply('GET /v1/nodes/n-1', { status: 200, body: NODE })
      .reply('POST /v1/nodes/n-1/cordon', { status: 200, body: { ...NODE, state: 'cordoned' } })
      .reply('POST /v1/nodes/n-1/uncordon', { status: 200, body: NODE });
    const moat = moatOn(fake);
    expect(await moat.nodes.list()).toEqual([NODE]);
    expect(await moat.nodes.get('n-1')).toEqual(NODE);
    expect((await moat.nodes.cordon('n-1')).state).toBe('cordoned');
    expect((await moat.nodes.uncordon('n-1')).state).toBe('ready');
  });

  it('drains with the mode given, and without a body when none is', async () => {
    const fake = new FakeApi().reply('POST /v1/nodes/n-1/drain', { status: 200, body: { ...NODE, state: 'draining' } });
    const moat = moatOn(fake);
    expect((await moat.nodes.drain('n-1', { mode: 'migrate' })).state).toBe('draining');
    await moat.nodes.drain('n-1', { mode: 'replace' });
    await moat.nodes.drain('n-1');
    expect(fake.seen.map((request) => request.body)).toEqual([{ mode: 'migrate' }, { mode: 'replace' }, undefined]);
    expect(fake.seen.every((request) => request.authorization === 'Bearer tenant-key')).toBe(true);
  });
});

describe('a sandbox', () => {
  it('runs a command with its stdin, environment, directory and timeout', async () => {
    const fake = new FakeApi()
      .reply(`GET ${SANDBOX_PATH}`, { status: 200, body: SANDBOX })
      .reply(`POST ${SANDBOX_PATH}/exec`, { status: 200, body: { exitCode: 3, stdout: 'hi\n', stderr: '' } });
    const sandbox = await moatOn(fake).sandboxes.get(SANDBOX.id);
    const result = await sandbox.exec(['sh', '-c', 'cat; exit 3'], { stdin: 'hi\n', env: { A: '1' }, cwd: '/tmp', timeoutMs: 5_000 });
    expect(result).toEqual({ exitCode: 3, stdout: 'hi\n', stderr: '' });
    expect(fake.seen[1]?.body).toEqual({ command: ['sh', '-c', 'cat; exit 3'], stdin: 'hi\n', env: { A: '1' }, cwd: '/tmp', timeoutMs: 5_000 });
  });

  it('waits until it reaches the state, asking again meanwhile', async () => {
    const fake = new FakeApi().reply(
      `GET ${SANDBOX_PATH}`,
      { status: 200, body: SANDBOX },
      { status: 200, body: { ...SANDBOX, state: 'creating' } },
      { status: 200, body: { ...SANDBOX, state: 'running' } },
    );
    const sandbox = await moatOn(fake).sandboxes.get(SANDBOX.id);
    expect((await sandbox.waitUntil('running', { intervalMs: 1 })).state).toBe('running');
    expect(sandbox.state).toBe('running');
    expect(fake.seen).toHaveLength(3);
  });

  it('stops waiting with its error when it fails first', async () => {
    const failed = { ...SANDBOX, state: 'failed' as const, error: { code: 'VMM_START_FAILED', message: 'qemu exited' } };
    const fake = new FakeApi().reply(`GET ${SANDBOX_PATH}`, { status: 200, body: SANDBOX }, { status: 200, body: failed });
    const sandbox = await moatOn(fake).sandboxes.get(SANDBOX.id);
    const err = await rejectionOf(sandbox.waitUntil('running', { intervalMs: 1 }));
    expect(err).toBeInstanceOf(MoatClientError);
    expect(err).toMatchObject({ code: 'SANDBOX_FAILED', message: expect.stringContaining('VMM_START_FAILED: qemu exited') });
  });

  it('gives up waiting after the timeout', async () => {
    const fake = new FakeApi().reply(`GET ${SANDBOX_PATH}`, { status: 200, body: SANDBOX });
    const sandbox = await moatOn(fake).sandboxes.get(SANDBOX.id);
    const err = await rejectionOf(sandbox.waitUntil('running', { timeoutMs: 30, intervalMs: 10 }));
    expect(err).toMatchObject({ code: 'WAIT_TIMEOUT', message: expect.stringContaining('still pending') });
    expect(fake.seen.length).toBeGreaterThan(2);
  });

  it('is gone once deleted: the next refresh is NOT_FOUND', async () => {
    const fake = new FakeApi()
      .reply(`GET ${SANDBOX_PATH}`, { status: 200, body: SANDBOX }, { status: 404, body: { error: { code: 'NOT_FOUND', message: 'sandbox not found' } } })
      .reply(`DELETE ${SANDBOX_PATH}`, { status: 202, body: { ...SANDBOX, state: 'stopping' } });
    const sandbox = await moatOn(fake).sandboxes.get(SANDBOX.id);
    await sandbox.delete();
    expect(sandbox.state).toBe('stopping');
    await expect(sandbox.refresh()).rejects.toMatchObject({ status: 404, code: 'NOT_FOUND' });
  });
});

describe('SANDBOX_STATES', () => {
  it('has migrating, once, beside the other states a sandbox moves in', () => {
    expect(SANDBOX_STATES.filter((state) => state === 'migrating')).toHaveLength(1);
    expect(SANDBOX_STATES).toEqual(expect.arrayContaining(['pending', 'running', 'hibernated', 'waking', 'migrating', 'failed']));
  });
});
