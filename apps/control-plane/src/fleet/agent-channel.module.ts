import { Module } from '@nestjs/common';
import { AgentChannel } from './agent.channel';
import { AttachChannel } from './attach.channel';

/** Kept apart from the gateway so that services can send to agents without a cycle. */
@Module({ providers: [AgentChannel, AttachChannel], exports: [AgentChannel, AttachChannel] })
export class AgentChannelModule {}
