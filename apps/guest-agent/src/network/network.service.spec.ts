import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from '@jest/globals';
import { AgentErrorCode } from '../errors/agent.error';
import type { CommandResult, HostCommands } from '../host/host-commands.adapter';
import { NetworkService } from './network.service';

/** Records the `ip` commands of the scripts the service runs, one line each, unquoted. */
class FakeIp implements Pick<HostCommands, 'run'> {
  calls: string[] = [];
  run(command: string, args: readonly string[]): Promise<CommandResult> {
    expect([command, args[0]]).toEqual(['sh', '-c']);
    const [setE, ...lines] = (args[1] ?? '').split('\n');
    expect(setE).toBe('set -e');
    this.calls.push(...lines.map((line) => line.replace(/'/g, '')));
    return Promise.resolve({ exitCode: 0, stdout: '', stderr: '' });
  }
}

// /proc/net/route: little-endian hex; a default route via 10.88.3.1 and the connected /24.
const PROC_ROUTE = `Iface\tDestination\tGateway \tFlags\tRefCnt\tUse\tMetric\tMask\t\tMTU\tWindow\tIRTT
eth0\t00000000\t0103580A\t0003\t0\t0\t0\t00000000\t0\t0\t0
eth0\t0003580A\t00000000\t0001\t0\t0\t0\t00FFFFFF\t0\t0\t0
`;

describe('NetworkService', () => {
  let dir: string;
  let ip: FakeIp;
  let service: NetworkService;

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'guest-net-'));
    for (const [name, mac] of [['lo', '00:00:00:00:00:00'], ['enp0s3', 'aa:bb:cc:dd:ee:ff']]) {
      await mkdir(join(dir, 'net', name), { recursive: true });
      await writeFile(join(dir, 'net', name, 'address'), `${mac}\n`);
      await writeFile(join(dir, 'net', name, 'mtu'), '1500\n');
    }
    await writeFile(join(dir, 'route'), PROC_ROUTE);
    ip = new FakeIp();
    service = new NetworkService(ip, { sysClassNet: join(dir, 'net'), procNetRoute: join(dir, 'route') }, 300);
  });
  afterEach(() => rm(dir, { recursive: true, force: true }));

  it('finds the NIC by MAC, renames it and replaces its addresses', async () => {
    await service
      .updateInterface({ device: '', name: 'eth0', hwAddr: 'AA:BB:CC:DD:EE:FF', mtu: 0, ipAddresses: [{ family: '4', address: '10.88.3.7', mask: '24' }] })
      .catch(() => undefined); // the fake cannot rename the sysfs entry, so the read-back misses eth0
    expect(ip.calls).toEqual([
      'ip link set dev enp0s3 down',
      'ip link set dev enp0s3 name eth0',
      'ip addr flush dev eth0',
      'ip addr add 10.88.3.7/24 dev eth0',
      'ip link set dev eth0 up',
    ]);
  });

  it('waits for a NIC that is hot-plugged after the request arrives (a VM restored from a boot snapshot)', async () => {
    const update = service.updateInterface({ device: '', name: 'eth1', hwAddr: '02:11:22:33:44:55', mtu: 0, ipAddresses: [] }).catch(() => undefined);
    await new Promise((resolve) => setTimeout(resolve, 100));
    await mkdir(join(dir, 'net', 'eth1'), { recursive: true });
    await writeFile(join(dir, 'net', 'eth1', 'address'), '02:11:22:33:44:55\n');
    await writeFile(join(dir, 'net', 'eth1', 'mtu'), '1500\n');
    await update;
    expect(ip.calls).toEqual(['ip addr flush dev eth1', 'ip link set dev eth1 up']);
  });

  it("gives a forked VM's NIC, found by name, the clone's own MAC", async () => {
    await service
      .updateInterface({ device: 'enp0s3', name: 'eth0', hwAddr: '02:00:00:00:00:07', mtu: 0, ipAddresses: [{ family: '4', address: '10.88.3.8', mask: '24' }] })
      .catch(() => undefined); // the fake changes no sysfs entry, so the read-back misses eth0
    expect(ip.calls).toEqual([
      'ip link set dev enp0s3 down',
      'ip link set dev enp0s3 address 02:00:00:00:00:07',
      'ip link set dev enp0s3 down',
      'ip link set dev enp0s3 name eth0',
      'ip addr flush dev eth0',
      'ip addr add 10.88.3.8/24 dev eth0',
      'ip link set dev eth0 up',
    ]);
    // No NIC has the MAC, nor the name: nothing is touched.
    ip.calls = [];
    await expect(service.updateInterface({ device: 'eth9', name: 'eth0', hwAddr: '02:00:00:00:00:07', mtu: 0, ipAddresses: [] })).rejects.toMatchObject({
      code: AgentErrorCode.INVALID_ARGUMENT,
    });
    expect(ip.calls).toEqual([]);
  });

  it('refuses an unknown MAC and malformed input before touching anything', async () => {
    const iface = { device: '', name: 'eth0', mtu: 0, ipAddresses: [] };
    await expect(service.updateInterface({ ...iface, hwAddr: '02:00:00:00:00:01' })).rejects.toMatchObject({ code: AgentErrorCode.INVALID_ARGUMENT });
    await expect(service.updateInterface({ ...iface, hwAddr: 'aa:bb:cc:dd:ee:ff', name: 'eth0; reboot' })).rejects.toMatchObject({ code: AgentErrorCode.INVALID_ARGUMENT });
    await expect(
      service.updateInterface({ ...iface, hwAddr: 'aa:bb:cc:dd:ee:ff', ipAddresses: [{ family: '4', address: '10.0.0.300', mask: '24' }] }),
    ).rejects.toMatchObject({ code: AgentErrorCode.INVALID_ARGUMENT });
    expect(ip.calls).toEqual([]);
  });

  it('replaces routes with on-link routes first, so the gateway is reachable when the default route is added', async () => {
    await service.updateRoutes([
      { dest: 'default', gateway: '10.88.3.1', device: 'eth0', source: '' },
      { dest: '10.88.3.0/24', gateway: '', device: 'eth0', source: '10.88.3.7' },
    ]);
    expect(ip.calls).toEqual([
      'ip route flush dev eth0',
      'ip route replace 10.88.3.0/24 dev eth0 src 10.88.3.7',
      'ip route replace default via 10.88.3.1 dev eth0',
    ]);
  });

  it('lists routes from /proc/net/route', async () => {
    expect(await service.listRoutes()).toEqual([
      { device: 'eth0', dest: 'default', gateway: '10.88.3.1', source: '' },
      { device: 'eth0', dest: '10.88.3.0/24', gateway: '', source: '' },
    ]);
  });
});
