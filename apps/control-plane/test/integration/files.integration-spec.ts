import { afterAll, beforeAll, describe, expect } from '@jest/globals';
import { FILE_CHUNK_BYTES, type AckReply, type ErrorInfo, type SandboxFileInfo } from '@moat/proto';
import { eventually, itIf } from '@moat/test-support';
import { randomBytes } from 'node:crypto';
import { request as httpRequest } from 'node:http';
import { bodyOf, DATABASES, startApp, type TestApp } from './support/harness';
import { TestAgent } from './support/test-agent';

const MAX_FILE_BYTES = 3 * FILE_CHUNK_BYTES;

/**
 * What the node stand-in keeps: files by path, and every file call it received, so a test can
 * see what crossed the fleet channel (chunk sizes, closes).
 */
class NodeFiles {
  readonly files = new Map<string, Buffer>();
  readonly calls: string[] = [];
  readonly chunkSizes: number[] = [];
  /** Answered instead of the file, by path. */
  readonly refusals = new Map<string, ErrorInfo>();
  private readonly reads = new Map<string, { data: Buffer; offset: number }>();
  private readonly writes = new Map<string, { path: string; parts: Buffer[] }>();

  constructor(agent: TestAgent) {
    const { socket } = agent;
    socket.on('file:list', ({ path }, ack) => ack(this.refused(path) ?? { ok: true, result: { entries: [this.info(path)], truncated: false } }));
    socket.on('file:open-read', ({ path, transferId }, ack) => {
      this.calls.push(`open-read ${path}`);
      const refusal = this.refused(path);
      if (refusal) return ack(refusal);
      this.reads.set(transferId, { data: this.files.get(path) as Buffer, offset: 0 });
      ack({ ok: true, result: this.info(path) });
    });
    socket.on('file:read', ({ transferId }, ack) => {
      const read = this.reads.get(transferId);
      if (!read) return ack({ ok: false, error: { code: 'FILE_TRANSFER_GONE', message: 'gone' } });
      const data = read.data.subarray(read.offset, read.offset + FILE_CHUNK_BYTES);
      read.offset += data.length;
      if (data.length === 0) this.reads.delete(transferId);
      ack({ ok: true, result: { data, eof: data.length === 0 } });
    });
    socket.on('file:open-write', ({ path, transferId, mode }, ack) => {
      this.calls.push(`open-write ${path}${mode === undefined ? '' : ` ${mode.toString(8)}`}`);
      this.writes.set(transferId, { path, parts: [] });
      ack({ ok: true, result: null });
    });
    socket.on('file:write', ({ transferId, data }, ack) => {
      this.chunkSizes.push(data.length);
      this.writes.get(transferId)?.parts.push(Buffer.from(data));
      ack({ ok: true, result: null });
    });
    socket.on('file:commit', ({ transferId }, ack) => {
      const write = this.writes.get(transferId);
      if (!write) return ack({ ok: false, error: { code: 'FILE_TRANSFER_GONE', message: 'gone' } });
      this.writes.delete(transferId);
      const created = !this.files.has(write.path);
      this.files.set(write.path, Buffer.concat(write.parts));
      ack({ ok: true, result: { info: this.info(write.path), created } });
    });
    socket.on('file:close', ({ transferId }) => {
      this.calls.push('close');
      this.reads.delete(transferId);
      this.writes.delete(transferId);
    });
  }

  private refused(path: string): AckReply<never> | undefined {
    const error = this.refusals.get(path) ?? (this.files.has(path) ? undefined : { code: 'FILE_NOT_FOUND', message: `no such file or directory: ${path}` });
    return error && { ok: false, error };
  }

  private info(path: string): SandboxFileInfo {
    const size = this.files.get(path)?.length ?? 0;
    return { name: path.split('/').at(-1) ?? '/', type: 'file', size, mode: 0o644, uid: 0, gid: 0, mtimeMs: 1, linkTarget: '' };
  }
}

