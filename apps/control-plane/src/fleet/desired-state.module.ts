import { Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { NetworksModule } from '../networks/networks.module';
import { NodesModule } from '../nodes/nodes.module';
import { SandboxAnnouncerModule } from '../sandboxes/announce/sandbox-announcer.module';
import { SandboxEntity } from '../sandboxes/model/sandbox.entity';
import { SchedulerModule } from '../scheduler/scheduler.module';
import { AgentChannelModule } from './agent-channel.module';
import { DesiredStatePublisher } from './desired-state.publisher';

/** Publishing desired state to node agents, after scheduler commits and whenever a feature changes a node's set. */
@Module({
  imports: [TypeOrmModule.forFeature([SandboxEntity]), AgentChannelModule, SchedulerModule, NodesModule, NetworksModule, SandboxAnnouncerModule],
  providers: [DesiredStatePublisher],
  exports: [DesiredStatePublisher],
})
export class DesiredStateModule {}
