import { mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from '@jest/globals';
import { RuntimeErrorCode } from '../../errors/runtime.errors';
import { sandboxPaths, SandboxStateStore, type SandboxState } from './sandbox.state';

const ID = '6a1f3c2e-9b8d-4e7f-a6b5-c4d3e2f1a0b9';

describe('SandboxStateStore', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'state-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  const state = (): SandboxState => ({
    version: 1,
    spec: { id: ID, vcpus: 1, memoryMiB: 256, env: {}, command: ['/bin/sh'] },
    state: 'running',
    accel: 'tcg',
    transport: 'virtio-serial',
    sharedFsKind: 'virtiofs',
    sharedFs: { kind: 'virtiofs', daemonPid: 42, attachment: { kind: 'virtiofs', socketPath: '/run/moat/x/virtiofsd.sock', mountTag: 'moatfs' } },
    vmmPid: 43,
    paths: sandboxPaths(dir, '/run/moat', ID),
    timings: [{ phase: 'rootfs', ms: 3 }],
    sandboxCreated: true,
    containerCreated: true,
  });

  it('round-trips a state and leaves no temporary file', async () => {
    const store = new SandboxStateStore(dir);
    await store.save(state());
    expect(await store.loadAll()).toEqual({ states: [state()], empty: [], unreadable: [] });
    expect(readdirSync(join(dir, 'sandboxes', ID))).toEqual(['state.json']);
  });

  it('reports unreadable or mismatched state instead of guessing', async () => {
    const store = new SandboxStateStore(dir);
    mkdirSync(join(dir, 'sandboxes', 'broken'), { recursive: true });
    writeFileSync(join(dir, 'sandboxes', 'broken', 'state.json'), '{"version":1');
    const other = state();
    mkdirSync(join(dir, 'sandboxes', 'elsewhere'), { recursive: true });
    writeFileSync(join(dir, 'sandboxes', 'elsewhere', 'state.json'), JSON.stringify(other));
    mkdirSync(join(dir, 'sandboxes', ID), { recursive: true });
    const loaded = await store.loadAll();
    expect(loaded.states).toEqual([]);
    expect(loaded.unreadable.map((u) => u.error.code)).toEqual([RuntimeErrorCode.STATE_CORRUPT, RuntimeErrorCode.STATE_CORRUPT]);
    // A dir with no state at all is a start that died before saving any: nothing to guess about.
    expect(loaded.empty).toEqual([{ id: ID, dir: join(dir, 'sandboxes', ID) }]);
  });

  it('keeps socket paths under the 108-byte unix limit for the default run dir', () => {
    const paths = sandboxPaths('/var/lib/moat/a/very/long/data/dir/that/does/not/matter', '/run/moat', ID);
    expect(Buffer.byteLength(join(paths.socketDir, 'virtiofsd.sock'))).toBeLessThan(108);
  });
});
