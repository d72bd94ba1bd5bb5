import { afterAll, beforeAll, describe, expect } from '@jest/globals';
import { itIf } from '@moat/test-support';
import { DataSource } from 'typeorm';
import { chunks } from '../../src/common/chunks';
import { rawQuery, updateRowsById, type RawValue } from '../../src/database/raw-query';
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
