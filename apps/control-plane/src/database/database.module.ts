import { Global, Module } from '@nestjs/common';
import { TypeOrmModule, TypeOrmModuleOptions } from '@nestjs/typeorm';
import { AppConfig } from '../config/app-config';
import { Initial1732000000000 } from './migrations/1732000000000-initial';
import { Fleet1732000001000 } from './migrations/1732000001000-fleet';
import { SandboxImage1732000002000 } from './migrations/1732000002000-sandbox-image';
import { SandboxNetwork1732000003000 } from './migrations/1732000003000-sandbox-network';
import { Deployments1732000004000 } from './migrations/1732000004000-deployments';
import { SandboxTransport1732000005000 } from './migrations/1732000005000-sandbox-transport';
import { SandboxFences1732000006000 } from './migrations/1732000006000-sandbox-fences';
import { SandboxLifecycle1732000007000 } from './migrations/1732000007000-sandbox-lifecycle';
import { SandboxPendingReason1732000008000 } from './migrations/1732000008000-sandbox-pending-reason';
import { NodeSizing1732000009000 } from './migrations/1732000009000-node-sizing';
import { TenantNetworks1732000010000 } from './migrations/1732000010000-tenant-networks';
import { NodeContainerd1732000011000 } from './migrations/1732000011000-node-containerd';
import { SandboxHibernation1732000012000 } from './migrations/1732000012000-sandbox-hibernation';
import { SandboxIdleTimeout1732000013000 } from './migrations/1732000013000-sandbox-idle-timeout';
import { SandboxFork1732000014000 } from './migrations/1732000014000-sandbox-fork';
import { SandboxMove1732000015000 } from './migrations/1732000015000-sandbox-move';
import { SandboxLiveMove1732000016000 } from './migrations/1732000016000-sandbox-live-move';
import { SandboxMovingToIndex1732000017000 } from './migrations/1732000017000-sandbox-moving-to-index';
import { SqliteCheckpointer, WAL_BACKSTOP_PAGES } from './sqlite-checkpointer';
import { Transactions } from './transactions.service';

/** Every migration, oldest first; they run at start on SQLite and PostgreSQL alike. */
const MIGRATIONS = [
  Initial1732000000000,
  Fleet1732000001000,
  SandboxImage1732000002000,
  SandboxNetwork1732000003000,
  Deployments1732000004000,
  SandboxTransport1732000005000,
  SandboxFences1732000006000,
  SandboxLifecycle1732000007000,
  SandboxPendingReason1732000008000,
  NodeSizing1732000009000,
  TenantNetworks1732000010000,
  NodeContainerd1732000011000,
  SandboxHibernation1732000012000,
  SandboxIdleTimeout1732000013000,
  SandboxFork1732000014000,
  SandboxMove1732000015000,
  SandboxLiveMove1732000016000,
  SandboxMovingToIndex1732000017000,
];

function typeOrmOptions(config: AppConfig): TypeOrmModuleOptions {
  const common = {
    autoLoadEntities: true,
    synchronize: false,
    migrations: MIGRATIONS,
    migrationsRun: true,
    // Start-up fails fast instead of retrying a database that is not there.
    retryAttempts: 0,
  } as const;
  switch (config.database.kind) {
    case 'postgres':
      return { type: 'postgres', url: config.database.url.reveal(), ...common };
    case 'sqlite':
      return {
        type: 'better-sqlite3',
        database: config.database.path,
        // WAL lets readers (another process inspecting the file) run beside the writer.
        // synchronous=NORMAL is WAL's usual partner: commits survive a crash of the process
        // and skip the fsync each (which, on a busy disk, stalled status handling for seconds
        // because better-sqlite3 waits synchronously); only a power loss can drop the last ones.
        // Checkpoints run on a thread of their own (see SqliteCheckpointer).
        prepareDatabase: (db: { pragma(sql: string): unknown }) => {
          db.pragma('journal_mode = WAL');
          db.pragma('synchronous = NORMAL');
          db.pragma(`wal_autocheckpoint = ${WAL_BACKSTOP_PAGES}`);
        },
        ...common,
      };
  }
}

@Global()
@Module({
  imports: [TypeOrmModule.forRootAsync({ inject: [AppConfig], useFactory: typeOrmOptions })],
  providers: [Transactions, SqliteCheckpointer],
  exports: [Transactions],
})
export class DatabaseModule {}
