/**
 * The health probe's own thread (see health-probe.ts): asks `GET /healthz` every `intervalMs`
 * on a new connection and posts each answer's time, stamped on the wall clock, until told to stop.
 */
import { parentPort, workerData, type MessagePort } from 'node:worker_threads';
import { JsonClient } from './json-client';
import type { ProbeSample, ProbeSettings } from './health-probe';

const { url, intervalMs } = workerData as ProbeSettings;
const port: MessagePort = parentPort ?? fail();

function fail(): never {
  throw new Error('health-probe.worker runs as a worker thread');
}
const client = new JsonClient(url, { connections: 1, keepAlive: false });
let running = true;
port.on('message', () => {
  running = false;
});

async function run(): Promise<void> {
  while (running) {
    const start = performance.now();
    const answered = await client.send('GET', '/healthz').then(
      ({ status }) => status === 200,
      () => false,
    );
    const sample: ProbeSample = { at: performance.timeOrigin + start, ms: performance.now() - start };
    if (answered) port.postMessage(sample);
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
  client.close();
  // The port would keep the thread alive; closing it ends the thread.
  port.close();
}

void run();
