import { Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { DashboardModule } from '../dashboard/dashboard.module';
import { AgentChannelModule } from '../fleet/agent-channel.module';
import { NodeEntity } from '../nodes/node.entity';
import { RolloutEntity } from '../rollouts/rollout.entity';
import { SandboxEntity } from '../sandboxes/sandbox.entity';
import { SandboxesModule } from '../sandboxes/sandboxes.module';
import { TemplatesModule } from '../templates/templates.module';
import { TenantsModule } from '../tenants/tenants.module';
import { DeploymentEntity } from './deployment.entity';
import { DeploymentReconciler } from './deployment.reconciler';
import { DeploymentsController } from './deployments.controller';
import { DeploymentsService } from './deployments.service';
import { HealthProber } from './health.prober';

@Module({
  imports: [
    TypeOrmModule.forFeature([DeploymentEntity, RolloutEntity, SandboxEntity, NodeEntity]),
    SandboxesModule,
    TemplatesModule,
    TenantsModule,
    AgentChannelModule,
    DashboardModule,
  ],
  controllers: [DeploymentsController],
  providers: [DeploymentsService, DeploymentReconciler, HealthProber],
  exports: [DeploymentsService, DeploymentReconciler],
})
export class DeploymentsModule {}
