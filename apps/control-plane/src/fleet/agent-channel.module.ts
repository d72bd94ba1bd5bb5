import { Module } from '@nestjs/common';
import { AgentChannel } from './agent.channel';
import { AttachChannel } from './attach.channel';

/** Sending to node agents (commands, desired state, attach streams); the agent gateway takes them in. */
@Module({ providers: [AgentChannel, AttachChannel], exports: [AgentChannel, AttachChannel] })
export class AgentChannelModule {}
