import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { PassThrough, Transform } from 'node:stream';
import { afterAll, beforeAll, expect, it } from '@jest/globals';
import { describeIf, eventually, processesMentioning } from '@moat/test-support';
import { RuntimeErrorCode } from '../../src';
import { dataDirOfImages, findGuestImage } from './support/guest-image';
import { COUNTER_AND_LISTENER, SuiteRuntime } from './support/suite-runtime';
import { vmIdOf } from '../../src/testing/vm-id';

const image = findGuestImage();
if (!image) console.warn(`live migration integration tests skipped: no guest image under ${dataDirOfImages}/guest-images`);


/**
 * Live migration on real QEMU between two runtimes (two nodes' runtimes on one host): a running
 * block-rootfs sandbox's RAM, devices and disk stream from one to the other while it runs; its
 * counter, /tmp and listener carry on there and nothing of it stays at the source. A stream cut
 * midway leaves it running at the source and nothing at the target.
 */
describeIf(image !== undefined)('live migration on real QEMU', () => {
  const spec = { vcpus: 1, memoryMiB: 128, env: {}, rootfs: 'block' as const, command: COUNTER_AND_LISTENER };
  const source = new SuiteRuntime('lms', image!, spec);
  const target = new SuiteRuntime('lmt', image!, spec);

  beforeAll(async () => {
    await source.start();
    await target.start();
  });

  afterAll(async () => {
    await source.stop();
    await target.stop();
  }, 120_000);

  it('moves a running sandbox with its processes, /tmp and disk while it runs; nothing of it stays at the source', async () => {
    const info = await source.create();
    await source.sh(info.id, 'echo kept > /tmp/marker');
    const before = await source.count(info.id);
    const departure = await source.runtime.liveMigration.departure(info.id);
    const stream = new PassThrough();
    const arrival = target.runtime.liveMigration.migrateIn(info.id, departure, stream);
    const [out, into] = await Promise.allSettled([source.runtime.liveMigration.migrateOut(info.id, stream, () => arrival.then(() => undefined)), arrival]);
    // Either side's failure, with the other's, says where it broke (and what the runtimes logged).
    if (out.status === 'rejected' || into.status === 'rejected') {
      const why = (result: PromiseSettledResult<unknown>) => (result.status === 'rejected' ? String(result.reason) : 'ok');
      throw new Error(`source: ${why(out)}\ntarget: ${why(into)}\nwarnings: ${[...source.warnings, ...target.warnings].join('\n')}`);
    }
    const [migration, arrived] = [out.value, into.value];
    target.ids.push(source.ids.splice(source.ids.indexOf(info.id), 1)[0]);
    console.info(`live migration tcg: ${(migration.bytes / 2 ** 20).toFixed(1)} MiB in ${migration.totalMs} ms, downtime ${migration.downtimeMs} ms; target ${arrived.timings.map((t) => `${t.phase}=${t.ms}ms`).join(' ')}`);
    expect(arrived).toMatchObject({ id: info.id, state: 'running' });
    expect(arrived.error).toBeUndefined();
    expect(arrived.timings.map((t) => t.phase)).toEqual(['jail', 'sharefs', 'wake', 'agent']);
    expect(migration.bytes).toBeGreaterThan(1024 * 1024);

    // The counter went on from where it was, and goes on there.
    const after = await target.count(info.id);
    expect(after).toBeGreaterThanOrEqual(before);
    await eventually(async () => expect(await target.count(info.id)).toBeGreaterThan(after), { timeout: 10_000 });
    expect(await target.sh(info.id, 'cat /tmp/marker')).toBe('kept');
    // The disk came along: what the guest wrote on its rootfs before is there.
    expect(await target.sh(info.id, 'ls /bin/sh')).toBe('/bin/sh');

    // Nothing of it at the source: no VMM, no dirs, no entry.
    expect(source.runtime.get(info.id)).toBeUndefined();
    expect(processesMentioning(`moat-${info.id}`)).toEqual([]);
    expect(processesMentioning(`moat-${vmIdOf(arrived)}`).filter((line) => line.includes('qemu-system'))).toHaveLength(1);
    expect(existsSync(join(source.dirs.runDir, info.id))).toBe(false);
    expect(readdirSync(join(source.dirs.work, 'data', 'sandboxes')).filter((dir) => dir === info.id)).toEqual([]);
  }, 600_000);

  it('leaves a sandbox whose stream was cut midway running at the source, and nothing at the target', async () => {
    const targetDirs = () => ({ data: readdirSync(join(target.dirs.work, 'data', 'sandboxes')).sort(), run: readdirSync(target.dirs.runDir).sort() });
    const targetDirsBefore = targetDirs();
    const info = await source.create();
    const departure = await source.runtime.liveMigration.departure(info.id);
    // A link that breaks after 4 MiB.
    let passed = 0;
    const cut = new Transform({
      transform(chunk: Buffer, _encoding, done) {
        passed += chunk.length;
        if (passed > 4 * 2 ** 20) done(new Error('the link to the target broke'));
        else done(null, chunk);
      },
    });
    const arriving = target.runtime.liveMigration.migrateIn(info.id, departure, cut);
    const [out, arrival] = await Promise.allSettled([source.runtime.liveMigration.migrateOut(info.id, cut, () => arriving.then(() => undefined)), arriving]);
    expect(out).toMatchObject({ status: 'rejected', reason: { code: RuntimeErrorCode.MIGRATION_FAILED } });
    expect(arrival).toMatchObject({ status: 'rejected', reason: { code: RuntimeErrorCode.MIGRATION_FAILED } });
    expect(source.runtime.get(info.id)?.state).toBe('running');
    const before = await source.count(info.id);
    await eventually(async () => expect(await source.count(info.id)).toBeGreaterThan(before), { timeout: 10_000 });
    // Nothing of it at the target: its dirs are as they were before, whatever the test before left there.
    expect(target.runtime.get(info.id)).toBeUndefined();
    expect(targetDirs()).toEqual(targetDirsBefore);
  }, 600_000);
});
