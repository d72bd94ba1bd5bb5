import { Module } from '@nestjs/common';
import { DesiredStateModule } from '../../fleet/desired-state.module';
import { NetworksModule } from '../../networks/networks.module';
import { SchedulerModule } from '../../scheduler/scheduler.module';
import { TenantsModule } from '../../tenants/tenants.module';
import { SandboxAnnouncerModule } from '../announce/sandbox-announcer.module';
import { SandboxModelModule } from '../model/sandbox-model.module';
import { SandboxesModule } from '../sandboxes.module';
import { SandboxForkController } from './sandbox-fork.controller';
import { SandboxForkService } from './sandbox-fork.service';

/** `POST /v1/sandboxes/:id/fork`: clones of a running sandbox on its node. */
@Module({
  imports: [SandboxesModule, SandboxModelModule, SandboxAnnouncerModule, TenantsModule, SchedulerModule, NetworksModule, DesiredStateModule],
  controllers: [SandboxForkController],
  providers: [SandboxForkService],
})
export class SandboxForkModule {}
