import { Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { AuthModule } from '../auth/auth.module';
import { AgentChannelModule } from '../fleet/agent-channel.module';
import { DesiredStateModule } from '../fleet/desired-state.module';
import { NodesModule } from '../nodes/nodes.module';
import { SchedulerModule } from '../scheduler/scheduler.module';
import { TenantsModule } from '../tenants/tenants.module';
import { SandboxAnnouncerModule } from './announce/sandbox-announcer.module';
import { AttachGateway } from './attach.gateway';
import { SandboxModelModule } from './model/sandbox-model.module';
import { SandboxEntity } from './model/sandbox.entity';
import { SandboxMoveModule } from './move/sandbox-move.module';
import { RestartScheduler } from './restart.scheduler';
import { SandboxLookup } from './sandbox-lookup';
import { SandboxMovesService } from './sandbox-moves.service';
import { SandboxesController } from './sandboxes.controller';
import { SandboxesService } from './sandboxes.service';

@Module({
  imports: [
    TypeOrmModule.forFeature([SandboxEntity]),
    SandboxModelModule,
    SandboxAnnouncerModule,
    AuthModule,
    TenantsModule,
    NodesModule,
    SchedulerModule,
    AgentChannelModule,
    DesiredStateModule,
    SandboxMoveModule,
  ],
  controllers: [SandboxesController],
  providers: [SandboxesService, SandboxLookup, SandboxMovesService, RestartScheduler, AttachGateway],
  exports: [SandboxesService, SandboxLookup],
})
export class SandboxesModule {}
