import { Module } from '@nestjs/common';
import { AgentChannel } from './agent.channel';

/** Kept apart from the gateway so that services can send to agents without a cycle. */
@Module({ providers: [AgentChannel], exports: [AgentChannel] })
export class AgentChannelModule {}
