import { HealthCheckResponse_ServingStatus, protobufPackage, type HealthServer } from '@moat/proto';
import type { Logger } from '../log/logger';
import { unary } from './unary-handler';

export function healthHandlers(agentVersion: string, log: Logger): HealthServer {
  return {
    check: unary('Health.Check', log, () => ({ status: HealthCheckResponse_ServingStatus.SERVING })),
    // The API's protobuf package names its version, which is what a host needs to check compatibility.
    version: unary('Health.Version', log, () => ({ grpcVersion: protobufPackage, agentVersion })),
  };
}
