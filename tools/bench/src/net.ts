/**
 * Network benchmark, per network model:
 *  - plumbing: one sandbox's network attach (netns, CNI ADD, model plumbing) and detach
 *    (model, CNI DEL, netns), repeated without a VM; the tenant's bridge is kept up by an
 *    anchor sandbox, so the figures are per sandbox, not per tenant;
 *  - throughput: host → guest and guest → host TCP through a real VM (busybox `nc` in the
 *    guest, a Node socket on the host).
 *  - across nodes (net-fleet.ts): one tenant's sandboxes on one node against on two, over the
 *    tenant's VXLAN overlay, in a fleet of two real nodes on this machine (skip: --no-fleet).
 * Traffic stays on a bench-only bridge prefix and subnet pool. It also times the tcfilter
 * plumbing batched against one fork per command.
 * Usage: node tools/bench/dist/net.js [--runs N] [--models tcfilter,macvtap,bridge] [--no-vm] [--no-fleet] [--mib N] [--pings N] [--data-dir DIR]
 */
import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { parseArgs } from 'node:util';
import { resolveGuestImage } from '@moat/guest-image';
import { NETWORK_MODELS, SandboxNetworks, SandboxRuntime, detectHost, type NetworkModelKind, type NetworkOptions, type NetworkState } from '@moat/runtime-core';
import { DATA_DIR_OPTION, positiveInt } from './cli';
import { describePath, measureAcrossNodes } from './net-fleet';
import { formatMs, summarize } from './stats';

const BENCH_TENANT = 'bench';
const SINK_PORT = 5201;
const SOURCE_PORT = 5203;

async function plumbing(options: NetworkOptions, model: NetworkModelKind, runs: number, runDir: string): Promise<{ attach: number[]; detach: number[] }> {
  const networks = await SandboxNetworks.create(options);
  const attachOne = async (id: string): Promise<NetworkState> => {
    mkdirSync(join(runDir, id), { recursive: true });
    const request = { sandboxId: id, tenantId: BENCH_TENANT, spec: { model, ports: [{ containerPort: 80, protocol: 'tcp' as const }] }, runDir: join(runDir, id), dnsServers: [] };
    const { state, nicFd } = await networks.attach(request, () => Promise.resolve());
    // No VMM takes the NIC here; closing the descriptor is what a VMM's exit does.
    networks.releaseNicFd(nicFd);
    return state;
  };
  const anchorId = randomUUID();
  const anchor = await attachOne(anchorId);
  const attach: number[] = [];
  const detach: number[] = [];
  try {
    for (let i = 0; i < runs; i++) {
      const id = randomUUID();
      const t0 = performance.now();
      const state = await attachOne(id);
      attach.push(performance.now() - t0);
      const t1 = performance.now();
      await networks.detach(id, state, join(runDir, id));
      detach.push(performance.now() - t1);
    }
  } finally {
    await networks.detach(anchorId, anchor, join(runDir, anchorId));
  }
  return { attach, detach };
}

/**
 * What batching buys: the tcfilter plumbing (tap + two ingress qdiscs + two redirect filters)
 * as one `ip -batch` and one `tc -batch`, against one `ip`/`tc` fork per command, each in a
 * fresh netns with a veth standing in for CNI's.
 */
