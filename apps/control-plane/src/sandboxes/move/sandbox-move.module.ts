import { Module } from '@nestjs/common';
import { AgentChannelModule } from '../../fleet/agent-channel.module';
import { DesiredStateModule } from '../../fleet/desired-state.module';
import { SchedulerModule } from '../../scheduler/scheduler.module';
import { SandboxAnnouncerModule } from '../announce/sandbox-announcer.module';
import { SandboxModelModule } from '../model/sandbox-model.module';
import { SandboxMover } from './sandbox.mover';

/** Waking a hibernated sandbox on another node: its saved state moves there from node to node. */
@Module({
  imports: [SandboxModelModule, SandboxAnnouncerModule, SchedulerModule, AgentChannelModule, DesiredStateModule],
  providers: [SandboxMover],
  exports: [SandboxMover],
})
export class SandboxMoveModule {}
