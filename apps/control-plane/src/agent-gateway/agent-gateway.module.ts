import { Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { AuthModule } from '../auth/auth.module';
import { AgentChannelModule } from '../fleet/agent-channel.module';
import { DesiredStateModule } from '../fleet/desired-state.module';
import { NodesModule } from '../nodes/nodes.module';
import { SandboxAnnouncerModule } from '../sandboxes/announce/sandbox-announcer.module';
import { SandboxModelModule } from '../sandboxes/model/sandbox-model.module';
import { SandboxEntity } from '../sandboxes/model/sandbox.entity';
import { SchedulerModule } from '../scheduler/scheduler.module';
import { AgentAuthenticator } from './agent-auth.service';
import { AgentsGateway } from './agents.gateway';
import { SandboxReports } from './sandbox-reports.service';
import { SandboxMoveModule } from '../sandboxes/move/sandbox-move.module';

/** Where node agents connect, authenticate and report; commands to them go through the fleet channel. */
@Module({
  imports: [
    TypeOrmModule.forFeature([SandboxEntity]),
    AuthModule,
    AgentChannelModule,
    DesiredStateModule,
    NodesModule,
    SchedulerModule,
    SandboxModelModule,
    SandboxAnnouncerModule,
    SandboxMoveModule,
  ],
  providers: [AgentAuthenticator, AgentsGateway, SandboxReports],
})
export class AgentGatewayModule {}
