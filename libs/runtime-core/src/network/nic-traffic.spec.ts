import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from '@jest/globals';
import type { NetworkState } from './network.types';
import { nicTrafficBytes } from './nic-traffic';

describe('nicTrafficBytes', () => {
  let sys: string;
  beforeEach(() => {
    sys = mkdtempSync(join(tmpdir(), 'nic-traffic-'));
  });
  afterEach(() => rmSync(sys, { recursive: true, force: true }));

  function link(name: string, rx: number, tx: number): void {
    mkdirSync(join(sys, name, 'statistics'), { recursive: true });
    writeFileSync(join(sys, name, 'statistics', 'rx_bytes'), `${rx}\n`);
    writeFileSync(join(sys, name, 'statistics', 'tx_bytes'), `${tx}\n`);
  }

  const plumbed = (bridgePort?: string): NetworkState => ({ model: 'tcfilter', tenantId: 't', ports: [], nic: { mac: '02:00:00:00:00:01', ...(bridgePort && { bridgePort }) } });

  it("sums the bytes received and sent through the sandbox's port on its tenant bridge", async () => {
    link('veth1234', 1_000, 234);
    link('other', 5, 5);
    expect(await nicTrafficBytes(plumbed('veth1234'), sys)).toBe(1_234);
    link('veth1234', 1_000, 300);
    expect(await nicTrafficBytes(plumbed('veth1234'), sys)).toBe(1_300);
  });

  it('says nothing for a sandbox without a bridge port, or whose link is gone', async () => {
    expect(await nicTrafficBytes(undefined, sys)).toBeUndefined();
    expect(await nicTrafficBytes(plumbed(), sys)).toBeUndefined();
    expect(await nicTrafficBytes(plumbed('gone0'), sys)).toBeUndefined();
  });
});
