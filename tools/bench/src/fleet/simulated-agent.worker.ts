/**
 * A worker process holding many SIMULATED node agents (see simulated-agent.ts), so that the
 * benchmark's agents are separate processes from the control plane and from each other.
 * Started by SimulatedFleet with its settings in MOAT_SIM_* variables; reports over IPC.
 */
import type { Capacity } from '@moat/proto';
import { SimulatedAgent } from './simulated-agent';
import type { WorkerMessage, WorkerSettings } from './simulated-fleet';

const settings = JSON.parse(process.env.MOAT_SIM_SETTINGS ?? '{}') as WorkerSettings;
const agents: SimulatedAgent[] = [];
let statuses = 0;

function send(message: WorkerMessage): void {
  process.send?.(message);
}

async function startAll(): Promise<void> {
  let next = 0;
  let failed = 0;
  let lastError = '';
  // A bounded number of joins and handshakes in flight, like hosts booting over a while.
  const lane = async (): Promise<void> => {
    while (next < settings.count) {
      const index = settings.firstIndex + next;
      const joinToken = settings.joinTokens?.[next];
      next++;
      const agent = new SimulatedAgent({
        url: settings.url,
        joinToken,
        token: joinToken ? undefined : settings.token,
        name: `sim-${String(index).padStart(5, '0')}`,
        capacity: settings.capacity,
        heartbeatMs: settings.heartbeatMs,
        onStatus: () => {
          statuses++;
        },
      });
      try {
        await agent.start();
        agents.push(agent);
      } catch (err) {
        failed++;
        lastError = (err as Error).message;
      }
    }
  };
  await Promise.all(Array.from({ length: settings.connectConcurrency }, lane));
  send({ kind: 'started', connected: agents.length, failed, lastError });
}

process.on('message', (message: { kind: 'report' } | { kind: 'stop' } | { kind: 'resize'; capacity: Capacity }) => {
  if (message.kind === 'resize') {
    Promise.all(agents.map((a) => a.hello(message.capacity))).then(
      () => send({ kind: 'resized' }),
      (err: unknown) => process.stderr.write(`resize failed: ${String(err)}\n`),
    );
  } else if (message.kind === 'report') {
    send({
      kind: 'report',
      connected: agents.filter((a) => a.connected).length,
      sandboxes: agents.reduce((n, a) => n + a.running.size, 0),
      desiredSets: agents.reduce((n, a) => n + a.desiredSets, 0),
      statuses,
    });
  } else {
    agents.forEach((a) => a.stop());
    process.exit(0);
  }
});

startAll().catch((err: unknown) => {
  send({ kind: 'started', connected: agents.length, failed: settings.count - agents.length, lastError: String(err) });
});
