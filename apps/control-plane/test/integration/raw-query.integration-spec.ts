import { afterAll, beforeAll, describe, expect } from '@jest/globals';
import { itIf } from '@moat/test-support';
import { DataSource, In } from 'typeorm';
import { chunks } from '../../src/common/chunks';
import { insertRows, rawQuery, updateRowsById, type RawValue } from '../../src/database/raw-query';
import { newSandbox, SandboxEntity } from '../../src/sandboxes/model/sandbox.entity';
import { sandboxRequest } from '../../src/sandboxes/model/testing/sandbox-request';
import { DATABASES, startApp, type TestApp } from './support/harness';

describe.each(DATABASES)('updateRowsById on $label', ({ kind, skip }) => {
  let app: TestApp;
  let db: DataSource;

  beforeAll(async () => {
    if (skip) return;
    app = await startApp(kind);
    db = app.app.get(DataSource);
    await db.query(`CREATE TABLE "probe" ("id" varchar(36) PRIMARY KEY, "a" varchar(16), "b" text, "flag" varchar(8) NOT NULL)`);
  });
  afterAll(async () => {
    await app?.close();
  });

  itIf(!skip)('gives each row its own values in chunked statements, shared values to all, and spares rows the condition excludes', async () => {
    const ids = Array.from({ length: 900 }, (_, i) => `row-${String(i).padStart(3, '0')}`);
    for (const part of chunks(ids, 100)) {
      const parameters: Record<string, RawValue> = {};
      part.forEach((id, i) => (parameters[`id${i}`] = id));
      const values = part.map((_, i) => `(:id${i}, 'old', 'old', ${i % 10 === 0 ? `'keep'` : `'open'`})`).join(', ');
      await rawQuery(db.manager, `INSERT INTO "probe" ("id", "a", "b", "flag") VALUES ${values}`, parameters);
    }
    // Two columns make 666 rows a statement: 900 rows take two.
    await updateRowsById(
      db.manager,
      'probe',
      ids.map((id, i) => ({ id, values: { a: `a${i}`, b: i % 3 === 0 ? null : `{"n":${i}}` } })),
      { shared: { flag: 'done' }, where: `"flag" = 'open'` },
    );
    const rows = await db.query<{ id: string; a: string | null; b: string | null; flag: string }[]>(`SELECT * FROM "probe" ORDER BY "id"`);
    expect(rows).toHaveLength(900);
    rows.forEach((row, i) => {
      const kept = i % 10 === 0;
      expect(row).toEqual(kept ? { id: ids[i], a: 'old', b: 'old', flag: 'keep' } : { id: ids[i], a: `a${i}`, b: i % 3 === 0 ? null : `{"n":${i}}`, flag: 'done' });
    });
  });
});

describe.each(DATABASES)('insertRows on $label', ({ kind, skip }) => {
  let app: TestApp;
  let db: DataSource;
  let tenantId: string;

  beforeAll(async () => {
    if (skip) return;
    app = await startApp(kind);
    db = app.app.get(DataSource);
    [{ id: tenantId }] = await db.query<{ id: string }[]>(`SELECT "id" FROM "tenants" LIMIT 1`);
  });
  afterAll(async () => {
    await app?.close();
  });

  /** Sandboxes whose columns take every kind of value: JSON, dates, booleans both ways, numbers, NULLs, defaults. */
  const sandboxes = (count: number, now: Date): SandboxEntity[] =>
    Array.from({ length: count }, (_, i) => {
      const sandbox = newSandbox(
        sandboxRequest({
          tenantId,
          placedAt: i % 2 === 0 ? now : null,
          vcpus: 1 + (i % 4),
          memoryMiB: 256 * (1 + (i % 3)),
          image: `registry.example/app:${i}`,
          command: i % 5 === 0 ? null : ['sh', '-c', `echo "${i}" 'quoted'`],
          idleTimeoutSeconds: i % 2 === 0 ? 600 : null,
          env: { N: String(i), EMPTY: '' },
          labels: { app: 'probe' },
          network: i % 2 === 0,
          ports: [{ containerPort: 8080 + i, protocol: 'tcp' }],
        }),
        now,
      );
      // Left undefined, a column with a default takes it.
      return Object.assign(sandbox, { liveMove: i % 3 === 0, savedBytes: i % 4 === 0 ? 2 ** 40 + i : null, health: i % 2 === 0 ? undefined : 'healthy' });
    });

  itIf(!skip)('stores rows in chunked statements exactly as TypeORM would store the same entities', async () => {
    const now = new Date('2026-12-07T10:11:12.345Z');
    // Some 48 columns make 41 rows a statement: 100 rows take three.
    const ours = sandboxes(100, now);
    const theirs = sandboxes(100, now);
    await insertRows(db.manager, SandboxEntity, ours);
    await db.createQueryBuilder().insert().into(SandboxEntity).values(theirs).updateEntity(false).execute();
    const stored = async (ids: string[]) => (await db.manager.findBy(SandboxEntity, { id: In(ids) })).sort((a, b) => ids.indexOf(a.id) - ids.indexOf(b.id));
    const [mine, reference] = [await stored(ours.map((s) => s.id)), await stored(theirs.map((s) => s.id))];
    expect(mine).toHaveLength(100);
    expect(mine.map(({ id: _, ...row }) => row)).toEqual(reference.map(({ id: _, ...row }) => row));
    expect(mine[0]).toMatchObject({ liveMove: true, health: 'unknown', savedBytes: 2 ** 40, placedAt: now, command: null, env: { N: '0', EMPTY: '' } });
    expect(mine[1]).toMatchObject({ liveMove: false, health: 'healthy', network: false, command: ['sh', '-c', `echo "1" 'quoted'`] });
  });
});
