import { Module } from '@nestjs/common';
import { AgentChannelModule } from '../../fleet/agent-channel.module';
import { NodesModule } from '../../nodes/nodes.module';
import { SandboxesModule } from '../sandboxes.module';
import { SandboxLogsController } from './sandbox-logs.controller';
import { SandboxLogsService } from './sandbox-logs.service';

/** `/v1/sandboxes/:id/logs`: the main process's output, kept by each sandbox's node. */
@Module({
  imports: [SandboxesModule, NodesModule, AgentChannelModule],
  controllers: [SandboxLogsController],
  providers: [SandboxLogsService],
})
export class SandboxLogsModule {}
