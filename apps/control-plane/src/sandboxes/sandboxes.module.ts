import { Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { AuthModule } from '../auth/auth.module';
import { DashboardModule } from '../dashboard/dashboard.module';
import { AgentChannelModule } from '../fleet/agent-channel.module';
import { NodesModule } from '../nodes/nodes.module';
import { SchedulerModule } from '../scheduler/scheduler.module';
import { TenantsModule } from '../tenants/tenants.module';
import { AttachGateway } from './attach.gateway';
import { RestartScheduler } from './restart.scheduler';
import { SandboxEntity } from './model/sandbox.entity';
import { SandboxModelModule } from './model/sandbox-model.module';
import { SandboxesController } from './sandboxes.controller';
import { SandboxesService } from './sandboxes.service';

@Module({
  imports: [
    TypeOrmModule.forFeature([SandboxEntity]),
    SandboxModelModule,
    AuthModule,
    TenantsModule,
    NodesModule,
    SchedulerModule,
    AgentChannelModule,
    DashboardModule,
  ],
  controllers: [SandboxesController],
  providers: [SandboxesService, RestartScheduler, AttachGateway],
  exports: [SandboxesService],
})
export class SandboxesModule {}
