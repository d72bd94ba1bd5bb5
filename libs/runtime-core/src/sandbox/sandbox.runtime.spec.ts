import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { PassThrough } from 'node:stream';
import { writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from '@jest/globals';
import { eventually } from '@moat/test-support';
import type { CreateSandboxRequest } from '@moat/proto';
import type { AgentApi } from '../agent/agent.client';
import type { AgentTransport } from '../agent/transport/agent-transport';
import type { AgentExecRequest, OutputStream } from '../agent/agent.types';
import type { GuestFilesApi } from '../agent/guest-files';
import { RuntimeError, RuntimeErrorCode } from '../errors/runtime.errors';
import type { BootSnapshotFiles, Hypervisor, VmConfig } from '../hypervisor/hypervisor';
import type { RootfsRequest } from '../rootfs/sandbox.rootfs';
import type { SharedFs, SharedFsHandle } from '../sharefs/shared-fs';
import { GUEST_OVERHEAD_MIB, type OciSpec } from './model/oci-spec';
import { SandboxRuntime, type RuntimeDeps } from './sandbox.runtime';
import type { RuntimeOptions, SandboxSpec } from './model/sandbox.types';
import type { StartPhase } from './model/timings';
import { vmIdOf } from '../testing/vm-id';

const ID = '0b5e7a4c-1d2f-4a3b-8c9d-0e1f2a3b4c5d';
const spec: SandboxSpec = { id: ID, vcpus: 1, memoryMiB: 256, env: { GREETING: 'hi' } };

/** A host in memory: which VMs, daemons and agent connections are held right now. */
class FakeHost {
  readonly vms = new Set<number>();
  readonly daemons = new Set<number>();
  readonly openAgents = new Set<FakeAgent>();
  /** Sandbox ids holding a network (netns, lease, …). */
  readonly networks = new Set<string>();
  /** Sandboxes holding a rootfs (an image lease and overlay mount, in the real thing). */
  readonly rootfs = new Set<string>();
  /** Rootfses of containers added to a pod, bound under its shared dir (host paths). */
  readonly podRootfs = new Set<string>();
  /** Pods' shared dirs made shared mounts. */
  readonly podShares = new Set<string>();
  /** Sandboxes holding a jail uid and a host cgroup, by id. */
  readonly jails = new Map<string, number>();
  /** Open NIC descriptors the network handed out. */
  readonly nicFds = new Set<number>();
  /** What each VM was started with: its jail uid and NIC descriptor. */
  readonly vmConfigs: VmConfig[] = [];
  readonly calls: string[] = [];
  /** Sandboxes whose stray VMMs the runtime asked to be killed. */
  readonly reaps: string[] = [];
  readonly ociSpecs: OciSpec[] = [];
  readonly sandboxRequests: CreateSandboxRequest[] = [];
  readonly execs: AgentExecRequest[] = [];
  readonly rootfsRequests: RootfsRequest[] = [];
  /** Signals sent to the container's init. */
  readonly initSignals: number[] = [];
  /** What the fake image config makes the container run. */
  imageProcess?: { args: string[]; env: Record<string, string>; cwd: string; user: { uid: number; gid: number } };
  failAt?: StartPhase;
  /** A saved boot snapshot the fake store hands out; `restoreFails` makes its restore fail. */
  snapshot?: BootSnapshotFiles;
  restoreFails: false | 'load' | 'copy' = false;
  /** What the fake cgroup's OOM counter says. */
  oomKills = 0;
  /** The fake guest agent never becomes ready (a boot that hangs). */
  agentNeverReady = false;
  /** The fake guest agent stops answering health checks. */
  guestHung = false;
  /** The instance the fake guest agent answers health checks with (another one: it was started again), and how many it answered. */
  agentInstance = 'instance-1';
  pings = 0;
  /** Rootfs releases begun, and what each waits for before it ends (a slow release). */
  rootfsReleases = 0;
  rootfsReleaseGate: Promise<void> = Promise.resolve();
  /** How the fake VMM ended, as its jail's monitor would say. */
  exitReason: string | undefined = 'was killed by signal 9 (SIGKILL)';
  readonly snapshotCalls: string[] = [];
  /** What each network attach was asked to keep (a woken guest's MAC and address). */
  readonly kept: unknown[] = [];
  /** The fake VMM's save fails (the VM runs on). */
  hibernateFails = false;
  migrateFails = false;
  /** What VMs arriving by live migration received. */
  readonly migrated: string[] = [];
  /** What the container's main process writes, per stream; `mainExited` ends both streams after it. */
  readonly mainOutput: Record<OutputStream, string[]> = { stdout: [], stderr: [] };
  mainExited = false;
  /** Main-process output reads in progress. */
  readonly outputReads = new Set<string>();
  private nextPid = 1000;

  deps(): Partial<RuntimeDeps> {
    const hypervisor: Hypervisor = {
      kind: 'qemu',
      start: async (config: VmConfig) => {
        const saved = config.wakeFrom?.state;
        // A VM arriving live takes its source's whole stream before it runs.
        if (saved && 'live' in saved) this.migrated.push(Buffer.concat(await saved.live.toArray()).toString());
        if (this.failAt === 'vmm') return Promise.reject(new RuntimeError(RuntimeErrorCode.VMM_START_FAILED, 'qemu: bad option'));
        if (config.restoreFrom && this.restoreFails) {
          const context = this.restoreFails === 'copy' ? { snapshotIntact: true } : {};
          return Promise.reject(new RuntimeError(RuntimeErrorCode.SNAPSHOT_FAILED, 'load of migration failed', { context }));
        }
        const pid = this.nextPid++;
        this.vms.add(pid);
        this.vmConfigs.push(config);
        const from = config.restoreFrom?.state ?? (saved && ('state' in saved ? saved.state : 'a live stream'));
        this.calls.push(`vm ${config.sharedFs?.kind ?? 'bare'}${config.network ? ` nic ${config.network.mac}` : ''}${from ? ` from ${from}` : ''}`);
        return pid;
      },
      plug: (vm, devices) => {
        if (!this.vms.has(vm.pid)) return Promise.reject(new RuntimeError(RuntimeErrorCode.VMM_START_FAILED, 'the VM exited'));
        this.calls.push(`plug ${vm.vmId} ${devices.sharedFs.kind}${devices.network ? ` nic ${devices.network.mac}` : ''}`);
        return Promise.resolve();
      },
      saveBootSnapshot: () => Promise.reject(new Error('saved by the real store only')),
      hibernate: async (vm, saved) => {
        if (this.hibernateFails) throw new RuntimeError(RuntimeErrorCode.HIBERNATE_FAILED, 'migration failed');
        this.calls.push(`hibernate ${vm.vmId}${saved.memory ? ' with its RAM beside' : ''}`);
        await writeFile(saved.state, 'saved VM');
        if (saved.memory) await writeFile(saved.memory, 'saved RAM');
      },
      migrateOut: async (vm, sink, ran) => {
        if (this.migrateFails) {
          sink.destroy();
          throw new RuntimeError(RuntimeErrorCode.MIGRATION_FAILED, 'live migration failed: the target went away');
        }
        this.calls.push(`migrate ${vm.vmId}`);
        await new Promise<void>((resolve) => sink.end('live VM', resolve));
        await ran().catch(() => {
          throw new RuntimeError(RuntimeErrorCode.MIGRATION_FAILED, 'the target did not run it');
        });
        return { bytes: 'live VM'.length, downtimeMs: 5, totalMs: 10 };
      },
      capture: async (vm, saved, disk) => {
        this.calls.push(`capture ${vm.vmId}${saved.memory ? ' with its RAM beside' : ''}`);
        await writeFile(saved.state, 'captured VM');
        if (saved.memory) await writeFile(saved.memory, 'captured RAM');
        await writeFile(disk.to, 'disk');
      },
      stop: (pid) => {
        this.vms.delete(pid);
        return Promise.resolve();
      },
      isRunning: (pid) => Promise.resolve(this.vms.has(pid)),
      guestFailure: (pid) => Promise.resolve(this.vms.has(pid) ? undefined : 'the VM exited'),
      memoryOverheadMiB: () => 100,
      reap: (id) => {
        this.reaps.push(id);
        return Promise.resolve();
      },
      exitReason: () => Promise.resolve(this.exitReason),
    };
    const isolation: RuntimeDeps['isolation'] = {
      jailed: true,
      acquire: async (owner, _socketDir, _size, save) => {
        if (this.failAt === 'jail') throw new Error('no uid left');
        const state = { jailed: true, uid: 200_000 + this.jails.size, cgroup: `/moat/${owner}` };
        this.jails.set(owner, state.uid);
        await save(state);
        return state;
      },
      release: (owner) => {
        this.jails.delete(owner);
        return Promise.resolve();
      },
      vmm: (state) => ({ jail: { uid: state.uid ?? 0, gid: state.uid ?? 0 } }),
      enter: () => Promise.resolve(),
      oomKills: () => Promise.resolve(this.oomKills),
    };
    const sharedFs: SharedFs = {
      kind: 'virtiofs',
      start: () => {
        if (this.failAt === 'sharefs') return Promise.reject(new Error('virtiofsd exited'));
        const pid = this.nextPid++;
        this.daemons.add(pid);
        return Promise.resolve({ kind: 'virtiofs', daemonPid: pid, attachment: { kind: 'virtiofs', socketPath: '/x.sock', mountTag: 'moatfs' } });
      },
      stop: (handle: SharedFsHandle) => {
        this.daemons.delete(handle.daemonPid!);
        return Promise.resolve();
      },
      reapStray: () => Promise.resolve(),
      guestStorage: () => ({ driver: 'virtiofs', source: 'moatfs', fstype: 'virtiofs', options: [], mountPoint: '/run/moat/shared' }),
    };
    // A block rootfs has no daemon: a disk image in the sandbox's dir.
    const blockShare: SharedFs = {
      ...sharedFs,
      kind: 'block',
      start: (req) => Promise.resolve({ kind: 'block', attachment: { kind: 'block', imagePath: join(req.diskDir, 'rootfs.ext4') } }),
      stop: () => Promise.resolve(),
    };
    return {
      hypervisor,
      isolation,
      sharedFs: (kind) => (kind === 'block' ? blockShare : sharedFs),
      rootfs: {
        prepare: (req: RootfsRequest) => {
          if (this.failAt === 'rootfs') return Promise.reject(new Error('disk full'));
          mkdirSync(req.rootfsDir, { recursive: true });
          this.rootfs.add(req.sandboxId);
          req.onProgress?.({ bytesDone: 0, bytesTotal: 100 });
          req.onProgress?.({ bytesDone: 100, bytesTotal: 100 });
          this.rootfsRequests.push(req);
          return Promise.resolve(req.image || req.bundle ? { process: this.imageProcess, manifestDigest: 'sha256:abc' } : {});
        },
        release: async (sandboxId: string) => {
          this.rootfsReleases++;
          await this.rootfsReleaseGate;
          this.rootfs.delete(sandboxId);
        },
        sharePodDir: (sharedDir: string) => {
          this.podShares.add(sharedDir);
          return Promise.resolve();
        },
        unsharePodDir: (sharedDir: string) => {
          this.podShares.delete(sharedDir);
          return Promise.resolve();
        },
        addBundle: (_bundle: string, rootfsDir: string) => {
          this.podRootfs.add(rootfsDir);
          return Promise.resolve({ args: ['nginx'], env: { PATH: '/bin' }, cwd: '/', user: { uid: 0, gid: 0 } });
        },
        bindVolume: (_source: string, target: string) => {
          this.podRootfs.add(target);
          return Promise.resolve();
        },
        unbind: (target: string) => {
          this.podRootfs.delete(target);
          return Promise.resolve();
        },
      },
      connectAgent: (transport) => new FakeAgent(this, transport),
      copyDisk: async (_from, to) => {
        await writeFile(to, 'disk');
      },
      network: {
        attach: async ({ sandboxId: id, tenantId, spec: net, keep }, save) => {
          // Progress is saved before anything is acquired, as the real one does.
          await save({ owner: id, model: net.model, tenantId, ports: [] });
          this.kept.push(keep);
          this.networks.add(id);
          if (this.failAt === 'network') throw new Error('CNI ADD bridge: no addresses left');
          const guest = { mac: '02:00:00:00:00:01', addresses: [{ address: '10.88.0.2', prefix: 24, family: '4' as const }], routes: [], dns: ['10.88.0.1'] };
          const state = { owner: id, model: net.model, tenantId, ports: [{ containerPort: 80, hostPort: 40080, protocol: 'tcp' as const }], nic: { mac: guest.mac, bridgePort: 'veth1' }, guest };
          await save(state);
          const nicFd = 90 + this.nicFds.size;
          this.nicFds.add(nicFd);
          return { state, nicFd };
        },
        joinPod: async (id, netns, save) => {
          await save({ model: 'tcfilter', tenantId: '', ports: [] });
          this.networks.add(id);
          const guest = { mac: '0a:58:0a:58:00:07', addresses: [{ address: '10.22.0.7', prefix: 24, family: '4' as const }], routes: [], dns: [] };
          const state = { model: 'tcfilter' as const, tenantId: '', ports: [], nic: { mac: guest.mac }, guest, pod: { netns: netns.split('/').at(-1) ?? '', ifname: 'eth0' } };
          await save(state);
          const nicFd = 90 + this.nicFds.size;
          this.nicFds.add(nicFd);
          return { state, nicFd };
        },
        releaseNicFd: (fd) => {
          this.nicFds.delete(fd);
        },
        detach: (id) => {
          this.networks.delete(id);
          return Promise.resolve();
        },
        check: () => Promise.resolve(),
        setOverlayPeers: () => Promise.resolve(),
      },
      snapshots: {
        find: (shape) => {
          this.snapshotCalls.push(`find ${shape.vcpus}x${shape.memoryMiB}`);
          return Promise.resolve(this.snapshot);
        },
        request: (shape) => {
          this.snapshotCalls.push(`request ${shape.vcpus}x${shape.memoryMiB}`);
          return Promise.resolve();
        },
        discard: (files) => {
          this.snapshotCalls.push(`discard ${files.state}`);
          this.snapshot = undefined;
          return Promise.resolve();
        },
        idle: () => Promise.resolve(),
        close: () => Promise.resolve(),
      },
      bootTimeoutMs: 1_000,
      adoptTimeoutMs: 1_000,
      watchdogIntervalMs: 20,
      guestPingIntervalMs: 20,
    };
  }
}

const notUsedHere = (): Promise<never> => Promise.reject(new Error('not used by the lifecycle tests'));
const unsupportedFiles: GuestFilesApi = {
  stat: notUsedHere,
  list: notUsedHere,
  openRead: notUsedHere,
  read: notUsedHere,
  openWrite: notUsedHere,
  write: notUsedHere,
  commit: notUsedHere,
  close: notUsedHere,
};

class FakeAgent implements AgentApi {
  readonly transport = { kind: 'virtio-serial' as const, grpcTarget: 'unix:///fake' };
  constructor(
    private readonly host: FakeHost,
    /** The runtime's real transport (a vsock one listens on a proxy socket): closed with the agent, as the real client does. */
    private readonly agentTransport: AgentTransport,
  ) {
    host.openAgents.add(this);
  }
  private step(name: string, phase?: StartPhase): Promise<void> {
    this.host.calls.push(name);
    return phase !== undefined && this.host.failAt === phase ? Promise.reject(new RuntimeError(RuntimeErrorCode.AGENT_CALL_FAILED, `${name}: guest said no`)) : Promise.resolve();
  }
  waitReady = async (_timeoutMs: number, vmFailure: () => Promise<string | undefined>, opts: { setClock?: boolean } = {}) => {
    // A guest that never answers: like the real client, it gives up only when the VM is reported gone.
    while (this.host.agentNeverReady) {
      const failure = await vmFailure();
      if (failure) throw new RuntimeError(RuntimeErrorCode.VM_BOOT_FAILED, `${failure} before its agent answered`);
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
    return this.step(opts.setClock ? 'waitReady setting the clock' : 'waitReady', 'agent');
  };
  ping = () => {
    if (this.host.guestHung) return Promise.reject(new RuntimeError(RuntimeErrorCode.AGENT_CALL_FAILED, 'Health.Check: deadline exceeded'));
    this.host.pings++;
    return Promise.resolve(this.host.agentInstance);
  };
  guestDetails = () => Promise.resolve({ kernelRelease: '6.1.0-guest', agentVersion: '0.1.0' });
  createSandbox = (req: CreateSandboxRequest) => {
    this.host.sandboxRequests.push(req);
    return this.step('createSandbox', 'sandbox');
  };
  destroySandbox = () => this.step('destroySandbox');
  createContainer = (req: { ociSpecJson: string }) => {
    this.host.ociSpecs.push(JSON.parse(req.ociSpecJson) as OciSpec);
    return this.step('createContainer', 'container');
  };
  startContainer = () => this.step('startContainer');
  removeContainer = () => this.step('removeContainer');
  exec = (req: AgentExecRequest) => {
    this.host.execs.push(req);
    return Promise.resolve({ exitCode: 0, signal: 0, stdout: Buffer.from('ok'), stderr: Buffer.alloc(0), timedOut: false, oomKilled: false });
  };
  updateInterface = (iface: { device: string; hwAddr: string }) => this.step(`updateInterface ${iface.device || 'by MAC'} ${iface.hwAddr}`);
  updateHostname = (hostname: string) => this.step(`updateHostname ${hostname}`);
  updateRoutes = () => this.step('updateRoutes');
  /** The main process's output as `host.mainOutput` scripts it; a read waits for more until aborted or `mainExited`. */
  pumpOutput = async (_containerId: string, execId: string, stream: OutputStream, sink: (chunk: Buffer) => Promise<void> | void, signal: AbortSignal) => {
    const read = `${execId || 'init'} ${stream}`;
    this.host.outputReads.add(read);
    try {
      for (;;) {
        const chunk = this.host.mainOutput[stream].shift();
        if (chunk !== undefined) await sink(Buffer.from(chunk));
        else if (this.host.mainExited) return;
        else if (signal.aborted) throw new RuntimeError(RuntimeErrorCode.AGENT_CALL_FAILED, 'ReadStdout aborted');
        // Like a gRPC call, cancelled at once by the abort.
        else await new Promise<void>((resolve) => {
          const timer = setTimeout(done, 5);
          signal.addEventListener('abort', done, { once: true });
          function done(): void {
            clearTimeout(timer);
            signal.removeEventListener('abort', done);
            resolve();
          }
        });
      }
    } finally {
      this.host.outputReads.delete(read);
    }
  };
  // The interactive process calls are exercised against a gRPC fake in agent.client.spec.ts.
  startProcess = notUsedHere;
  writeStdin = notUsedHere;
  closeStdin = notUsedHere;
  resizeTty = notUsedHere;
  signalProcess = (_containerId: string, _execId: string, signal: number) => {
    this.host.initSignals.push(signal);
    return Promise.resolve();
  };
  waitExit = () => Promise.resolve({ exitCode: 3, signal: 0, oomKilled: false, timedOut: false });
  stats = notUsedHere;
  listProcesses = notUsedHere;
  updateContainer = (containerId: string, resources: { memoryLimitBytes: number }) => this.step(`updateContainer ${containerId} ${resources.memoryLimitBytes}`);
  pauseContainer = notUsedHere;
  resumeContainer = notUsedHere;
  files = unsupportedFiles;
  close = () => {
    this.agentTransport.close();
    this.host.openAgents.delete(this);
  };
}

describe('SandboxRuntime', () => {
  let dir: string;
  let host: FakeHost;
  const runtimes: SandboxRuntime[] = [];

  const open = async (opts: Partial<RuntimeOptions> = {}, deps: Partial<RuntimeDeps> = host.deps()) => {
    const runtime = await SandboxRuntime.open(
      {
        dataDir: join(dir, 'data'),
        runDir: join(dir, 'run'),
        accel: 'tcg',
        guestImage: { id: 'g', dir, kernel: 'vmlinux', initrd: 'initrd.img', rootfs: 'rootfs.ext4', rootfsBytes: 2 << 20, kernelRelease: '6.1.0-guest' },
        ...opts,
      },
      deps,
    );
    runtimes.push(runtime);
    return runtime;
  };
  const sandboxDir = () => join(dir, 'data', 'sandboxes', ID);
  const runDir = () => join(dir, 'run', ID);

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'runtime-'));
    host = new FakeHost();
  });
  afterEach(async () => {
    for (const runtime of runtimes.splice(0)) await runtime.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('starts a sandbox through every phase in order and persists what it holds', async () => {
    const runtime = await open();
    const updates: string[] = [];
    const info = await runtime.create(spec, (i) => updates.push(`${i.state}:${i.timings.length}`));
    expect(info).toMatchObject({ id: ID, state: 'running', accel: 'tcg', transport: 'virtio-serial', guest: { kernelRelease: '6.1.0-guest' } });
    expect(info.timings.map((t) => t.phase)).toEqual(['rootfs', 'jail', 'sharefs', 'vmm', 'agent', 'sandbox', 'container']);
    expect(updates.at(-1)).toBe('running:7');
    expect(info.isolation).toEqual({ jailed: true, uid: 200_000, seccomp: true, cgroup: `/moat/${ID}` });
    expect(host.vmConfigs[0].isolation).toEqual({ jail: { uid: 200_000, gid: 200_000 } });
    expect(host.calls).toEqual(['vm virtiofs', 'waitReady', 'createSandbox', 'createContainer', 'startContainer']);
    const state = JSON.parse(readFileSync(join(sandboxDir(), 'state.json'), 'utf8'));
    expect(state).toMatchObject({ state: 'running', vmmPid: [...host.vms][0], sharedFs: { daemonPid: [...host.daemons][0] } });
  });

  it("leaves a deferStart container waiting for its start, then hands its init's I/O to the caller", async () => {
    host.imageProcess = { args: ['uname', '-r'], env: { PATH: '/bin' }, cwd: '/work', user: { uid: 7, gid: 8 } };
    const runtime = await open();
    const info = await runtime.create({ ...spec, bundle: '/run/bundles/t1', containerd: { namespace: 'default', id: 't1' }, deferStart: true, tty: true });
    expect(info).toMatchObject({ state: 'running', containerd: { namespace: 'default', id: 't1' }, vmmPid: [...host.vms][0] });
    expect(host.rootfsRequests[0]).toMatchObject({ bundle: '/run/bundles/t1', image: undefined });
    expect(host.ociSpecs[0].process).toMatchObject({ args: ['uname', '-r'], cwd: '/work', user: { uid: 7, gid: 8 }, terminal: true });
    expect(host.calls.at(-1)).toBe('createContainer');
    expect(() => runtime.initSession(ID)).toThrow(expect.objectContaining({ code: RuntimeErrorCode.CONTAINER_WRONG_STATE }));

    await runtime.startContainer(ID);
    expect(host.calls.at(-1)).toBe('startContainer');
    expect(JSON.parse(readFileSync(join(sandboxDir(), 'state.json'), 'utf8')).initWaiting).toBeUndefined();
    await expect(runtime.startContainer(ID)).rejects.toMatchObject({ code: RuntimeErrorCode.CONTAINER_WRONG_STATE });
    // Its output is the session's to read: no log ring reads it.
    expect(host.outputReads.size).toBe(0);
    expect(() => runtime.logs(ID)).toThrow(expect.objectContaining({ code: RuntimeErrorCode.SANDBOX_NOT_RUNNING }));
    const init = runtime.initSession(ID);
    await init.signal(15);
    expect(host.initSignals).toEqual([15]);
    await expect(init.wait()).resolves.toMatchObject({ exitCode: 3, signal: 0 });
  });

  it('reserves beyond memoryMiB what the VM may use: the guest overhead it is given and its VMM’s', async () => {
    const runtime = await open();
    await runtime.create(spec);
    expect(host.vmConfigs[0].memoryMiB).toBe(spec.memoryMiB + GUEST_OVERHEAD_MIB);
    // The fake hypervisor's own overhead is 100 MiB.
    expect(runtime.sandboxOverheadMiB()).toBe(GUEST_OVERHEAD_MIB + 100);
  });

  it.each<StartPhase>(['rootfs', 'jail', 'sharefs', 'vmm', 'agent', 'sandbox', 'container'])('releases everything when %s fails', async (phase) => {
    host.failAt = phase;
    const runtime = await open();
    const info = await runtime.create(spec);
    expect(info.state).toBe('failed');
    expect(info.error?.message).toMatch(new RegExp(`^${phase}: `));
    expect(info.timings.at(-1)?.phase).toBe(phase);
    expect(host.vms.size + host.daemons.size + host.openAgents.size + host.rootfs.size + host.jails.size).toBe(0);
    expect(existsSync(sandboxDir())).toBe(false);
    expect(existsSync(runDir())).toBe(false);
    // A failed sandbox stays visible until deleted; delete is then a no-op.
    expect(runtime.get(ID)?.state).toBe('failed');
    await runtime.delete(ID);
    expect(runtime.get(ID)).toBeUndefined();
  });

  it('tells the guest the node’s resolvers, or the sandbox’s own servers, search domains and options', async () => {
    const runtime = await SandboxRuntime.open(
      {
        dataDir: join(dir, 'data'),
        runDir: join(dir, 'run'),
        accel: 'tcg',
        guestImage: { id: 'g', dir, kernel: 'vmlinux', initrd: 'initrd.img', rootfs: 'rootfs.ext4', rootfsBytes: 2 << 20, kernelRelease: '6.1.0-guest' },
        dnsServers: ['192.0.2.53', '192.0.2.54'],
      },
      host.deps(),
    );
    runtimes.push(runtime);
    await runtime.create(spec);
    expect(host.sandboxRequests[0]).toMatchObject({ sandboxId: ID, dns: ['192.0.2.53', '192.0.2.54'], dnsSearch: [], dnsOptions: [] });
    await runtime.delete(ID);
    await runtime.create({ ...spec, dns: { servers: ['10.99.0.53'], search: ['example.internal'], options: ['ndots:2'] } });
    expect(host.sandboxRequests[1]).toMatchObject({ dns: ['10.99.0.53'], dnsSearch: ['example.internal'], dnsOptions: ['ndots:2'] });
  });

  const networked: SandboxSpec = { ...spec, tenantId: 't1', network: { model: 'tcfilter', ports: [{ containerPort: 80, protocol: 'tcp' }] } };

  it('plumbs the network before the VMM and configures the guest NIC before the sandbox', async () => {
    const runtime = await open();
    const info = await runtime.create(networked);
    expect(info.state).toBe('running');
    expect(info.network).toEqual({ ip: '10.88.0.2', ports: [{ containerPort: 80, hostPort: 40080, protocol: 'tcp' }] });
    expect(info.timings.map((t) => t.phase)).toEqual(['rootfs', 'jail', 'sharefs', 'network', 'vmm', 'agent', 'sandbox', 'container']);
    expect(host.calls.slice(0, 5)).toEqual(['vm virtiofs nic 02:00:00:00:00:01', 'waitReady', 'updateInterface by MAC 02:00:00:00:00:01', 'updateRoutes', 'createSandbox']);
    // The VMM got the NIC as the descriptor the network opened, which the runtime then let go of.
    expect(host.vmConfigs[0].network).toEqual({ fd: 90, mac: '02:00:00:00:00:01' });
    expect(host.nicFds.size).toBe(0);
    await runtime.delete(ID);
    expect(host.networks.size).toBe(0);
  });

  it.each<StartPhase>(['network', 'vmm', 'agent', 'container'])('releases the network when %s fails', async (phase) => {
    host.failAt = phase;
    const runtime = await open();
    const info = await runtime.create(networked);
    expect(info.state).toBe('failed');
    expect(host.networks.size + host.vms.size + host.nicFds.size).toBe(0);
  });

  it('releases the network of a re-adopted sandbox on delete, from its state on disk', async () => {
    await (await open()).create(networked);
    await runtimes[0].close();
    const reopened = await open();
    expect(reopened.get(ID)?.network?.ip).toBe('10.88.0.2');
    await reopened.delete(ID);
    expect(host.networks.size).toBe(0);
  });

  it('asks for a boot snapshot of the shape once a cold-booted sandbox runs, not when it fails', async () => {
    const runtime = await open();
    await runtime.create(spec);
    expect(host.snapshotCalls).toEqual(['find 1x416', 'request 1x416']);
    host.failAt = 'container';
    host.snapshotCalls.length = 0;
    await runtime.create({ ...spec, id: '1b5e7a4c-1d2f-4a3b-8c9d-0e1f2a3b4c5d' });
    expect(host.snapshotCalls).toEqual(['find 1x416']);
  });

  it('restores the VM from a saved boot snapshot and sets the restored guest clock', async () => {
    host.snapshot = { state: '/snap/state', memory: '/snap/memory' };
    const runtime = await open();
    const info = await runtime.create(spec);
    expect(info.state).toBe('running');
    expect(info.timings.map((t) => t.phase)).toEqual(['rootfs', 'jail', 'sharefs', 'restore', 'agent', 'sandbox', 'container']);
    expect(host.calls.slice(0, 2)).toEqual(['vm virtiofs from /snap/state', 'waitReady setting the clock']);
    expect(host.snapshotCalls).toEqual(['find 1x416']);
    expect(JSON.parse(readFileSync(join(sandboxDir(), 'state.json'), 'utf8'))).toMatchObject({ restored: true });
  });

  describe('pods', () => {
    const pod: SandboxSpec = { ...spec, bundle: '/run/bundles/pause', containerd: { namespace: 'k8s.io', id: 'pod1' }, deferStart: true, pod: { netns: '/var/run/netns/cni-1', hostname: 'web-0' } };
    /** A container's bundle as CRI writes it: config.json binding the pod's resolv.conf, which CRI wrote on the host. */
    const bundle = (name: string) => {
      const path = join(dir, 'bundles', name);
      mkdirSync(path, { recursive: true });
      writeFileSync(join(dir, 'resolv.conf'), 'nameserver 10.96.0.10\n');
      const mounts = [
        { destination: '/etc/resolv.conf', type: 'bind', source: join(dir, 'resolv.conf') },
        { destination: '/dev/shm', type: 'bind', source: join(dir, 'shm') },
        { destination: '/data', type: 'bind', source: join(dir, 'bundles'), options: ['rbind', 'rprivate', 'ro'] },
      ];
      writeFileSync(join(path, 'config.json'), JSON.stringify({ mounts }));
      return path;
    };

    it("joins the pod's netns, adds containers on rootfses under its shared share, and releases them with it", async () => {
      const runtime = await open();
      expect(await runtime.create(pod)).toMatchObject({ state: 'running', network: { ip: '10.22.0.7' } });
      expect(host.calls[0]).toBe('vm virtiofs nic 0a:58:0a:58:00:07');
      expect([...host.podShares]).toEqual([join(sandboxDir(), 'shared')]);

      expect(host.sandboxRequests[0].hostname).toBe('web-0');
      await runtime.addContainer(ID, { containerId: 'web', bundle: bundle('web') });
      const webSpec = host.ociSpecs.at(-1);
      expect(webSpec).toMatchObject({ hostname: 'web-0', root: { path: '/run/moat/shared/containers/web' }, process: { args: ['nginx'] }, linux: { cgroupsPath: '/moat/web' } });
      // The pod's resolv.conf reaches the guest through the share, bound over the container's own.
      expect(webSpec?.mounts).toContainEqual(expect.objectContaining({ destination: '/etc/resolv.conf', source: '/run/moat/shared/pod-files/web/resolv.conf' }));
      expect(readFileSync(join(sandboxDir(), 'shared', 'pod-files', 'web', 'resolv.conf'), 'utf8')).toBe('nameserver 10.96.0.10\n');
      // Its volume (not the pod's shared memory) is bound under the share and mounted where the bundle says.
      expect(webSpec?.mounts).toContainEqual({ destination: '/data', type: 'bind', source: '/run/moat/shared/volumes/web/0', options: ['rbind', 'ro'] });
      expect(webSpec?.mounts.filter((m) => m.destination === '/dev/shm' && m.type === 'bind')).toEqual([]);
      expect(host.podRootfs).toContain(join(sandboxDir(), 'shared', 'volumes', 'web', '0'));
      expect(runtime.get(ID)?.podContainers).toEqual(['web']);
      expect(() => runtime.initSession(ID, 'web')).toThrow(expect.objectContaining({ code: RuntimeErrorCode.CONTAINER_WRONG_STATE }));
      await runtime.startContainer(ID, 'web');
      await runtime.initSession(ID, 'web').close();
      await expect(runtime.startContainer(ID, 'web')).rejects.toMatchObject({ code: RuntimeErrorCode.CONTAINER_WRONG_STATE });
      await expect(runtime.addContainer(ID, { containerId: 'web', bundle: bundle('web') })).rejects.toMatchObject({ code: RuntimeErrorCode.CONTAINER_EXISTS });
      await expect(runtime.stats(ID, 'nope')).rejects.toMatchObject({ code: RuntimeErrorCode.CONTAINER_NOT_FOUND });

      await runtime.addContainer(ID, { containerId: 'sidecar', bundle: bundle('sidecar') });
      await runtime.removeContainer(ID, 'web');
      expect(existsSync(join(sandboxDir(), 'shared', 'pod-files', 'web'))).toBe(false);
      expect([...host.podRootfs].sort()).toEqual([join(sandboxDir(), 'shared', 'containers', 'sidecar'), join(sandboxDir(), 'shared', 'volumes', 'sidecar', '0')]);
      const state = JSON.parse(readFileSync(join(sandboxDir(), 'state.json'), 'utf8')) as { podContainers: Record<string, unknown> };
      expect(Object.keys(state.podContainers)).toEqual(['sidecar']);

      await runtime.delete(ID);
      expect(host.podRootfs.size).toBe(0);
      expect(host.podShares.size).toBe(0);
      expect(host.networks.size).toBe(0);
    });

    it("changes a container's limits within its VM's size, and refuses more than the VM has", async () => {
      const runtime = await open();
      await runtime.create(spec);
      await runtime.updateResources(ID, { memoryLimitBytes: 128 * 1024 * 1024, cpuQuotaUs: 50_000, cpuPeriodUs: 100_000, pidsLimit: 64 });
      expect(host.calls.at(-1)).toBe(`updateContainer ${ID} ${128 * 1024 * 1024}`);
      const tooMuch = [
        { memoryLimitBytes: 512 * 1024 * 1024, cpuQuotaUs: 0, cpuPeriodUs: 0, pidsLimit: 0 },
        { memoryLimitBytes: -1, cpuQuotaUs: 0, cpuPeriodUs: 0, pidsLimit: 0 },
        { memoryLimitBytes: 0, cpuQuotaUs: 200_000, cpuPeriodUs: 0, pidsLimit: 0 },
      ];
      for (const resources of tooMuch) await expect(runtime.updateResources(ID, resources)).rejects.toMatchObject({ code: RuntimeErrorCode.INVALID_SPEC });
      expect(host.calls.filter((call) => call.startsWith('updateContainer'))).toHaveLength(1);
    });

    it('takes no container into a VM that is not a pod, nor a pod on a block rootfs', async () => {
      const runtime = await open();
      await runtime.create(spec);
      await expect(runtime.addContainer(ID, { containerId: 'web', bundle: '/run/bundles/web' })).rejects.toMatchObject({ code: RuntimeErrorCode.INVALID_SPEC });
      const other = { ...pod, id: '1b5e7a4c-1d2f-4a3b-8c9d-0e1f2a3b4c5d' };
      await expect(runtime.create({ ...other, rootfs: 'block' })).rejects.toMatchObject({ code: RuntimeErrorCode.INVALID_SPEC });
      await expect(runtime.create({ ...other, pod: { netns: 'run/netns/cni-1' } })).rejects.toMatchObject({ code: RuntimeErrorCode.INVALID_SPEC });
      expect(host.podRootfs.size).toBe(0);
    });
  });

  describe('with a warm pool', () => {
    const POOL = [{ vcpus: 1, memoryMiB: 256, count: 1 }];
    const openPooled = async () => {
      host.snapshot = { state: '/snap/state', memory: '/snap/memory' };
      const runtime = await open({ warmPool: POOL });
      await runtime.warmPoolFull();
      return runtime;
    };
    const pooledVmIds = () => readdirSync(join(dir, 'data', 'sandboxes')).filter((name) => name !== ID);

    it('restores its VMs bare, with their own id and jail, before any sandbox asks', async () => {
      const runtime = await openPooled();
      expect(runtime.warmPool()).toEqual([{ shape: { vcpus: 1, memoryMiB: 256 }, waiting: 1, target: 1 }]);
      expect(host.calls).toEqual(['vm bare from /snap/state', 'waitReady setting the clock']);
      const [vmId] = pooledVmIds();
      expect(host.jails.has(vmId)).toBe(true);
      expect(runtime.list()).toEqual([]);
      expect(JSON.parse(readFileSync(join(dir, 'data', 'sandboxes', vmId, 'state.json'), 'utf8'))).toMatchObject({ pooled: true, spec: { id: vmId } });
    });

    it('hands a matching create its VM once, plugs the share and NIC in, and refills with a new VM', async () => {
      const runtime = await openPooled();
      const [vmId] = pooledVmIds();
      host.calls.length = 0;
      const info = await runtime.create({ ...spec, network: { model: 'tcfilter', ports: [] } });
      expect(info.state).toBe('running');
      expect(info.timings.map((t) => t.phase)).toEqual(['rootfs', 'sharefs', 'network', 'plug', 'sandbox', 'container']);
      // The refill restores another VM meanwhile; this one is only plugged.
      expect(host.calls).toContain(`plug ${vmId} virtiofs nic 02:00:00:00:00:01`);
      expect(info.isolation?.cgroup).toBe(`/moat/${vmId}`);
      const state = JSON.parse(readFileSync(join(dir, 'data', 'sandboxes', vmId, 'state.json'), 'utf8'));
      expect(state).toMatchObject({ spec: { id: ID }, vmId, state: 'running' });
      expect(state.pooled).toBeUndefined();
      await runtime.warmPoolFull();
      const refill = pooledVmIds().filter((id) => id !== vmId);
      expect(refill).toHaveLength(1);
      // The next sandbox gets the new VM, never the one in use.
      const second = await runtime.create({ ...spec, id: '1b5e7a4c-1d2f-4a3b-8c9d-0e1f2a3b4c5d' });
      expect(second.isolation?.cgroup).toBe(`/moat/${refill[0]}`);
    });

    it('boots a create of another shape or rootfs kind as usual', async () => {
      const runtime = await openPooled();
      host.calls.length = 0;
      const bigger = await runtime.create({ ...spec, memoryMiB: 512 });
      expect(bigger.timings.map((t) => t.phase)).toContain('restore');
      const ninep = await runtime.create({ ...spec, id: '1b5e7a4c-1d2f-4a3b-8c9d-0e1f2a3b4c5d', rootfs: '9p' });
      expect(ninep.timings.map((t) => t.phase)).toContain('restore');
      expect(runtime.warmPool()[0].waiting).toBe(1);
    });

    it('releases a handed-out VM with its sandbox, and drains the waiting ones on close, leaving nothing', async () => {
      const runtime = await openPooled();
      await runtime.create(spec);
      await runtime.warmPoolFull();
      await runtime.delete(ID);
      expect(host.vms.size).toBe(1);
      await runtime.close();
      runtimes.splice(runtimes.indexOf(runtime), 1);
      expect(host.vms.size + host.daemons.size + host.openAgents.size + host.jails.size).toBe(0);
      expect(readdirSync(join(dir, 'data', 'sandboxes'))).toEqual([]);
      expect(readdirSync(join(dir, 'run')).filter((name) => name !== 'jail-ids')).toEqual([]);
    });

    it('releases VMs a dead runtime left in the pool when the next one opens', async () => {
      const first = await openPooled();
      const [vmId] = pooledVmIds();
      // A crash: the runtime forgets everything without draining.
      runtimes.splice(runtimes.indexOf(first), 1);
      await open();
      expect(host.jails.has(vmId)).toBe(false);
      expect(pooledVmIds()).toEqual([]);
      // A real crash takes the dead runtime's timers with it; here its pool check would find its VM
      // gone and start another after this test removed its dirs.
      await first.close();
    });
  });

  it('on a vsock node, boots cold over vsock with a CID of its own but restores over virtio-serial, with no vsock device', async () => {
    const runtime = await open({}, { ...host.deps(), agentTransport: 'vsock' });
    const cold = await runtime.create(spec);
    expect(cold.transport).toBe('vsock');
    expect(host.vmConfigs[0].vsockGuestCid).toEqual(expect.any(Number));
    host.snapshot = { state: '/snap/state', memory: '/snap/memory' };
    const restored = await runtime.create({ ...spec, id: '1b5e7a4c-1d2f-4a3b-8c9d-0e1f2a3b4c5d' });
    expect(restored.timings.map((t) => t.phase)).toContain('restore');
    expect(restored.transport).toBe('virtio-serial');
    expect(host.vmConfigs[1].vsockGuestCid).toBeUndefined();
  });

  it('boots cold and discards a boot snapshot that does not restore', async () => {
    host.snapshot = { state: '/snap/state', memory: '/snap/memory' };
    host.restoreFails = 'load';
    const runtime = await open();
    const info = await runtime.create(spec);
    expect(info.error).toBeUndefined();
    expect(info.state).toBe('running');
    expect(info.timings.map((t) => t.phase)).toEqual(['rootfs', 'jail', 'sharefs', 'restore', 'vmm', 'agent', 'sandbox', 'container']);
    expect(host.calls).not.toContain('waitReady setting the clock');
    // Discarded, and a fresh one asked for now that the shape booted cold.
    expect(host.snapshotCalls).toEqual(['find 1x416', 'discard /snap/state', 'request 1x416']);
  });

  it('boots cold but keeps a boot snapshot whose memory could not be copied (a full tmpfs)', async () => {
    host.snapshot = { state: '/snap/state', memory: '/snap/memory' };
    host.restoreFails = 'copy';
    const runtime = await open();
    const info = await runtime.create(spec);
    expect(info.state).toBe('running');
    expect(host.snapshotCalls).toEqual(['find 1x416', 'request 1x416']);
    expect(host.snapshot).toBeDefined();
  });

  it.each([
    [0, RuntimeErrorCode.VMM_EXITED],
    [1, RuntimeErrorCode.VMM_OUT_OF_MEMORY],
  ])('notices a VMM that died under a running sandbox (OOM kills: %i) and fails it with %s, releasing everything', async (oomKills, code) => {
    const runtime = await open();
    const updates: string[] = [];
    await runtime.create(networked, (info) => updates.push(info.state));
    host.oomKills = oomKills;
    host.vms.clear();
    // The last update comes once everything is released, after the state turned failed.
    await eventually(() => expect(updates.at(-1)).toBe('failed'), { timeout: 2_000 });
    expect(runtime.get(ID)?.state).toBe('failed');
    expect(runtime.get(ID)?.error?.code).toBe(code);
    // How it ended is in the message.
    expect(runtime.get(ID)?.error?.message).toContain('was killed by signal 9 (SIGKILL)');
    expect(host.daemons.size + host.networks.size + host.jails.size + host.rootfs.size + host.openAgents.size).toBe(0);
    expect(existsSync(sandboxDir())).toBe(false);
  });

  it('makes a delete that arrives while a failure is being released wait for that release, not run it again', async () => {
    const runtime = await open();
    await runtime.create(spec);
    let openGate = (): void => undefined;
    host.rootfsReleaseGate = new Promise((resolve) => (openGate = resolve));
    host.vms.clear();
    await eventually(() => expect(host.rootfsReleases).toBe(1), { timeout: 2_000 });
    expect(runtime.get(ID)?.state).toBe('failed');
    let deleted = false;
    const deleting = runtime.delete(ID).then(() => (deleted = true));
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(deleted).toBe(false);
    openGate();
    await deleting;
    expect(host.rootfsReleases).toBe(1);
    expect(host.rootfs.size + host.vms.size + host.jails.size).toBe(0);
    expect(runtime.get(ID)).toBeUndefined();
  });

  it('fails a sandbox whose guest agent stopped answering with GUEST_UNRESPONSIVE, after a few missed checks, and releases it', async () => {
    const runtime = await open();
    await runtime.create(spec);
    host.guestHung = true;
    await eventually(() => expect(runtime.get(ID)?.state).toBe('failed'), { timeout: 2_000 });
    expect(runtime.get(ID)?.error).toMatchObject({ code: RuntimeErrorCode.GUEST_UNRESPONSIVE, message: expect.stringMatching(/did not answer 3 health checks in a row/) as unknown });
    expect(host.vms.size + host.daemons.size + host.jails.size).toBe(0);
  });

  it('lets a guest agent miss a check or two', async () => {
    const runtime = await open();
    await runtime.create(spec);
    host.guestHung = true;
    await new Promise((resolve) => setTimeout(resolve, 30));
    host.guestHung = false;
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(runtime.get(ID)?.state).toBe('running');
  });

  it('fails a sandbox whose guest agent was started again in its VM with GUEST_AGENT_RESTARTED, and releases it', async () => {
    const runtime = await open();
    await runtime.create(spec);
    // Checked a few times over with the instance it started with: it runs on.
    await eventually(() => expect(host.pings).toBeGreaterThan(2));
    expect(runtime.get(ID)?.state).toBe('running');
    host.agentInstance = 'instance-2';
    await eventually(() => expect(runtime.get(ID)?.state).toBe('failed'), { timeout: 2_000 });
    expect(runtime.get(ID)?.error).toMatchObject({
      code: RuntimeErrorCode.GUEST_AGENT_RESTARTED,
      message: expect.stringMatching(/instance instance-1, now instance-2\): the sandbox's containers are lost/) as unknown,
    });
    expect(host.vms.size + host.daemons.size + host.jails.size).toBe(0);
  });

  describe("the main process's logs", () => {
    const logText = (runtime: SandboxRuntime) =>
      runtime
        .logs(ID)
        .read({ maxBytes: 1 << 20 })
        .entries.map((entry) => `${entry.stream}:${entry.data.toString()}`)
        .join('');

    it('are read from the start while the container runs, and end when the process closes its output', async () => {
      host.mainOutput.stdout.push('hello\n');
      const runtime = await open();
      await runtime.create(spec);
      await eventually(() => expect(logText(runtime)).toBe('stdout:hello\n'), { timeout: 1_000 });
      host.mainOutput.stderr.push('warn\n');
      await eventually(() => expect(logText(runtime)).toBe('stdout:hello\nstderr:warn\n'), { timeout: 1_000 });
      expect(host.outputReads).toEqual(new Set(['init stdout', 'init stderr']));
      host.mainExited = true;
      await eventually(() => expect(runtime.logs(ID).read({ maxBytes: 1 << 20 }).ended).toBe(true), { timeout: 1_000 });
      expect(host.outputReads.size).toBe(0);
    });

    it('stop being read on delete and are freed with the sandbox', async () => {
      const runtime = await open();
      await runtime.create(spec);
      await eventually(() => expect(host.outputReads.size).toBe(2), { timeout: 1_000 });
      await runtime.delete(ID);
      expect(host.outputReads.size).toBe(0);
      expect(() => runtime.logs(ID)).toThrow(expect.objectContaining({ code: RuntimeErrorCode.SANDBOX_NOT_FOUND }));
    });

    it('of a failed sandbox stay readable, ended, until it is deleted', async () => {
      host.mainOutput.stdout.push('last words\n');
      const runtime = await open();
      await runtime.create(spec);
      await eventually(() => expect(logText(runtime)).toBe('stdout:last words\n'), { timeout: 1_000 });
      host.vms.clear();
      await eventually(() => expect(runtime.get(ID)?.state).toBe('failed'), { timeout: 2_000 });
      expect(runtime.logs(ID).read({ maxBytes: 1 << 20 })).toMatchObject({ ended: true });
      expect(logText(runtime)).toBe('stdout:last words\n');
      expect(host.outputReads.size).toBe(0);
    });

    it('are read again for a sandbox re-adopted after a restart, and not before its process starts', async () => {
      await (await open()).create(spec);
      await runtimes[0].close();
      expect(host.outputReads.size).toBe(0);
      host.mainOutput.stdout.push('still here\n');
      const reopened = await open();
      await eventually(() => expect(logText(reopened)).toBe('stdout:still here\n'), { timeout: 1_000 });

      host.agentNeverReady = true;
      const other = { ...spec, id: '1c6f8b5d-2e3a-4b4c-9d0e-1f2a3b4c5d6e' };
      void reopened.create(other);
      await eventually(() => expect(reopened.get(other.id)?.state).toBe('creating'), { timeout: 1_000 });
      expect(() => reopened.logs(other.id)).toThrow(expect.objectContaining({ code: RuntimeErrorCode.SANDBOX_NOT_RUNNING }));
      reopened.cancelStarts();
    });
  });

  it('is idempotent for an id it already has', async () => {
    const runtime = await open();
    const [a, b] = await Promise.all([runtime.create(spec), runtime.create(spec)]);
    expect(a.state).toBe('running');
    expect(b.state).toBe('running');
    expect(host.vms.size).toBe(1);
  });

  describe('hibernate and wake', () => {
    const blockNetworked: SandboxSpec = { ...spec, rootfs: 'block', tenantId: 't1', network: { model: 'tcfilter', ports: [] } };
    const stateFile = () => join(sandboxDir(), 'hibernated.state');

    it("saves the VM, releases it and its network but keeps its disk and jail, and wakes it with the guest's own NIC", async () => {
      const runtime = await open();
      const states: string[] = [];
      await runtime.create(blockNetworked, (i) => states.push(i.state));
      host.calls.length = 0;
      const hibernated = await runtime.hibernate(ID);
      expect(hibernated).toMatchObject({ state: 'hibernated', savedBytes: 'saved VM'.length });
      expect(hibernated.vmmPid).toBeUndefined();
      expect(states.slice(-2)).toEqual(['hibernating', 'hibernated']);
      expect(host.calls).toEqual([`hibernate ${ID}`]);
      expect(host.vms.size + host.networks.size + host.openAgents.size).toBe(0);
      expect(host.jails.size).toBe(1);
      expect(readFileSync(stateFile(), 'utf8')).toBe('saved VM');
      await expect(runtime.exec(ID, { command: ['true'] })).rejects.toMatchObject({ code: RuntimeErrorCode.SANDBOX_NOT_RUNNING });

      const woken = await runtime.wake(ID);
      expect(woken.state).toBe('running');
      expect(woken.timings.map((t) => t.phase)).toEqual(['network', 'wake', 'agent']);
      // Its guest runs on: no sandbox or container is made again, only its clock is set.
      expect(host.calls.slice(1)).toEqual([`vm block nic 02:00:00:00:00:01 from ${stateFile()}`, 'waitReady setting the clock']);
      expect(host.kept.at(-1)).toEqual({ mac: '02:00:00:00:00:01', address: '10.88.0.2' });
      expect(host.vmConfigs.at(-1)?.wakeFrom).toEqual({ state: { state: stateFile() }, restoredLayout: false });
      expect(existsSync(stateFile())).toBe(false);
      await expect(runtime.exec(ID, { command: ['true'] })).resolves.toMatchObject({ exitCode: 0 });
    });

    it('keeps the instance its guest agent answers with in its saved state: an agent started again after a wake fails it', async () => {
      await (await open()).create(blockNetworked);
      await eventually(() => expect(host.pings).toBeGreaterThan(0));
      await runtimes[0].hibernate(ID);
      // The node agent restarts meanwhile: the instance comes back from the state file.
      await runtimes[0].close();
      const reopened = await open();
      host.agentInstance = 'instance-2';
      await expect(reopened.wake(ID)).resolves.toMatchObject({ state: 'running' });
      await eventually(() => expect(reopened.get(ID)?.error?.code).toBe(RuntimeErrorCode.GUEST_AGENT_RESTARTED), { timeout: 2_000 });
    });

    it('refuses a sandbox whose VM cannot be saved, and keeps running one whose save failed', async () => {
      const runtime = await open();
      await runtime.create(spec);
      await expect(runtime.hibernate(ID)).rejects.toMatchObject({ code: RuntimeErrorCode.HIBERNATE_UNSUPPORTED });
      await runtime.delete(ID);
      await runtime.create(blockNetworked);
      host.hibernateFails = true;
      await expect(runtime.hibernate(ID)).rejects.toMatchObject({ code: RuntimeErrorCode.HIBERNATE_FAILED });
      expect(runtime.get(ID)?.state).toBe('running');
      await expect(runtime.exec(ID, { command: ['true'] })).resolves.toMatchObject({ exitCode: 0 });
      await expect(runtime.wake(ID)).resolves.toMatchObject({ state: 'running' });
    });

    it('stays hibernated across a restart, and after a failed wake, which keeps its saved VM and says why', async () => {
      await (await open()).create(blockNetworked);
      await runtimes[0].hibernate(ID);
      await runtimes[0].close();
      const reopened = await open();
      expect(reopened.get(ID)).toMatchObject({ state: 'hibernated', savedBytes: 'saved VM'.length });
      host.failAt = 'network';
      const refused = await reopened.wake(ID);
      expect(refused).toMatchObject({ state: 'hibernated', savedBytes: 'saved VM'.length, error: { code: RuntimeErrorCode.NETWORK_FAILED } });
      // What the wake acquired is gone; the saved VM, its disk and jail stay.
      expect(host.vms.size + host.networks.size).toBe(0);
      expect(host.jails.size).toBe(1);
      expect(readFileSync(stateFile(), 'utf8')).toBe('saved VM');
      host.failAt = undefined;
      const woken = await reopened.wake(ID);
      expect(woken.state).toBe('running');
      expect(woken.error).toBeUndefined();
    });

    it('saves a VM that ran during a failed wake again, so its saved state matches its disk; fails it when that save fails', async () => {
      const runtime = await open();
      await runtime.create(blockNetworked);
      await runtime.hibernate(ID);
      host.failAt = 'agent';
      host.calls.length = 0;
      const refused = await runtime.wake(ID);
      expect(refused).toMatchObject({ state: 'hibernated', error: { code: RuntimeErrorCode.AGENT_CALL_FAILED } });
      expect(host.calls).toContain(`hibernate ${ID}`);
      expect(host.vms.size + host.networks.size).toBe(0);
      const again = join(sandboxDir(), 'hibernated-again.state');
      expect(readFileSync(again, 'utf8')).toBe('saved VM');
      expect(existsSync(stateFile())).toBe(false);
      // The next failure saves it under the first name again; a wake then starts from what was saved last.
      await runtime.wake(ID);
      expect(existsSync(stateFile())).toBe(true);
      expect(existsSync(again)).toBe(false);
      host.failAt = undefined;
      await expect(runtime.wake(ID)).resolves.toMatchObject({ state: 'running' });
      expect(host.vmConfigs.at(-1)?.wakeFrom).toEqual({ state: { state: stateFile() }, restoredLayout: false });

      await runtime.hibernate(ID);
      host.failAt = 'agent';
      host.hibernateFails = true;
      const failed = await runtime.wake(ID);
      expect(failed).toMatchObject({ state: 'failed', error: { code: RuntimeErrorCode.AGENT_CALL_FAILED } });
      expect(failed.error?.message).toMatch(/saving it again failed .*no longer matches its disk/);
      expect(host.vms.size + host.networks.size).toBe(0);
    });

    it('after a restart mid-wake, saves a VM whose guest ran again and keeps it hibernated', async () => {
      await (await open()).create(blockNetworked);
      await runtimes[0].hibernate(ID);
      await runtimes[0].close();
      // As a node agent that died while the woken guest ran, before its agent answered, leaves it.
      const stateJson = join(sandboxDir(), 'state.json');
      host.vms.add(4242);
      writeFileSync(stateJson, JSON.stringify({ ...JSON.parse(readFileSync(stateJson, 'utf8')), state: 'waking', vmmPid: 4242 }));
      host.calls.length = 0;
      const reopened = await open();
      expect(reopened.get(ID)).toMatchObject({ state: 'hibernated' });
      expect(host.calls).toContain(`hibernate ${ID}`);
      expect(readFileSync(join(sandboxDir(), 'hibernated-again.state'), 'utf8')).toBe('saved VM');
      expect(host.vms.size).toBe(0);
    });

    describe('moved to another node', () => {
      const otherNode = () => ({ dataDir: join(dir, 'b-data'), runDir: join(dir, 'b-run') });
      const otherSandboxDir = (vmId: string) => join(dir, 'b-data', 'sandboxes', vmId);

      /** A hibernated sandbox on this node, its files carried (as the node agents do) into `incoming` on the other node. */
      const hibernatedAndCarried = async (restored = false) => {
        if (restored) host.snapshot = { state: '/snap/state', memory: '/snap/memory' };
        const source = await open();
        await source.create(blockNetworked);
        writeFileSync(join(sandboxDir(), 'rootfs.ext4'), 'disk');
        await source.hibernate(ID);
        const { dir: from, files } = await source.moves.savedFiles(ID);
        const incoming = join(dir, 'b-data', 'incoming');
        mkdirSync(incoming, { recursive: true });
        for (const file of files) copyFileSync(join(from, file), join(incoming, file));
        return { source, files, incoming };
      };

      it('hands over its state, saved VM and disk; the other node takes them in with a jail of its own and wakes it there', async () => {
        const { source, files, incoming } = await hibernatedAndCarried();
        expect([...files].sort()).toEqual(['hibernated.state', 'rootfs.ext4', 'state.json']);
        const otherHost = new FakeHost();
        const target = await open(otherNode(), otherHost.deps());
        const arrived = await target.moves.importSaved(ID, incoming);
        expect(arrived).toMatchObject({ id: ID, state: 'hibernated', savedBytes: source.get(ID)?.savedBytes });
        // Its VM, dirs, jail and cgroup are named by a VM id of its own, never the source's (nodes may share a host).
        const vmId = vmIdOf(arrived);
        expect(vmId).not.toBe(ID);
        expect([...otherHost.jails.keys()]).toEqual([vmId]);
        expect(readdirSync(incoming)).toEqual(['state.json']);
        expect(readFileSync(join(otherSandboxDir(vmId), 'rootfs.ext4'), 'utf8')).toBe('disk');
        const state = JSON.parse(readFileSync(join(otherSandboxDir(vmId), 'state.json'), 'utf8'));
        expect(JSON.stringify(state)).not.toContain(sandboxDir());

        const woken = await target.wake(ID);
        expect(woken.state).toBe('running');
        expect(otherHost.vmConfigs.at(-1)?.wakeFrom).toEqual({ state: { state: join(otherSandboxDir(vmId), 'hibernated.state') }, restoredLayout: false });
        expect(otherHost.kept.at(-1)).toEqual({ mac: '02:00:00:00:00:01', address: '10.88.0.2' });
        await expect(target.exec(ID, { command: ['true'] })).resolves.toMatchObject({ exitCode: 0 });
        // The source's copy goes as any hibernated sandbox does.
        await source.delete(ID);
        expect(host.jails.size).toBe(0);
        expect(existsSync(sandboxDir())).toBe(false);
      });

      it("keeps a restored VM's RAM beside its state, carries both and wakes the VM from both into a RAM file", async () => {
        const { source, files, incoming } = await hibernatedAndCarried(true);
        expect(host.calls).toContain(`hibernate ${ID} with its RAM beside`);
        expect([...files].sort()).toEqual(['hibernated.ram', 'hibernated.state', 'rootfs.ext4', 'state.json']);
        const ramBlocks = statSync(join(sandboxDir(), 'hibernated.ram')).blocks * 512;
        const diskBlocks = statSync(join(sandboxDir(), 'rootfs.ext4')).blocks * 512;
        expect(source.get(ID)?.savedBytes).toBe('saved VM'.length + ramBlocks + diskBlocks);
        const otherHost = new FakeHost();
        const target = await open(otherNode(), otherHost.deps());
        const vmId = vmIdOf(await target.moves.importSaved(ID, incoming));
        const saved = (name: string) => join(otherSandboxDir(vmId), name);
        expect(readFileSync(saved('hibernated.ram'), 'utf8')).toBe('saved RAM');
        await expect(target.wake(ID)).resolves.toMatchObject({ state: 'running' });
        expect(otherHost.vmConfigs.at(-1)?.wakeFrom).toEqual({ state: { state: saved('hibernated.state'), memory: saved('hibernated.ram') }, restoredLayout: true });
        expect(existsSync(saved('hibernated.state')) || existsSync(saved('hibernated.ram'))).toBe(false);
      });

      it('refuses what is not a hibernated sandbox of that id, or one saved under another accelerator, leaving nothing', async () => {
        const { incoming } = await hibernatedAndCarried();
        const otherHost = new FakeHost();
        const target = await open(otherNode(), otherHost.deps());
        await expect(target.moves.importSaved('5d1c2b3a-4e5f-4a6b-8c7d-9e0f1a2b3c4d', incoming)).rejects.toMatchObject({ code: RuntimeErrorCode.STATE_CORRUPT });
        const saved = JSON.parse(readFileSync(join(incoming, 'state.json'), 'utf8'));
        writeFileSync(join(incoming, 'state.json'), JSON.stringify({ ...saved, accel: 'kvm' }));
        await expect(target.moves.importSaved(ID, incoming)).rejects.toMatchObject({ code: RuntimeErrorCode.HIBERNATE_UNSUPPORTED, message: expect.stringContaining('saved under kvm') });
        writeFileSync(join(incoming, 'state.json'), '{"version":1}');
        await expect(target.moves.importSaved(ID, incoming)).rejects.toMatchObject({ code: RuntimeErrorCode.STATE_CORRUPT });
        expect(target.get(ID)).toBeUndefined();
        expect(otherHost.jails.size).toBe(0);
        expect(readdirSync(join(dir, 'b-data', 'sandboxes'))).toEqual([]);
        await expect(target.moves.savedFiles(ID)).rejects.toMatchObject({ code: RuntimeErrorCode.SANDBOX_NOT_FOUND });
      });
    });

    describe('live-migrated to another node', () => {
      const otherNode = () => ({ dataDir: join(dir, 'b-data'), runDir: join(dir, 'b-run') });

      it('does not count the health checks its guest misses while its VM waits for the target, paused', async () => {
        const source = await open();
        await source.create(blockNetworked);
        writeFileSync(join(sandboxDir(), 'rootfs.ext4'), 'disk');
        host.guestHung = true;
        let answer: (ran: boolean) => void = () => undefined;
        const target = new Promise<boolean>((resolve) => (answer = resolve));
        const out = source.liveMigration.migrateOut(ID, new PassThrough(), async () => {
          if (!(await target)) throw new Error('the target did not run it');
        });
        // Many watchdog rounds while the target makes up its mind: the sandbox is not failed for them.
        await new Promise((resolve) => setTimeout(resolve, 300));
        expect(source.get(ID)?.state).toBe('running');
        answer(false);
        await expect(out).rejects.toMatchObject({ code: RuntimeErrorCode.MIGRATION_FAILED });
        host.guestHung = false;
        await new Promise((resolve) => setTimeout(resolve, 100));
        expect(source.get(ID)).toMatchObject({ state: 'running' });
      });

      it('streams the running VM to the other node, which runs it with the guest\'s own NIC and disk size; nothing stays here', async () => {
        const source = await open();
        await source.create(blockNetworked);
        writeFileSync(join(sandboxDir(), 'rootfs.ext4'), 'a disk of 21 bytes...');
        const departure = await source.liveMigration.departure(ID);
        expect(departure.diskBytes).toBe(21);
        const otherHost = new FakeHost();
        const target = await open(otherNode(), otherHost.deps());
        const stream = new PassThrough();
        const arrival = target.liveMigration.migrateIn(ID, departure, stream);
        const [migration, arrived] = await Promise.all([source.liveMigration.migrateOut(ID, stream, () => arrival.then(() => undefined)), arrival]);
        expect(migration).toEqual({ bytes: 7, downtimeMs: 5, totalMs: 10 });
        expect(otherHost.migrated).toEqual(['live VM']);
        expect(arrived).toMatchObject({ id: ID, state: 'running' });
        expect(arrived.timings.map((t) => t.phase)).toEqual(['jail', 'sharefs', 'network', 'wake', 'agent']);
        // Its guest runs on: its NIC keeps its MAC and address, no sandbox or container is made again.
        expect(otherHost.kept.at(-1)).toEqual({ mac: '02:00:00:00:00:01', address: '10.88.0.2' });
        // Its network is named by its own VM id: the source's, named by the sandbox id, may still be there on a shared host.
        expect([...otherHost.networks]).toEqual([vmIdOf(arrived)]);
        expect(otherHost.calls).toEqual(['vm block nic 02:00:00:00:00:01 from a live stream', 'waitReady setting the clock']);
        expect(statSync(join(dir, 'b-data', 'sandboxes', vmIdOf(arrived), 'rootfs.ext4')).size).toBe(21);
        await expect(target.exec(ID, { command: ['true'] })).resolves.toMatchObject({ exitCode: 0 });
        // The source let go of it all, without asking its paused guest for anything.
        expect(source.get(ID)).toBeUndefined();
        expect(host.vms.size + host.networks.size + host.jails.size + host.openAgents.size + host.rootfs.size).toBe(0);
        expect(host.calls.filter((call) => call === 'removeContainer' || call === 'destroySandbox')).toEqual([]);
        expect(existsSync(sandboxDir())).toBe(false);
      });

      it('carries the instance its guest agent answers with: an agent started again on the target fails the sandbox there', async () => {
        const source = await open();
        await source.create(blockNetworked);
        writeFileSync(join(sandboxDir(), 'rootfs.ext4'), 'disk');
        // Checked on the source first: the instance it started with is the sandbox's.
        await eventually(() => expect(host.pings).toBeGreaterThan(0));
        const departure = await source.liveMigration.departure(ID);
        const otherHost = new FakeHost();
        // The guest agent died on the target and its VM's init started it again.
        otherHost.agentInstance = 'instance-2';
        const target = await open(otherNode(), otherHost.deps());
        const stream = new PassThrough();
        const arrival = target.liveMigration.migrateIn(ID, departure, stream);
        await Promise.all([source.liveMigration.migrateOut(ID, stream, () => arrival.then(() => undefined)), arrival]);
        await eventually(() => expect(target.get(ID)?.error?.code).toBe(RuntimeErrorCode.GUEST_AGENT_RESTARTED), { timeout: 2_000 });
        expect(otherHost.vms.size + otherHost.jails.size).toBe(0);
      });

      it('leaves a sandbox whose migration failed running where it was, and nothing on the other node', async () => {
        const source = await open();
        await source.create(blockNetworked);
        writeFileSync(join(sandboxDir(), 'rootfs.ext4'), 'disk');
        const departure = await source.liveMigration.departure(ID);
        const otherHost = new FakeHost();
        const target = await open(otherNode(), otherHost.deps());
        host.migrateFails = true;
        const stream = new PassThrough();
        const arriving = target.liveMigration.migrateIn(ID, departure, stream);
        const [out, arrival] = await Promise.allSettled([source.liveMigration.migrateOut(ID, stream, () => arriving.then(() => undefined)), arriving]);
        expect(out).toMatchObject({ status: 'rejected', reason: { code: RuntimeErrorCode.MIGRATION_FAILED } });
        expect(arrival).toMatchObject({ status: 'rejected', reason: { code: RuntimeErrorCode.MIGRATION_FAILED } });
        expect(source.get(ID)?.state).toBe('running');
        await expect(source.exec(ID, { command: ['true'] })).resolves.toMatchObject({ exitCode: 0 });
        expect(target.get(ID)).toBeUndefined();
        expect(otherHost.vms.size + otherHost.networks.size + otherHost.jails.size).toBe(0);
        expect(readdirSync(join(dir, 'b-data', 'sandboxes'))).toEqual([]);
      });

      it('refuses a sandbox that cannot migrate, or is not running', async () => {
        const runtime = await open();
        await runtime.create(spec);
        await expect(runtime.liveMigration.departure(ID)).rejects.toMatchObject({ code: RuntimeErrorCode.HIBERNATE_UNSUPPORTED });
        await runtime.delete(ID);
        await runtime.create(blockNetworked);
        await runtime.hibernate(ID);
        await expect(runtime.liveMigration.migrateOut(ID, new PassThrough(), () => Promise.resolve())).rejects.toMatchObject({ code: RuntimeErrorCode.SANDBOX_NOT_RUNNING });
      });
    });

    it('deletes a hibernated sandbox with its saved state', async () => {
      const runtime = await open();
      await runtime.create(blockNetworked);
      await runtime.hibernate(ID);
      await runtime.delete(ID);
      expect(host.vms.size + host.networks.size + host.jails.size + host.daemons.size).toBe(0);
      expect(existsSync(sandboxDir())).toBe(false);
    });
  });

  describe('forks', () => {
    const source: SandboxSpec = { ...spec, rootfs: 'block', tenantId: 't1', network: { model: 'tcfilter', ports: [] } };
    const CLONES = ['1c5e7a4c-1d2f-4a3b-8c9d-0e1f2a3b4c5d', '2c5e7a4c-1d2f-4a3b-8c9d-0e1f2a3b4c5d'];
    const clone = (id: string, count = CLONES.length): SandboxSpec => ({ ...source, id, forkOf: { sandboxId: ID, forkId: 'fork-1', count } });
    const forkDir = () => join(dir, 'data', 'forks', 'fork-1');

    it('captures the source once for all its clones, starts each from the capture under its own NIC and name, and drops the capture after the last', async () => {
      const runtime = await open();
      await runtime.create(source);
      host.calls.length = 0;
      const [a, b] = await Promise.all(CLONES.map((id) => runtime.create(clone(id))));
      for (const info of [a, b]) {
        expect(info.error).toBeUndefined();
        expect(info).toMatchObject({ state: 'running', rootfs: 'block', network: { ip: '10.88.0.2' } });
        expect(info.timings.map((t) => t.phase)).toEqual(['jail', 'fork', 'network', 'wake', 'agent', 'identity']);
      }
      expect(host.calls.filter((call) => call.startsWith('capture'))).toEqual([`capture ${ID}`]);
      // Each clone's guest is the source's, woken from the capture, then renamed.
      expect(host.calls).toContain(`vm block nic 02:00:00:00:00:01 from ${join(forkDir(), 'vm.state')}`);
      expect(host.calls).toContain('updateInterface eth0 02:00:00:00:00:01');
      expect(host.calls).toEqual(expect.arrayContaining(CLONES.map((id) => `updateHostname ${id.slice(0, 8)}`)));
      expect(existsSync(forkDir())).toBe(false);
      // The guest knows the clone's container by its source's id.
      await runtime.exec(CLONES[0], { command: ['true'] });
      expect(host.execs.at(-1)?.containerId).toBe(ID);
      expect(readFileSync(join(dir, 'data', 'sandboxes', CLONES[0], 'rootfs.ext4'), 'utf8')).toBe('disk');
      // The source runs on.
      expect(runtime.get(ID)?.state).toBe('running');
    });

    it('fails a clone whose source is not running here, leaving nothing', async () => {
      const runtime = await open();
      const info = await runtime.create(clone(CLONES[0], 1));
      expect(info).toMatchObject({ state: 'failed', error: { code: RuntimeErrorCode.FORK_FAILED } });
      expect(info.error?.message).toMatch(/not on this node/);
      expect(host.vms.size + host.networks.size + host.jails.size).toBe(0);
      expect(existsSync(join(dir, 'data', 'forks'))).toBe(false);
    });
  });

  it('re-adopts a running sandbox after a restart and can exec in it', async () => {
    await (await open()).create(spec);
    await runtimes[0].close();
    expect(host.vms.size).toBe(1);

    const reopened = await open();
    expect(reopened.list()).toMatchObject([{ id: ID, state: 'running' }]);
    await expect(reopened.exec(ID, { command: ['true'] })).resolves.toMatchObject({ exitCode: 0 });
  });

  it('fails (not forgets) a running sandbox whose VM died while the runtime was away, and releases it', async () => {
    await (await open()).create(spec);
    await runtimes[0].close();
    host.vms.clear();

    const reopened = await open();
    expect(reopened.list()).toMatchObject([{ id: ID, state: 'failed', error: { code: RuntimeErrorCode.VMM_EXITED } }]);
    expect(reopened.get(ID)?.error?.message).toMatch(/killed by signal 9 \(SIGKILL\) while the node agent was not running/);
    expect(host.daemons.size + host.jails.size).toBe(0);
    expect(existsSync(sandboxDir())).toBe(false);
  });

  it('makes sure a sandbox never has two VMMs: strays are reaped before a start and on release', async () => {
    const runtime = await open();
    await runtime.create(spec);
    expect(host.reaps).toEqual([ID]);
    await runtime.delete(ID);
    expect(host.reaps).toEqual([ID, ID]);
  });

  it('abandons starts in progress when asked (a stopping node agent), releasing what they held', async () => {
    host.agentNeverReady = true;
    const runtime = await open();
    const starting = runtime.create(networked);
    await eventually(() => expect(host.vms.size).toBe(1), { timeout: 1_000 });
    runtime.cancelStarts();
    const info = await starting;
    expect(info).toMatchObject({ state: 'failed', error: { code: RuntimeErrorCode.START_CANCELLED } });
    expect(host.vms.size + host.daemons.size + host.networks.size + host.jails.size + host.rootfs.size + host.openAgents.size).toBe(0);
  });

  it('delete stops the container, sandbox, VM and daemon and removes every file', async () => {
    const runtime = await open();
    await runtime.create(spec);
    await runtime.delete(ID);
    expect(host.calls.slice(-2)).toEqual(['removeContainer', 'destroySandbox']);
    expect(host.vms.size + host.daemons.size + host.openAgents.size + host.jails.size).toBe(0);
    expect(existsSync(sandboxDir()) || existsSync(runDir())).toBe(false);
    await expect(runtime.delete(ID)).resolves.toBeUndefined();
  });

  it('runs an image sandbox with the image config, the requested rootfs kind, and reports pull progress', async () => {
    host.imageProcess = { args: ['/app/run'], env: { PATH: '/app/bin', GREETING: 'image' }, cwd: '/app', user: { uid: 1000, gid: 100 } };
    const runtime = await open();
    const progress: unknown[] = [];
    const info = await runtime.create({ ...spec, image: '127.0.0.1:5000/app:1', rootfs: 'block' }, (i) => i.progress && progress.push(i.progress));
    expect(info).toMatchObject({ state: 'running', rootfs: 'block' });
    expect(info.progress).toBeUndefined();
    expect(progress.at(-1)).toEqual({ phase: 'pull', bytesDone: 100, bytesTotal: 100 });
    const { process } = host.ociSpecs[0];
    expect(process).toMatchObject({ args: ['/app/run'], cwd: '/app', user: { uid: 1000, gid: 100 } });
    // The sandbox's own env wins over the image's.
    expect(process.env).toEqual(expect.arrayContaining(['PATH=/app/bin', 'GREETING=hi']));
    await runtime.exec(ID, { command: ['pwd'] });
    expect(host.execs[0]).toMatchObject({ cwd: '/app', env: expect.arrayContaining(['PATH=/app/bin', 'GREETING=hi']) as unknown });
    await runtime.delete(ID);
    expect(host.rootfs.size).toBe(0);
  });

  it('exec reports unknown and not-running sandboxes by code', async () => {
    const runtime = await open();
    await expect(runtime.exec(ID, { command: ['true'] })).rejects.toMatchObject({ code: RuntimeErrorCode.SANDBOX_NOT_FOUND });
    host.failAt = 'agent';
    await runtime.create(spec);
    await expect(runtime.exec(ID, { command: ['true'] })).rejects.toMatchObject({ code: RuntimeErrorCode.SANDBOX_NOT_RUNNING });
  });

  it('rejects a malformed spec with every problem listed', async () => {
    const runtime = await open();
    await expect(runtime.create({ id: '../etc', vcpus: 0, memoryMiB: 1, env: { 'A B': 'x' } })).rejects.toThrow(
      /id must be a lowercase UUID; vcpus .*; memoryMiB .*; env key "A B"/,
    );
  });
});