async function batching(runs: number): Promise<{ batched: number[]; perCommand: number[] }> {
  const ipLines = ['link set lo up', 'tuntap add dev tap0 mode tap', 'link set dev tap0 up'];
  const tcLines = [
    'qdisc add dev eth0 ingress',
    'qdisc add dev tap0 ingress',
    'filter add dev eth0 parent ffff: protocol all u32 match u32 0 0 action mirred egress redirect dev tap0',
    'filter add dev tap0 parent ffff: protocol all u32 match u32 0 0 action mirred egress redirect dev eth0',
  ];
  const run = (cmd: string, args: string[], input?: string) =>
    new Promise<void>((res, rej) => {
      const child = execFile(cmd, args, (error) => (error ? rej(new Error(`${cmd} ${args.join(" ")}: ${error.message}`)) : res()));
      child.stdin?.end(input);
    });
  const sample = async (plumb: (ns: string) => Promise<void>): Promise<number> => {
    const ns = `moat-bench-${randomUUID().slice(0, 8)}`;
    await run('ip', ['netns', 'add', ns]);
    try {
      await run('ip', ['-n', ns, 'link', 'add', 'eth0', 'type', 'veth', 'peer', 'name', 'peer0']);
      const t0 = performance.now();
      await plumb(ns);
      return performance.now() - t0;
    } finally {
      await run('ip', ['netns', 'del', ns]);
    }
  };
  const batched: number[] = [];
  const perCommand: number[] = [];
  for (let i = 0; i < runs; i++) {
    batched.push(
      await sample(async (ns) => {
        await run('ip', ['-n', ns, '-batch', '-'], `${ipLines.join('\n')}\n`);
        await run('tc', ['-n', ns, '-batch', '-'], `${tcLines.join('\n')}\n`);
      }),
    );
    perCommand.push(
      await sample(async (ns) => {
        for (const line of ipLines) await run('ip', ['-n', ns, ...line.split(' ')]);
        for (const line of tcLines) await run('tc', ['-n', ns, ...line.split(' ')]);
      }),
    );
  }
  return { batched, perCommand };
}

/** MiB/s for `mib` MiB each way between the host and a real VM on the model's network. */
async function throughput(runtime: SandboxRuntime, model: NetworkModelKind, mib: number): Promise<{ toGuest: number; fromGuest: number }> {
  const id = randomUUID();
  try {
    const info = await runtime.create({ id, vcpus: 1, memoryMiB: 256, env: {}, tenantId: BENCH_TENANT, network: { model, ports: [] } });
    if (info.state !== 'running' || !info.network) throw new Error(`sandbox ${info.state}: ${info.error?.message ?? 'no network'}`);
    const ip = info.network.ip;

    // host → guest: busybox nc hands the connection to dd, which sinks it and exits at EOF.
    // (-e keeps nc's own stdin out of the way: nc quits when its stdin ends.)
    const listen = await runtime.exec(id, { command: ['sh', '-c', `nc -l -p ${SINK_PORT} -e dd of=/dev/null bs=65536 >/dev/null 2>&1 </dev/null &`] });
    if (listen.exitCode !== 0) throw new Error(`guest nc -l: ${listen.stderr.toString()}`);
    const toGuest = await sendTo(ip, SINK_PORT, mib);

    // guest → host: the host connects (a guest reaches no port of its node) and counts what the
    // guest's nc sends until it closes.
    const serve = await runtime.exec(id, { command: ['sh', '-c', `nc -l -p ${SOURCE_PORT} -e dd if=/dev/zero bs=65536 count=${mib * 16} >/dev/null 2>&1 </dev/null &`] });
    if (serve.exitCode !== 0) throw new Error(`guest nc -l: ${serve.stderr.toString()}`);
    const { bytes, ms } = await receiveFrom(ip, SOURCE_PORT);
    return { toGuest, fromGuest: bytes / (1024 * 1024) / (ms / 1000) };
  } finally {
    await runtime.delete(id);
  }
}

async function sendTo(host: string, port: number, mib: number): Promise<number> {
  const chunk = Buffer.alloc(1024 * 1024);
  const socket = await connectWithRetry(host, port);
  const t0 = performance.now();
  // pipeline ends the socket after the last chunk and rejects if the guest closes early.
  await pipeline(
    Readable.from((function* () {
      for (let i = 0; i < mib; i++) yield chunk;
    })()),
    socket,
  );
  return mib / ((performance.now() - t0) / 1000);
}

async function connectWithRetry(host: string, port: number): Promise<Socket> {
  for (let attempt = 0; ; attempt++) {
    try {
      return await new Promise<Socket>((res, rej) => {
        const socket = connect(port, host, () => res(socket));
        socket.once('error', rej);
      });
    } catch (error) {
      if (attempt >= 50) throw error;
      await new Promise((r) => setTimeout(r, 100));
    }
  }
}

