import { describe, expect, it } from '@jest/globals';
import { loadAgentConfig } from './agent.config';

const base = { MOAT_DATA_DIR: '/tmp/moat-config-test', MOAT_NODE_TOKEN: 'node-token' };

describe('loadAgentConfig: what the node offers', () => {
  it('oversubscribes CPUs 16x and keeps 1 GiB for the host by default', () => {
    expect(loadAgentConfig(base)).toMatchObject({ cpuOvercommit: 16, memoryReserveMiB: 1024 });
  });

  it('takes both from the environment, and refuses a factor of zero or no number', () => {
    expect(loadAgentConfig({ ...base, MOAT_NODE_CPU_OVERCOMMIT: '2.5', MOAT_NODE_MEMORY_RESERVE_MIB: '0' })).toMatchObject({
      cpuOvercommit: 2.5,
      memoryReserveMiB: 0,
    });
    expect(() => loadAgentConfig({ ...base, MOAT_NODE_CPU_OVERCOMMIT: '0' })).toThrow(/MOAT_NODE_CPU_OVERCOMMIT/);
    expect(() => loadAgentConfig({ ...base, MOAT_NODE_MEMORY_RESERVE_MIB: 'lots' })).toThrow(/MOAT_NODE_MEMORY_RESERVE_MIB/);
  });
});
