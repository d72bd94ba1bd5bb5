/** The guest agent gRPC API, generated from `proto/agent.proto` by ts-proto. */
export * from './generated/agent';
