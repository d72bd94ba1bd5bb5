import { Module, OnModuleInit } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { DashboardModule } from '../dashboard/dashboard.module';
import { AgentChannelModule } from '../fleet/agent-channel.module';
import { DesiredStateModule } from '../fleet/desired-state.module';
import { NetworksModule } from '../networks/networks.module';
import { NodeLifecycleHooks } from '../nodes/node-lifecycle.hooks';
import { NodeEntity } from '../nodes/node.entity';
import { NodesModule } from '../nodes/nodes.module';
import { RolloutEntity } from '../rollouts/rollout.entity';
import { SandboxEntity } from '../sandboxes/model/sandbox.entity';
import { SandboxModelModule } from '../sandboxes/model/sandbox-model.module';
import { SandboxAnnouncerModule } from '../sandboxes/announce/sandbox-announcer.module';
import { SchedulerModule } from '../scheduler/scheduler.module';
import { TemplatesModule } from '../templates/templates.module';
import { TenantsModule } from '../tenants/tenants.module';
import { DeploymentEntity } from './model/deployment.entity';
import { DeploymentReconciler } from './deployment.reconciler';
import { DeploymentsController } from './deployments.controller';
import { DeploymentsService } from './deployments.service';
import { HealthProber } from './health.prober';
import { PassPlanner } from './pass.planner';
import { ReplicaRows } from './replica.rows';
import { RolloutsController } from './rollouts.controller';
import { RolloutsService } from './rollouts.service';

@Module({
  imports: [
    TypeOrmModule.forFeature([DeploymentEntity, RolloutEntity, SandboxEntity, NodeEntity]),
    SandboxModelModule,
    SandboxAnnouncerModule,
    DesiredStateModule,
    SchedulerModule,
    NetworksModule,
    NodesModule,
    TemplatesModule,
    TenantsModule,
    AgentChannelModule,
    DashboardModule,
  ],
  controllers: [DeploymentsController, RolloutsController],
  providers: [DeploymentsService, DeploymentReconciler, PassPlanner, ReplicaRows, HealthProber, RolloutsService],
})
export class DeploymentsModule implements OnModuleInit {
  constructor(
    private readonly hooks: NodeLifecycleHooks,
    private readonly deployments: DeploymentsService,
  ) {}

  /** Replicas on a draining or lost node are replaced elsewhere (see DeploymentsService.evacuateNode). */
  onModuleInit(): void {
    this.hooks.register({
      nodeDraining: async (nodeId) => {
        await this.deployments.evacuateNode(nodeId);
      },
      nodeDown: async (nodeId) => {
        await this.deployments.evacuateNode(nodeId);
      },
    });
  }
}
