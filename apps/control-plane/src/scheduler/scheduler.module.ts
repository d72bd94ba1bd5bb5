import { Module } from '@nestjs/common';
import { SandboxModelModule } from '../sandboxes/model/sandbox-model.module';
import { SchedulerService } from './scheduler.service';

@Module({ imports: [SandboxModelModule], providers: [SchedulerService], exports: [SchedulerService] })
export class SchedulerModule {}
