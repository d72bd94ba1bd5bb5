import { Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { DashboardModule } from '../dashboard/dashboard.module';
import { SandboxAnnouncerModule } from '../sandboxes/announce/sandbox-announcer.module';
import { SandboxModelModule } from '../sandboxes/model/sandbox-model.module';
import { SchedulerModule } from '../scheduler/scheduler.module';
import { JoinTokenEntity } from './join-token.entity';
import { NodeJoining } from './node-joining.service';
import { NodeLifecycleHooks } from './node-lifecycle.hooks';
import { NodeEntity } from './node.entity';
import { NodesController } from './nodes.controller';
import { NodesService } from './nodes.service';

@Module({
  imports: [TypeOrmModule.forFeature([NodeEntity, JoinTokenEntity]), DashboardModule, SchedulerModule, SandboxModelModule, SandboxAnnouncerModule],
  controllers: [NodesController],
  providers: [NodesService, NodeJoining, NodeLifecycleHooks],
  exports: [NodesService, NodeJoining, NodeLifecycleHooks],
})
export class NodesModule {}
