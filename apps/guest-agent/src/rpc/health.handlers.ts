import { HealthCheckResponse_ServingStatus, protobufPackage, type HealthServer } from '@moat/proto';
import type { Logger } from '../log/logger';
import { unary } from './unary-handler';

/** What the agent says of itself: its version, and the id it drew when its process started. */
export interface AgentIdentity {
  version: string;
  /** Another one than the host saw before means this agent was started again and holds nothing of before. */
  instance: string;
}

export function healthHandlers({ version, instance }: AgentIdentity, log: Logger): HealthServer {
  return {
    check: unary('Health.Check', log, () => ({ status: HealthCheckResponse_ServingStatus.SERVING, instance })),
    // The API's protobuf package names its version, which is what a host needs to check compatibility.
    version: unary('Health.Version', log, () => ({ grpcVersion: protobufPackage, agentVersion: version })),
  };
}
