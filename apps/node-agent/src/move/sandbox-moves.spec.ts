import { randomBytes, randomUUID } from 'node:crypto';
import { mkdir, mkdtemp, readFile, readdir, rename, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MoatError } from '@moat/proto';
import { afterEach, describe, expect, it } from '@jest/globals';
import pino from 'pino';
import { MoveArrivals } from './move-arrivals';
import { MoveSessions } from './move-sessions';
import type { MovePort } from './move.port';
import { MoveErrorCode } from './move.errors';
import { SandboxMoves } from './sandbox-moves';

const log = pino({ level: 'silent' });

describe('SandboxMoves', () => {
  const cleanups: (() => Promise<unknown>)[] = [];
  afterEach(async () => {
    await Promise.all(cleanups.splice(0).map((cleanup) => cleanup()));
  });
  async function tempDir(): Promise<string> {
    const dir = await mkdtemp(join(tmpdir(), 'moat-moves-'));
    cleanups.push(() => rm(dir, { recursive: true, force: true }));
    return dir;
  }

  /** A node: its runtime holds hibernated sandboxes as dirs of files; an import moves the received ones in. */
  async function node(importFails?: MoatError) {
    const root = await tempDir();
    const sandboxes = join(root, 'sandboxes');
    await mkdir(sandboxes);
    const imported: string[] = [];
    const runtime: MovePort = {
      savedFiles: async (sandboxId) => ({ dir: join(sandboxes, sandboxId), files: await readdir(join(sandboxes, sandboxId)) }),
      importSaved: async (sandboxId, dir) => {
        if (importFails) throw importFails;
        await rename(dir, join(sandboxes, sandboxId));
        // The protocol removes the dir it unpacked into whatever the runtime did: here it is gone.
        await mkdir(dir);
        imported.push(sandboxId);
      },
    };
    const arrivals = new MoveArrivals(60_000);
    const receiveDir = join(root, 'moves');
    const sessions = new MoveSessions({ address: () => '127.0.0.1', log, connectTimeoutMs: 5_000 });
    const moves = new SandboxMoves({ runtime, receiveDir, sessions, arrivals, log });
    cleanups.push(() => sessions.close().then(() => arrivals.clear()));
    return { moves, sessions, sandboxes, imported, arrivals, receiveDir };
  }

  async function hibernatedOn(sandboxes: string): Promise<string> {
    const sandboxId = randomUUID();
    await mkdir(join(sandboxes, sandboxId));
    await writeFile(join(sandboxes, sandboxId, 'hibernated.state'), randomBytes(300_000));
    await writeFile(join(sandboxes, sandboxId, 'state.json'), '{"hibernated":true}');
    return sandboxId;
  }

  function move(sandboxId: string) {
    return { moveId: randomUUID(), sandboxId, key: randomBytes(32).toString('base64') };
  }

  /** Two nodes, a sandbox hibernated on the source, and the target waiting for it (the control plane's `sandbox:receive`). */
  async function moveUnderWay(opts: { importFails?: MoatError; diskBytes?: number } = {}) {
    const source = await node();
    const target = await node(opts.importFails);
    const sandboxId = await hibernatedOn(source.sandboxes);
    if (opts.diskBytes) await writeFile(join(source.sandboxes, sandboxId, 'disk.img'), randomBytes(opts.diskBytes));
    const req = move(sandboxId);
    const to = await target.moves.receive(req);
    return { source, target, sandboxId, req, to };
  }

  it('moves a hibernated sandbox’s files to the target, which takes it in as an arrival', async () => {
    const { source, target, sandboxId, req, to } = await moveUnderWay();
    expect(to.host).toBe('127.0.0.1');
    const { bytes } = await source.moves.send({ ...req, to });
    await target.sessions.idle();
    expect(bytes).toBeGreaterThan(300_000);
    expect(target.imported).toEqual([sandboxId]);
    expect(target.arrivals.holds(sandboxId)).toBe(true);
    for (const name of ['hibernated.state', 'state.json']) {
      expect((await readFile(join(target.sandboxes, sandboxId, name))).equals(await readFile(join(source.sandboxes, sandboxId, name)))).toBe(true);
    }
    expect(await readdir(target.receiveDir)).toEqual([]);
  });

  it("gives the sender the target's failure code when the import fails, and leaves nothing behind", async () => {
    const { source, target, sandboxId, req, to } = await moveUnderWay({ importFails: new MoatError('HIBERNATE_FAILED', 'the saved state does not load') });
    await expect(source.moves.send({ ...req, to })).rejects.toMatchObject({
      code: 'HIBERNATE_FAILED',
      message: expect.stringContaining('the saved state does not load'),
    });
    await target.sessions.idle();
    expect(target.arrivals.holds(sandboxId)).toBe(false);
    expect(await readdir(target.receiveDir)).toEqual([]);
  });

  it('gives the sender the failure of a target that stops reading before the end', async () => {
    const { source, target, req, to } = await moveUnderWay({ diskBytes: 8 * 1024 * 1024 });
    // The target cannot make the dir it unpacks into: it answers at once, unread bytes on the way.
    await rm(target.receiveDir, { recursive: true });
    await writeFile(target.receiveDir, 'not a dir');
    await expect(source.moves.send({ ...req, to })).rejects.toMatchObject({ code: MoveErrorCode.MOVE_RECEIVE_FAILED });
    await target.sessions.idle();
    expect(target.imported).toEqual([]);
  });

  it('fails a send on both ends when the keys differ', async () => {
    const { source, target, req, to } = await moveUnderWay();
    await expect(source.moves.send({ ...req, key: randomBytes(32).toString('base64'), to })).rejects.toMatchObject({
      code: MoveErrorCode.MOVE_KEY_REJECTED,
    });
    await target.sessions.idle();
    expect(target.imported).toEqual([]);
  });

  it('refuses a second move of a sandbox already moving', async () => {
    const target = await node();
    const req = move(randomUUID());
    await target.moves.receive(req);
    await expect(target.moves.receive({ ...req, moveId: randomUUID() })).rejects.toMatchObject({ code: MoveErrorCode.MOVE_IN_PROGRESS });
  });

  it('refuses to receive while the node does not know its address', async () => {
    const moves = new SandboxMoves({
      runtime: { savedFiles: () => Promise.reject(new Error('unused')), importSaved: () => Promise.reject(new Error('unused')) },
      receiveDir: await tempDir(),
      sessions: new MoveSessions({ address: () => undefined, log }),
      arrivals: new MoveArrivals(),
      log,
    });
    await expect(moves.receive(move(randomUUID()))).rejects.toMatchObject({ code: MoveErrorCode.MOVE_NO_ADDRESS });
  });
});
