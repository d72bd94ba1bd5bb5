import type { SandboxEntity } from '../sandboxes/model/sandbox.entity';
import type { DeploymentCounts } from './dto/deployment.dto';

type CountedRow = Pick<SandboxEntity, 'state' | 'health'>;

/** The counts a deployment shows, over its sandboxes meant to run. */
export function countReplicas(rows: readonly CountedRow[], desired: number): DeploymentCounts {
  let running = 0;
  let healthy = 0;
  let unhealthy = 0;
  for (const row of rows) {
    if (row.state === 'running') running += 1;
    if (row.state === 'running' && row.health === 'healthy') healthy += 1;
    if (row.health === 'unhealthy' || row.state === 'failed') unhealthy += 1;
  }
  return { desired, running, healthy, unhealthy };
}
