import { Module } from '@nestjs/common';
import { AgentChannelModule } from '../../fleet/agent-channel.module';
import { DesiredStateModule } from '../../fleet/desired-state.module';
import { SchedulerModule } from '../../scheduler/scheduler.module';
import { SandboxAnnouncerModule } from '../announce/sandbox-announcer.module';
import { SandboxModelModule } from '../model/sandbox-model.module';
import { MoveRunner } from './move-runner';
import { SandboxMigrator } from './sandbox-migrator';
import { SandboxMover } from './sandbox.mover';

/**
 * Moving sandboxes between nodes, node to node (MoveRunner): a hibernated one woken on another
 * node (its saved state moves there), and a running one live-migrated.
 */
@Module({
  imports: [SandboxModelModule, SandboxAnnouncerModule, SchedulerModule, AgentChannelModule, DesiredStateModule],
  providers: [MoveRunner, SandboxMover, SandboxMigrator],
  exports: [SandboxMover, SandboxMigrator],
})
export class SandboxMoveModule {}
