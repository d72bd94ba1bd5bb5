import { Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { DashboardModule } from '../dashboard/dashboard.module';
import { AuthModule } from '../auth/auth.module';
import { MeController } from './me.controller';
import { TenantEntity } from './model/tenant.entity';
import { TenantsController } from './tenants.controller';
import { TenantsService } from './tenants.service';

@Module({
  imports: [TypeOrmModule.forFeature([TenantEntity]), AuthModule, DashboardModule],
  controllers: [TenantsController, MeController],
  providers: [TenantsService],
  exports: [TenantsService],
})
export class TenantsModule {}
