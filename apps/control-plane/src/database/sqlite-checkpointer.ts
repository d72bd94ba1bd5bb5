import { Injectable, Logger, type OnApplicationBootstrap, type OnApplicationShutdown } from '@nestjs/common';
import { createRequire } from 'node:module';
import { Worker } from 'node:worker_threads';
import { AppConfig } from '../config/app-config';

/** How often the checkpointer copies what the WAL holds into the database file. */
export const CHECKPOINT_INTERVAL_MS = 250;

/**
 * How many WAL pages the control plane's own connection lets pile up before it checkpoints by
 * itself (SQLite's default is 1,000): a backstop for a checkpointer that fell behind.
 */
export const WAL_BACKSTOP_PAGES = 16_000;

/**
 * The checkpointer's thread: a connection of its own that runs PASSIVE checkpoints (they never
 * wait for, or block, the writer) until told to stop. A script rather than a file, so that it
 * runs the same from the build and from the TypeScript sources under Jest.
 */
const CHECKPOINT_THREAD = `
const { parentPort, workerData } = require('node:worker_threads');
const Database = require(workerData.driver);
const db = new Database(workerData.path, { fileMustExist: true });
const timer = setInterval(() => {
  try {
    db.pragma('wal_checkpoint(PASSIVE)');
  } catch (error) {
    parentPort.postMessage(String(error));
  }
}, workerData.intervalMs);
parentPort.on('message', () => {
  clearInterval(timer);
  db.close();
  parentPort.close();
});
`;

/**
 * SQLite's WAL checkpoints off the event loop. By default the connection that commits copies the
 * WAL into the database file and syncs it whenever the WAL passes 1,000 pages: with
 * better-sqlite3 that connection is the event loop's, and under a stream of writes (a fleet
 * reporting, a backlog being placed) each such commit stalled every request for 20–40 ms. Here
 * a worker thread with a connection of its own checkpoints every {@link CHECKPOINT_INTERVAL_MS};
 * the event loop's connection only does when the WAL outgrows {@link WAL_BACKSTOP_PAGES}.
 */
@Injectable()
export class SqliteCheckpointer implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger(SqliteCheckpointer.name);
  private worker: Worker | undefined;

  constructor(private readonly config: AppConfig) {}

  /** Once the database is open (in WAL mode) and migrated: from then on its checkpoints run here. */
  onApplicationBootstrap(): void {
    const { database } = this.config;
    if (database.kind !== 'sqlite') return;
    const worker = new Worker(CHECKPOINT_THREAD, {
      eval: true,
      workerData: { path: database.path, driver: createRequire(__filename).resolve('better-sqlite3'), intervalMs: CHECKPOINT_INTERVAL_MS },
    });
    worker.on('message', (error: string) => this.logger.warn({ error }, 'a WAL checkpoint failed; the next one tries again'));
    worker.on('error', (err: Error) => this.logger.error({ err }, 'the WAL checkpointer stopped; the database connection checkpoints by itself'));
    worker.on('exit', () => {
      if (this.worker === worker) this.worker = undefined;
    });
    worker.unref();
    this.worker = worker;
  }

  /** Stops the thread, its connection closed. */
  async onApplicationShutdown(): Promise<void> {
    const worker = this.worker;
    if (!worker) return;
    const exited = new Promise((resolve) => worker.once('exit', resolve));
    worker.postMessage('stop');
    await exited;
  }
}
