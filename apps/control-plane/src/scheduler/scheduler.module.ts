import { Module } from '@nestjs/common';
import { NetworksModule } from '../networks/networks.module';
import { SandboxModelModule } from '../sandboxes/model/sandbox-model.module';
import { SchedulerService } from './scheduler.service';

@Module({ imports: [SandboxModelModule, NetworksModule], providers: [SchedulerService], exports: [SchedulerService] })
export class SchedulerModule {}
