import type { INestApplication } from '@nestjs/common';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import request from 'supertest';
import { DataSource } from 'typeorm';
import { createApp } from '../../../src/app.factory';
import { loadConfig } from '../../../src/config/app-config';

export type DatabaseKind = 'sqlite' | 'postgres';

const PG_URL = process.env.TEST_DATABASE_URL;

/** The databases to run each suite against; PostgreSQL only when TEST_DATABASE_URL is set. */
export const DATABASES: { kind: DatabaseKind; label: string; skip: boolean }[] = [
  { kind: 'sqlite', label: 'SQLite', skip: false },
  {
    kind: 'postgres',
    label: PG_URL ? 'PostgreSQL' : 'PostgreSQL (skipped: set TEST_DATABASE_URL to run)',
    skip: !PG_URL,
  },
];

export interface TestApp {
  app: INestApplication;
  baseUrl: string;
  adminToken: string;
  /** The configuration it was started with, for replicas sharing its data. */
  env: Record<string, string>;
  /** A supertest client of the running app (its current port, also after `restart`). */
  api(): ReturnType<typeof request>;
  /** The operator's Authorization header, for `.set(t.admin())`. */
  admin(): Record<string, string>;
  /** Stops the application gracefully and starts it again on the same data (a new port). */
  restart(): Promise<void>;
  close(): Promise<void>;
}

async function onServer(url: string, sql: string): Promise<void> {
  const server = await new DataSource({ type: 'postgres', url }).initialize();
  try {
    await server.query(sql);
  } finally {
    await server.destroy();
  }
}

/** A throw-away PostgreSQL database on the TEST_DATABASE_URL server, dropped by `drop`. */
async function createPgDatabase(): Promise<{ url: string; drop: () => Promise<void> }> {
  if (!PG_URL) throw new Error('TEST_DATABASE_URL is not set');
  const name = `moat_it_${randomBytes(6).toString('hex')}`;
  await onServer(PG_URL, `CREATE DATABASE ${name}`);
  const url = new URL(PG_URL);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    drop: () => onServer(PG_URL, `DROP DATABASE IF EXISTS ${name} WITH (FORCE)`),
  };
}

/**
 * Starts the real application on an ephemeral port with its own data directory and database;
 * `env` adds or overrides configuration (e.g. short heartbeat timeouts, a short reconcile interval).
 */
export async function startApp(kind: DatabaseKind, env: Record<string, string> = {}): Promise<TestApp> {
  const dataDir = mkdtempSync(join(tmpdir(), 'moat-cp-it-'));
  const pg = kind === 'postgres' ? await createPgDatabase() : undefined;
  const adminToken = randomBytes(24).toString('base64url');
  const fullEnv: Record<string, string> = {
    MOAT_DATA_DIR: dataDir,
    MOAT_ADMIN_TOKEN: adminToken,
    MOAT_LOG_LEVEL: 'silent',
    ...(pg ? { DATABASE_URL: pg.url } : {}),
    ...env,
  };
  const config = loadConfig(fullEnv);
  const listen = (): Promise<{ app: INestApplication; baseUrl: string }> => listenOn(config);
  const testApp: TestApp = {
    ...(await listen()),
    adminToken,
    env: fullEnv,
    api: () => request(testApp.baseUrl),
    admin: () => ({ Authorization: `Bearer ${adminToken}` }),
    restart: async () => {
      await testApp.app.close();
      Object.assign(testApp, await listen());
    },
    close: async () => {
      await testApp.app.close();
      await pg?.drop();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
  return testApp;
}

async function listenOn(config: ReturnType<typeof loadConfig>): Promise<{ app: INestApplication; baseUrl: string }> {
  const app = await createApp(config);
  await app.listen(0, '127.0.0.1');
  const { port } = app.getHttpServer().address() as AddressInfo;
  return { app, baseUrl: `${config.tls ? 'https' : 'http'}://127.0.0.1:${port}` };
}

/** Another control-plane process (in this test process) on the same database as `first`. */
export async function startReplica(first: TestApp, env: Record<string, string> = {}): Promise<TestApp> {
  const replicaEnv = { ...first.env, ...env };
  const replica: TestApp = {
    ...(await listenOn(loadConfig(replicaEnv))),
    adminToken: first.adminToken,
    env: replicaEnv,
    api: () => request(replica.baseUrl),
    admin: () => first.admin(),
    restart: () => Promise.reject(new Error('replicas are not restarted')),
    close: async () => {
      await replica.app.close();
    },
  };
  return replica;
}

/** A response body with the type the test expects (supertest types it `any`). */
export function bodyOf<T>(res: { body: unknown }): T {
  return res.body as T;
}
