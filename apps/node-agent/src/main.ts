import { randomUUID } from 'node:crypto';
import { readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { resolveGuestImage } from '@moat/guest-image';
import { EXEC_DEFAULT_TIMEOUT_MS } from '@moat/proto';
import { nodeTasksSocket } from '@moat/proto/node-tasks';
import { SandboxRuntime, detectHost, loadConflist, mkdirDurable, writeFileAtomic } from '@moat/runtime-core';
import pino, { type Logger } from 'pino';
import { loadAgentConfig } from './config/agent.config';
import { controlPlanePost } from './fleet/control-plane.http';
import { FleetConnection } from './fleet/fleet.connection';
import { FileTransfers } from './files/file-transfers';
import { IDLE_CHECK_INTERVAL_MS, IdleTracker } from './idle/idle-tracker';
import { readSandboxLogs } from './logs/sandbox-logs.handler';
import { SessionManager } from './sessions/session.manager';
import { nodeToken } from './fleet/node-credential';
import { lockNodeDir } from './lock/node-dir.lock';
import { NodeMetrics } from './metrics/node.metrics';
import { serveMetrics } from './metrics/metrics.server';
import { Reconciler } from './reconcile/reconciler';
import { MoveArrivals } from './move/move-arrivals';
import { MoveDepartures } from './move/move-departures';
import { MoveSessions } from './move/move-sessions';
import { SandboxMigrations } from './move/sandbox-migrations';
import { SandboxMoves } from './move/sandbox-moves';
import { HeartbeatReport } from './containerd/containerd-report';
import { ContainerdTasks } from './containerd/containerd-tasks';
import { serveNodeTasks } from './containerd/node-tasks.server';

const AGENT_VERSION = '0.1.0';

async function main(): Promise<void> {
  // Before the runtime holds any VM, a stop is an exit; from then on it waits until the agent has
  // started: with MOAT_STOP_SANDBOXES_ON_EXIT, only a started agent stops the VMs it re-adopted.
  let holdsVms = false;
  const started: { stop?: (signal: string) => Promise<void> } = {};
  let stopAsked: string | undefined;
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.on(signal, () => {
      if (started.stop) void started.stop(signal);
      else if (holdsVms) stopAsked ??= signal;
      else process.exit(0);
    });
  }
  const config = loadAgentConfig();
  const log = pino({ name: 'node-agent', level: config.logLevel });
  await mkdirDurable(config.nodeDir);
  // Before the agent touches its state; held (kept referenced by `stop`) until it exits.
  const lock = await lockNodeDir(config.nodeDir);
  const nodeId = await loadNodeId(config.nodeDir);
  const guestImage = await resolveGuestImage(config.dataDir);
  const host = await detectHost(config.accel);
  const accel = host.accel;
  log.info({ nodeId, name: config.nodeName, accel, guestImage: guestImage.id }, 'node agent starting');
  if (config.insecure) {
    log.warn({ controlPlane: config.controlPlaneUrl }, "MOAT_INSECURE=true: the node's credential crosses the network in plain HTTP");
  }

  const token = await nodeToken({
    nodeDir: config.nodeDir,
    controlPlaneUrl: config.controlPlaneUrl,
    nodeId,
    nodeName: config.nodeName,
    auth: config.auth,
    log,
    post: controlPlanePost(config.controlPlaneCa),
  });

  holdsVms = true;
  const runtime = await SandboxRuntime.open({
    dataDir: config.nodeDir,
    runDir: config.runDir,
    guestImage,
    accel,
    sharedFs: config.sharedFs,
    bootSnapshots: config.bootSnapshots,
    warmPool: config.warmPool,
    jail: config.jail,
    jailIdRange: config.jailIdRange,
    dnsServers: config.dnsServers,
    logBufferBytes: config.logBufferBytes,
    images: {
      insecureRegistries: config.insecureRegistries,
      maxCacheBytes: config.imageCacheMaxBytes,
      credentials: (registry) => config.registryAuth[registry],
    },
    network: {
      stateDir: join(config.nodeDir, 'network'),
      cniPath: config.network.cniPath,
      ...(config.network.conflistFile && { conflist: await loadConflist(config.network.conflistFile) }),
      bridgePrefix: config.network.bridgePrefix,
      subnetPool: config.network.subnetPool,
    },
    log: runtimeLogger(log),
  });
  const containerdTasks = new ContainerdTasks(runtime, log);
  // containerd's tasks count against the node's capacity: every heartbeat lists them.
  const heartbeatReport = new HeartbeatReport();
  const tasksServer = await serveNodeTasks(containerdTasks, nodeTasksSocket(config.runDir), log);
  // The reconciler reports only after the connection exists: setDesired comes from it.
  const metrics = new NodeMetrics(() => runtime.list(), () => runtime.warmPool());
  const metricsServer = config.metricsAddr && (await serveMetrics(metrics.registry, config.metricsAddr, log));
  // Auto-hibernate: what the relays below use and the NICs' counters tell which sandboxes are idle.
  const idle = new IdleTracker((sandboxId) => runtime.trafficBytes(sandboxId));
  // Sandboxes taken in from other nodes, kept until the control plane places them here.
  const arrivals = new MoveArrivals();
  // Sandboxes migrated to other nodes, not created again until the control plane places them there.
  const departures = new MoveDepartures();
  const reconciler = new Reconciler(runtime, (status) => fleet.report(status), log, config.network.defaultModel, metrics, idle, arrivals, departures);
  // Where other nodes reach this one: MOAT_NODE_ADDRESS, else, as the hello leaves it to the control
  // plane, the address the control plane sees this node connect from, which every desired set tells.
  let underlayAddress = config.network.nodeAddress;
  // No move outlives the agent: what a killed one was unpacking is left over.
  const receiveDir = join(config.nodeDir, 'moves');
  await rm(receiveDir, { recursive: true, force: true });
  const moveSessions = new MoveSessions({ address: () => underlayAddress, log });
  const moves = new SandboxMoves({ runtime: runtime.moves, receiveDir, sessions: moveSessions, arrivals, log });
  const migrations = new SandboxMigrations({
    runtime: {
      departure: (sandboxId) => runtime.liveMigration.departure(sandboxId),
      migrateOut: (sandboxId, sink, ran) => runtime.liveMigration.migrateOut(sandboxId, sink, ran),
      migrateIn: (sandboxId, departure, source) => runtime.liveMigration.migrateIn(sandboxId, departure, source),
      delete: (sandboxId) => runtime.delete(sandboxId),
    },
    sessions: moveSessions,
    arrivals,
    departures,
    log,
  });
  const idleChecks = setInterval(() => {
    reconciler.checkIdle().catch((err: unknown) => log.warn({ err }, 'idle check failed'));
  }, IDLE_CHECK_INTERVAL_MS);
  const fleet: FleetConnection = new FleetConnection(
    { url: config.controlPlaneUrl, ca: config.controlPlaneCa, token, nodeId, heartbeatMs: config.heartbeatMs },
    {
      hello: () => ({
        name: config.nodeName,
        capacity: { vcpus: host.vcpus, memoryMiB: host.memoryMiB },
        accel,
        hypervisors: host.hypervisors,
        agentVersion: AGENT_VERSION,
        jailed: config.jail,
        sandboxOverheadMiB: runtime.sandboxOverheadMiB(),
        cpuOvercommit: config.cpuOvercommit,
        memoryReserveMiB: config.memoryReserveMiB,
        // The control plane counts what the pool's VMs hold as the node's, not as free.
        warmPool: runtime.warmPool().map(({ shape, target }) => ({ ...shape, count: target })),
        ...(config.network.nodeAddress && { address: config.network.nodeAddress }),
      }),
      heartbeat: () => heartbeatReport.of(runtime.list()),
      onDesired: (state) => {
        underlayAddress = config.network.nodeAddress ?? state.underlayAddress ?? underlayAddress;
        reconciler.setDesired(state);
      },
      onTenantPeers: (update) => reconciler.setTenantPeers(update),
      exec: async (req) => {
        const started = performance.now();
        // A deployment's health check is not a use: it would keep every probed replica awake.
        const release = req.probe ? undefined : idle.hold(req.sandboxId);
        const out = await runtime
          .exec(req.sandboxId, {
            command: req.command,
            stdin: req.stdin === undefined ? undefined : Buffer.from(req.stdin),
            env: req.env,
            cwd: req.cwd,
            timeoutMs: req.timeoutMs ?? EXEC_DEFAULT_TIMEOUT_MS,
            tty: req.tty,
          })
          .finally(release);
        return {
          exitCode: out.exitCode,
          stdout: out.stdout.toString('utf8'),
          stderr: out.stderr.toString('utf8'),
          signal: out.signal,
          timedOut: out.timedOut,
          oomKilled: out.oomKilled,
          guestMs: performance.now() - started,
        };
      },
      stats: async (sandboxId) => {
        const { cpu, memory, pids, io } = await runtime.stats(sandboxId);
        return {
          cpu,
          memory: { currentBytes: memory.currentBytes, maxBytes: memory.maxBytes, limitBytes: memory.limitBytes },
          pids,
          io,
          at: new Date().toISOString(),
        };
      },
      setPaused: (sandboxId, paused) => runtime.setPaused(sandboxId, paused),
      logs: (req) => readSandboxLogs((sandboxId) => runtime.logs(sandboxId), req),
      sessions: new SessionManager(
        runtime,
        {
          output: (output): Promise<void> => fleet.sessionOutput(output),
          exit: (exit) => fleet.sessionExit(exit),
          error: (sessionId, error) => fleet.sessionError(sessionId, error),
        },
        log,
        idle,
      ),
      files: new FileTransfers(runtime, idle),
      moves,
      migrations,
    },
    log,
  );

  let stopping = false;
  started.stop = async (signal: string): Promise<void> => {
    if (stopping) return;
    stopping = true;
    log.info({ signal, stopSandboxes: config.stopSandboxesOnExit }, 'node agent stopping');
    clearInterval(idleChecks);
    fleet.close();
    metricsServer?.close();
    await tasksServer.close();
    await moveSessions.close();
    // Sandboxes still starting would otherwise be finished (a boot can take a minute) only to be
    // deleted; abandoned, each releases what it acquired so far.
    if (config.stopSandboxesOnExit) runtime.cancelStarts();
    await reconciler.idle();
    if (config.stopSandboxesOnExit) await Promise.all([reconciler.deleteAll(), containerdTasks.deleteAll()]);
    await runtime.close();
    await lock.release();
    process.exit(0);
  };
  if (stopAsked) void started.stop(stopAsked);
}

/** The node's identity survives restarts, so the control plane recognises it on reconnect. */
async function loadNodeId(nodeDir: string): Promise<string> {
  const file = join(nodeDir, 'node-id');
  try {
    return (await readFile(file, 'utf8')).trim();
  } catch {
    const id = randomUUID();
    await writeFileAtomic(file, `${id}\n`);
    return id;
  }
}

function runtimeLogger(log: Logger) {
  return (level: 'debug' | 'info' | 'warn' | 'error', msg: string, fields?: Record<string, unknown>) =>
    log[level](fields ?? {}, msg);
}

main().catch((err: unknown) => {
  console.error(err instanceof Error ? err.message : err);
  process.exit(1);
});
