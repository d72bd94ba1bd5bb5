import { Injectable } from '@nestjs/common';
import { DataSource, EntityManager } from 'typeorm';
import { SerialQueue } from '../common/serial-queue';

/**
 * The one way to run a transaction. Transactions run one at a time in this process:
 * TypeORM's SQLite driver has a single connection, so concurrent transactions would nest
 * into each other, and quota checks and placement must not interleave anyway (they read
 * allocations, then write them).
 */
@Injectable()
export class Transactions {
  private readonly queue = new SerialQueue();

  constructor(private readonly dataSource: DataSource) {}

  run<T>(work: (manager: EntityManager) => Promise<T>): Promise<T> {
    return this.queue.run(() => this.dataSource.transaction(work));
  }
}
