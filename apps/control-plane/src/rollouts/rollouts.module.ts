import { Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { DashboardModule } from '../dashboard/dashboard.module';
import { DeploymentsModule } from '../deployments/deployments.module';
import { TemplatesModule } from '../templates/templates.module';
import { RolloutEntity } from './rollout.entity';
import { RolloutsController } from './rollouts.controller';
import { RolloutsService } from './rollouts.service';

@Module({
  imports: [TypeOrmModule.forFeature([RolloutEntity]), DeploymentsModule, TemplatesModule, DashboardModule],
  controllers: [RolloutsController],
  providers: [RolloutsService],
})
export class RolloutsModule {}
