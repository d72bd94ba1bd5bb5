import { Module } from '@nestjs/common';
import { AuthModule } from '../auth/auth.module';
import { UiChannel } from './ui.channel';
import { UiGateway } from './ui.gateway';

@Module({
  imports: [AuthModule],
  providers: [UiChannel, UiGateway],
  exports: [UiChannel],
})
export class DashboardModule {}
