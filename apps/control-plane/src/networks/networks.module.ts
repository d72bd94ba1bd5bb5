import { Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { TenantNetworkEntity } from './model/tenant-network.entity';
import { TenantAddresses } from './tenant-addresses';
import { TenantNetworksRepository } from './tenant-networks.repository';

/** Tenant networks planned for the whole fleet: their rows, and each new sandbox's address on them. */
@Module({
  imports: [TypeOrmModule.forFeature([TenantNetworkEntity])],
  providers: [TenantNetworksRepository, TenantAddresses],
  exports: [TenantNetworksRepository, TenantAddresses],
})
export class NetworksModule {}
