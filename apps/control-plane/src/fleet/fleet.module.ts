import { Module } from '@nestjs/common';
import { AuthModule } from '../auth/auth.module';
import { NodesModule } from '../nodes/nodes.module';
import { SandboxesModule } from '../sandboxes/sandboxes.module';
import { AgentAuthenticator } from './agent-auth.service';
import { AgentChannelModule } from './agent-channel.module';
import { AgentsGateway } from './agents.gateway';

@Module({
  imports: [AuthModule, AgentChannelModule, NodesModule, SandboxesModule],
  providers: [AgentAuthenticator, AgentsGateway],
})
export class FleetModule {}
