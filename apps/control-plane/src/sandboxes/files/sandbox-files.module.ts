import { Module } from '@nestjs/common';
import { AgentChannelModule } from '../../fleet/agent-channel.module';
import { SandboxesModule } from '../sandboxes.module';
import { FilesController } from './files.controller';
import { SandboxFilesService } from './sandbox-files.service';

/** `/v1/sandboxes/:id/files`: files in sandboxes' containers, through their nodes. */
@Module({
  imports: [SandboxesModule, AgentChannelModule],
  controllers: [FilesController],
  providers: [SandboxFilesService],
})
export class SandboxFilesModule {}
