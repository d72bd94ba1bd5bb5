import { Module } from '@nestjs/common';
import { APP_GUARD } from '@nestjs/core';
import { TypeOrmModule } from '@nestjs/typeorm';
import { ApiKeyEntity } from './api-key.entity';
import { ApiKeys } from './api-keys.repository';
import { AuthGuard } from './auth.guard';
import { AuthService } from './auth.service';

@Module({
  imports: [TypeOrmModule.forFeature([ApiKeyEntity])],
  providers: [AuthService, ApiKeys, { provide: APP_GUARD, useClass: AuthGuard }],
  exports: [AuthService, ApiKeys],
})
export class AuthModule {}