/** Connects to the guest and counts what it sends, from the first byte until it closes. */
async function receiveFrom(host: string, port: number): Promise<{ bytes: number; ms: number }> {
  const socket = await connectWithRetry(host, port);
  return new Promise((res, rej) => {
    let bytes = 0;
    let t0 = 0;
    socket.on('data', (data: Buffer) => {
      if (bytes === 0) t0 = performance.now();
      bytes += data.length;
    });
    socket.once('close', () => res({ bytes, ms: performance.now() - t0 }));
    socket.once('error', rej);
  });
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      runs: { type: 'string', default: '50' },
      models: { type: 'string', default: NETWORK_MODELS.join(',') },
      'no-vm': { type: 'boolean', default: false },
      'no-fleet': { type: 'boolean', default: false },
      pings: { type: 'string', default: '20' },
      mib: { type: 'string', default: '64' },
      'data-dir': DATA_DIR_OPTION,
    },
  });
  const runs = positiveInt('runs', values.runs);
  const mib = positiveInt('mib', values.mib);
  const pings = positiveInt('pings', values.pings);
  const models = values.models.split(',') as NetworkModelKind[];
  if (models.some((m) => !NETWORK_MODELS.includes(m))) throw new Error(`--models takes ${NETWORK_MODELS.join(',')}`);
  const work = mkdtempSync(join(tmpdir(), 'moat-bench-net-'));
  const options: NetworkOptions = { stateDir: join(work, 'network'), bridgePrefix: 'mtbench', subnetPool: '10.251.0.0/16' };
  let runtime: SandboxRuntime | undefined;
  try {
    if (!values['no-vm']) {
      const image = await resolveGuestImage(resolve(values['data-dir']));
      const { accel } = await detectHost('auto');
      runtime = await SandboxRuntime.open({ dataDir: join(work, 'node'), runDir: join(work, 'run'), guestImage: image, accel, network: options });
      console.log(`network benchmark: accel ${accel}, plumbing over ${runs} sandboxes, ${mib} MiB each way per model`);
    }
    const { batched, perCommand } = await batching(runs);
    console.log(
      `tcfilter plumbing without CNI: batched (2 forks) p50 ${formatMs(summarize(batched).p50)} p95 ${formatMs(summarize(batched).p95)}; ` +
        `one fork per command (7) p50 ${formatMs(summarize(perCommand).p50)} p95 ${formatMs(summarize(perCommand).p95)}`,
    );
    console.log('model     attach p50 / p95     detach p50 / p95     host→guest    guest→host');
    for (const model of models) {
      const { attach, detach } = await plumbing(options, model, runs, join(work, 'plumb'));
      const a = summarize(attach);
      const d = summarize(detach);
      const tp = runtime ? await throughput(runtime, model, mib) : undefined;
      const rate = (v: number | undefined) => (v === undefined ? '-' : `${v.toFixed(1)} MiB/s`);
      console.log(
        `${model.padEnd(9)} ${formatMs(a.p50).padStart(7)} / ${formatMs(a.p95).padEnd(9)} ${formatMs(d.p50).padStart(7)} / ${formatMs(d.p95).padEnd(9)} ${rate(tp?.toGuest).padStart(12)}  ${rate(tp?.fromGuest).padStart(12)}`,
      );
    }
  } finally {
    await runtime?.close();
    rmSync(work, { recursive: true, force: true });
  }
  if (values['no-vm'] || values['no-fleet']) return;
  console.log(`one tenant across a fleet of two nodes on this machine (the default model), ${pings} pings and ${mib} MiB per path:`);
  const { sameNode, acrossNodes } = await measureAcrossNodes(resolve(values['data-dir']), mib, pings);
  console.log(`  same node:     ${describePath(sameNode)}`);
  console.log(`  across nodes:  ${describePath(acrossNodes)}`);
  console.log(
    `  across / same: ping p50 ×${(summarize(acrossNodes.rttMs).p50 / summarize(sameNode.rttMs).p50).toFixed(2)}, TCP ×${(acrossNodes.mibPerSecond / sameNode.mibPerSecond).toFixed(2)}`,
  );
}

main().catch((err: unknown) => {
  console.error(err instanceof Error ? err.message : err);
  process.exit(1);
});