describe.each(DATABASES)('sandbox files on $label', ({ kind, skip }) => {
  let t: TestApp;
  let agent: TestAgent;
  let node: NodeFiles;
  let sandboxId: string;
  let otherTenant: { Authorization: string };

  beforeAll(async () => {
    if (skip) return;
    t = await startApp(kind, { MOAT_FILES_MAX_BYTES: String(MAX_FILE_BYTES) });
    agent = await TestAgent.connect(t.baseUrl, t.adminToken);
    agent.simulate();
    await agent.hello();
    node = new NodeFiles(agent);
    sandboxId = bodyOf<{ id: string }>(await t.api().post('/v1/sandboxes').set(t.admin()).send({}).expect(201)).id;
    await eventually(async () => expect(bodyOf<{ state: string }>(await t.api().get(`/v1/sandboxes/${sandboxId}`).set(t.admin())).state).toBe('running'));
    const tenant = bodyOf<{ apiKey: string }>(await t.api().post('/v1/tenants').set(t.admin()).send({ name: 'other' }).expect(201));
    otherTenant = { Authorization: `Bearer ${tenant.apiKey}` };
  });
  afterAll(async () => {
    agent?.close();
    await t?.close();
  });

  const files = () => `/v1/sandboxes/${sandboxId}/files`;

  itIf(!skip)('uploads in chunks the node takes one at a time: 201 when new, 200 when replaced', async () => {
    const data = randomBytes(2 * FILE_CHUNK_BYTES + 123);
    const put = await t.api().put(files()).query({ path: '/tmp/data.bin', mode: '0600' }).set(t.admin()).set('content-type', 'application/octet-stream').send(data).expect(201);
    expect(put.body).toEqual({ path: '/tmp/data.bin', name: 'data.bin', type: 'file', size: data.length, mode: 0o644, uid: 0, gid: 0, mtimeMs: 1 });
    expect(node.files.get('/tmp/data.bin')?.equals(data)).toBe(true);
    expect(node.chunkSizes).toEqual([FILE_CHUNK_BYTES, FILE_CHUNK_BYTES, 123]);
    expect(node.calls).toContain('open-write /tmp/data.bin 600');
    await t.api().put(files()).query({ path: '/tmp/data.bin' }).set(t.admin()).send(Buffer.from('x')).expect(200);
  });

  itIf(!skip)('downloads the bytes as a stream, and lists', async () => {
    const data = randomBytes(FILE_CHUNK_BYTES + 7);
    node.files.set('/srv/out.bin', data);
    const got = await t.api().get(files()).query({ path: '/srv/out.bin' }).set(t.admin()).responseType('blob').expect(200);
    expect(got.headers['content-type']).toBe('application/octet-stream');
    expect(got.headers['content-disposition']).toBe(`attachment; filename="out.bin"; filename*=UTF-8''out.bin`);
    expect((got.body as Buffer).equals(data)).toBe(true);
    const listing = await t.api().get(files()).query({ path: '/srv/out.bin', list: 'true' }).set(t.admin()).expect(200);
    expect(listing.body).toEqual({ path: '/srv/out.bin', truncated: false, entries: [expect.objectContaining({ name: 'out.bin', size: data.length })] });
  });

  itIf(!skip)("keeps the node's file errors: 404, 400, 409, 507 with their codes", async () => {
    const cases: Array<[string, ErrorInfo, number]> = [
      ['/tmp/missing', { code: 'FILE_NOT_FOUND', message: 'no such file or directory: /tmp/missing' }, 404],
      ['/tmp/esc/etc/passwd', { code: 'FILE_PATH_INVALID', message: '/tmp/esc/etc/passwd leads into /proc' }, 400],
      ['/ro/file', { code: 'FILE_NOT_WRITABLE', message: 'read-only file system' }, 409],
      ['/full', { code: 'FILE_NO_SPACE', message: 'no space left in the sandbox' }, 507],
    ];
    for (const [path, error, status] of cases) {
      if (error.code !== 'FILE_NOT_FOUND') node.refusals.set(path, error);
      const answer = await t.api().get(files()).query({ path }).set(t.admin()).expect(status);
      expect(answer.body).toEqual({ error });
    }
  });

  itIf(!skip)('refuses bad paths and queries itself, and another tenant sees no sandbox', async () => {
    const before = node.calls.length;
    for (const path of ['../../etc/passwd', 'relative']) {
      expect((await t.api().get(files()).query({ path }).set(t.admin()).expect(400)).body.error.code).toBe('FILE_PATH_INVALID');
    }
    // Refused before the route, like every query holding a NUL character.
    await t.api().get(files()).query({ path: '/a\0b' }).set(t.admin()).expect(400);
    await t.api().get(files()).set(t.admin()).expect(400);
    await t.api().put(files()).query({ path: '/x', mode: '999' }).set(t.admin()).send(Buffer.from('x')).expect(400);
    await t.api().put(files()).query({ path: '/x', uid: '5' }).set(t.admin()).send(Buffer.from('x')).expect(400);
    const json = await t.api().put(files()).query({ path: '/x.json' }).set(t.admin()).send({ a: 1 }).expect(415);
    expect(json.body.error.code).toBe('UNSUPPORTED_MEDIA_TYPE');
    await t.api().get(files()).query({ path: '/srv/out.bin' }).set(otherTenant).expect(404);
    expect(node.calls.length).toBe(before);
  });

  itIf(!skip)('refuses an upload over MOAT_FILES_MAX_BYTES: at once when its length says so, else when it gets there', async () => {
    // Says 2 GiB, sends one chunk: the answer comes before the rest would.
    const declared = await streamUpload(`${t.baseUrl}${files()}?path=/big`, t.adminToken, FILE_CHUNK_BYTES, 2 * 1024 ** 3);
    expect(declared.status).toBe(413);
    expect(node.calls).not.toContain('open-write /big');
    const answer = await streamUpload(`${t.baseUrl}${files()}?path=/big2`, t.adminToken, MAX_FILE_BYTES + FILE_CHUNK_BYTES);
    expect(answer.status).toBe(413);
    expect(JSON.parse(answer.body)).toEqual({ error: { code: 'FILE_TOO_LARGE', message: expect.stringContaining('MOAT_FILES_MAX_BYTES') } });
    expect(node.files.has('/big2')).toBe(false);
    await eventually(() => expect(node.calls.at(-1)).toBe('close'));
  });
});

/**
 * An upload of `bytes`, chunked, or saying it is `declaredLength` long (then only `bytes` are
 * sent, and the body never ends); resolves with the answer, which a refusal gives before the end.
 */
function streamUpload(url: string, token: string, bytes: number, declaredLength?: number): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const length = declaredLength === undefined ? {} : { 'content-length': String(declaredLength) };
    let answered = false;
    const req = httpRequest(url, { method: 'PUT', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/octet-stream', ...length } }, (res) => {
      let body = '';
      res.on('data', (part: Buffer) => (body += part.toString()));
      res.on('end', () => {
        answered = true;
        resolve({ status: res.statusCode ?? 0, body });
        req.destroy();
      });
    });
    // The server closes the connection after refusing: a reset once answered is expected.
    req.on('error', (error) => answered || reject(error));
    const piece = Buffer.alloc(64 * 1024);
    let sent = 0;
    const pump = (): void => {
      while (sent < bytes) {
        sent += piece.length;
        if (!req.write(piece)) return void req.once('drain', pump);
      }
      if (declaredLength === undefined) req.end();
    };
    pump();
  });
}
