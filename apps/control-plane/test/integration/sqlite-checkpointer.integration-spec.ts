import { statSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { eventually } from '@moat/test-support';
import { DataSource } from 'typeorm';
import { AppConfig } from '../../src/config/app-config';
import { WAL_BACKSTOP_PAGES } from '../../src/database/sqlite-checkpointer';
import { startApp, type TestApp } from './support/harness';

/** 1,000 rows of 4 KiB: past SQLite's default of 1,000 WAL pages, far below the backstop. */
const ROWS = 1_000;
const ROW_BYTES = 4_096;

describe('SQLite checkpoints off the event loop', () => {
  let app: TestApp;
  let db: DataSource;
  let path: string;

  beforeAll(async () => {
    app = await startApp('sqlite');
    db = app.app.get(DataSource);
    const { database } = app.app.get(AppConfig);
    if (database.kind !== 'sqlite') throw new Error('a SQLite app was asked for');
    path = database.path;
  });
  afterAll(async () => {
    await app?.close();
  });

  it("leaves checkpoints to its own thread: the app's connection would only checkpoint past the backstop, yet the writes reach the database file", async () => {
    expect(await db.query(`PRAGMA wal_autocheckpoint`)).toEqual([{ wal_autocheckpoint: WAL_BACKSTOP_PAGES }]);
    await db.query(`CREATE TABLE "probe" ("id" integer PRIMARY KEY, "data" blob NOT NULL)`);
    const before = statSync(path).size;
    await db.transaction(async (manager) => {
      for (let id = 0; id < ROWS; id++) await manager.query(`INSERT INTO "probe" ("id", "data") VALUES (?, randomblob(?))`, [id, ROW_BYTES]);
    });
    // Far below the backstop: only the checkpointer's thread copies them into the file.
    await eventually(() => expect(statSync(path).size - before).toBeGreaterThan(ROWS * ROW_BYTES), { timeout: 5_000, interval: 50 });
  });
});
