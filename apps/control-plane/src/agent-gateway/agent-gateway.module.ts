import { Module } from '@nestjs/common';
import { AuthModule } from '../auth/auth.module';
import { NodesModule } from '../nodes/nodes.module';
import { SandboxesModule } from '../sandboxes/sandboxes.module';
import { AgentAuthenticator } from './agent-auth.service';
import { AgentChannelModule } from '../fleet/agent-channel.module';
import { AgentsGateway } from './agents.gateway';

/** Where node agents connect, authenticate and report; commands to them go through the fleet channel. */
@Module({
  imports: [AuthModule, AgentChannelModule, NodesModule, SandboxesModule],
  providers: [AgentAuthenticator, AgentsGateway],
})
export class AgentGatewayModule {}
