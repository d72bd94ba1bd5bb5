/**
 * SIMULATED node agents for fleet benchmarks: real socket.io connections speaking the real
 * fleet protocol, but with a simulated runtime — no VM is started. A sandbox that appears in
 * a node's desired set is reported `running` at once, one that leaves it `gone`, and every
 * health-check exec passes. One process holds many agents.
 * Usage: node tools/bench/dist/fleet/simulated-agent.js --url URL --token TOKEN --count N
 * Prints `ready <N>` once every agent said hello.
 */
import { randomUUID } from 'node:crypto';
import { parseArgs } from 'node:util';
import {
  AGENTS_NAMESPACE,
  type AckReply,
  type AgentToControlPlaneEvents,
  type ControlPlaneToAgentEvents,
} from '@moat/proto';
import { io, type Socket } from 'socket.io-client';

const HEARTBEAT_MS = 5_000;

type AgentSocket = Socket<ControlPlaneToAgentEvents, AgentToControlPlaneEvents>;

/** Capacity each simulated node reports. */
export const SIMULATED_CAPACITY = { vcpus: 64, memoryMiB: 262_144 };

/** Connects one simulated agent; resolves once the control plane acknowledged its hello. */
export async function startSimulatedAgent(url: string, token: string, index: number): Promise<AgentSocket> {
  const nodeId = randomUUID();
  const socket: AgentSocket = io(`${url}${AGENTS_NAMESPACE}`, {
    transports: ['websocket'],
    auth: { token, nodeId },
    reconnection: false,
    forceNew: true,
  });
  const runs = new Set<string>();
  socket.on('sandboxes:desired', (state) => {
    const wanted = new Set(state.sandboxes.map((s) => s.id));
    for (const id of wanted) {
      if (runs.has(id)) continue;
      runs.add(id);
      socket.emit('sandbox:status', { id, state: 'running', timings: [] });
    }
    for (const id of runs) {
      if (wanted.has(id)) continue;
      runs.delete(id);
      socket.emit('sandbox:status', { id, state: 'gone', timings: [] });
    }
  });
  socket.on('sandbox:exec', (_request, ack) => ack({ ok: true, result: { exitCode: 0, stdout: '', stderr: '' } }));
  await new Promise<void>((resolve, reject) => {
    socket.once('connect', () => resolve());
    socket.once('connect_error', reject);
  });
  const reply = (await socket.timeout(60_000).emitWithAck('node:hello', {
    name: `simulated-${index}`,
    capacity: SIMULATED_CAPACITY,
    accel: 'tcg',
    hypervisors: ['simulated'],
    agentVersion: 'simulated',
  })) as AckReply<{ nodeId: string }>;
  if (!reply.ok) throw new Error(`hello refused: ${reply.error.message}`);
  const timer = setInterval(() => socket.emit('node:heartbeat', { sandboxIds: [...runs] }), HEARTBEAT_MS);
  socket.on('disconnect', (reason) => {
    clearInterval(timer);
    // Closing at the end of a run is expected; anything else (a ping timeout) is worth seeing.
    if (reason !== 'io client disconnect') process.stderr.write(`simulated-${index} disconnected: ${reason}\n`);
  });
  return socket;
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: { url: { type: 'string' }, token: { type: 'string' }, count: { type: 'string', default: '1' }, offset: { type: 'string', default: '0' } },
  });
  if (!values.url || !values.token) throw new Error('--url and --token are required');
  const count = Number(values.count);
  const offset = Number(values.offset);
  const sockets: AgentSocket[] = [];
  // Connect in small waves so the control plane is not flooded with handshakes at once.
  for (let i = 0; i < count; i += 50) {
    const wave = Array.from({ length: Math.min(50, count - i) }, (_, j) => startSimulatedAgent(values.url ?? '', values.token ?? '', offset + i + j));
    sockets.push(...(await Promise.all(wave)));
  }
  process.stdout.write(`ready ${sockets.length}\n`);
  const stop = (): void => {
    sockets.forEach((s) => s.close());
    process.exit(0);
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
}

if (process.argv[1]?.endsWith('simulated-agent.js')) {
  main().catch((err: unknown) => {
    console.error(err);
    process.exit(1);
  });
}
