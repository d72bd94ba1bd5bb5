import { Module } from '@nestjs/common';
import { AgentChannelModule } from '../../fleet/agent-channel.module';
import { DesiredStateModule } from '../../fleet/desired-state.module';
import { NodesModule } from '../../nodes/nodes.module';
import { SchedulerModule } from '../../scheduler/scheduler.module';
import { SandboxAnnouncerModule } from '../announce/sandbox-announcer.module';
import { SandboxModelModule } from '../model/sandbox-model.module';
import { AbandonedMoves } from './abandoned-moves';
import { DrainByMigration } from './drain-by-migration';
import { MoveRunner } from './move-runner';
import { SandboxMigrator } from './sandbox-migrator';
import { SandboxMover } from './sandbox.mover';

/**
 * Moving sandboxes between nodes, node to node (MoveRunner): a hibernated one woken on another
 * node (its saved state moves there), a running one live-migrated, drain by migration, and
 * settling moves whose runner died (AbandonedMoves).
 */
@Module({
  imports: [SandboxModelModule, SandboxAnnouncerModule, SchedulerModule, AgentChannelModule, DesiredStateModule, NodesModule],
  providers: [MoveRunner, SandboxMover, SandboxMigrator, DrainByMigration, AbandonedMoves],
  exports: [SandboxMover, SandboxMigrator, AbandonedMoves],
})
export class SandboxMoveModule {}
