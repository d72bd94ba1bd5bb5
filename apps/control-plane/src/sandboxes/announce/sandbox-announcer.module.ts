import { Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { DashboardModule } from '../../dashboard/dashboard.module';
import { SandboxEntity } from '../model/sandbox.entity';
import { SandboxAnnouncer } from './sandbox.announcer';

@Module({
  imports: [TypeOrmModule.forFeature([SandboxEntity]), DashboardModule],
  providers: [SandboxAnnouncer],
  exports: [SandboxAnnouncer],
})
export class SandboxAnnouncerModule {}
