import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from '@jest/globals';
import { JailErrorCode } from './jail.errors';
import { JailIds, parseIdRange } from './jail-ids';

describe('JailIds', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'jail-ids-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('gives each owner its own uid from the range, the same one when asked again', async () => {
    const ids = new JailIds(dir, { first: 300_000, last: 300_003 });
    const a = await ids.acquire('sandbox-a');
    const b = await ids.acquire('sandbox-b');
    expect(a).not.toBe(b);
    for (const uid of [a, b]) expect(uid).toBeGreaterThanOrEqual(300_000);
    for (const uid of [a, b]) expect(uid).toBeLessThanOrEqual(300_003);
    await expect(ids.acquire('sandbox-a')).resolves.toBe(a);
  });

  it('is shared by two allocators on one dir (two node agents on a host) without a clash', async () => {
    const range = { first: 300_000, last: 300_007 };
    const owners = Array.from({ length: 8 }, (_, i) => `sandbox-${i}`);
    const uids = await Promise.all(owners.map((owner) => new JailIds(dir, range).acquire(owner)));
    expect(new Set(uids).size).toBe(8);
    await expect(new JailIds(dir, range).acquire('one-too-many')).rejects.toMatchObject({ code: JailErrorCode.JAIL_IDS_EXHAUSTED });
  });

  it('releases only the owner’s own lease', async () => {
    const ids = new JailIds(dir, { first: 300_000, last: 300_000 });
    const uid = await ids.acquire('a');
    await ids.release(uid, 'b');
    expect(readdirSync(dir)).toEqual([String(uid)]);
    await ids.release(uid, 'a');
    expect(readdirSync(dir)).toEqual([]);
    await expect(ids.acquire('b')).resolves.toBe(uid);
  });

  it('finds and releases an owner’s lease it lost the uid of (a crash between lease and record)', async () => {
    const ids = new JailIds(dir, { first: 300_000, last: 300_009 });
    await ids.acquire('kept');
    await ids.acquire('lost');
    await ids.releaseOwner('lost');
    expect(readdirSync(dir)).toHaveLength(1);
    await expect(ids.acquire('kept')).resolves.toBeGreaterThanOrEqual(300_000);
    expect(readdirSync(dir)).toHaveLength(1);
  });

  it('parses MOAT_JAIL_ID_RANGE and refuses ranges that would reach root or system users', () => {
    expect(parseIdRange('200000-265535')).toEqual({ first: 200_000, last: 265_535 });
    for (const bad of ['0-100', '300-200', '200000', 'a-b', '5000-4999']) expect(() => parseIdRange(bad)).toThrow(/not a uid range/);
  });
});
