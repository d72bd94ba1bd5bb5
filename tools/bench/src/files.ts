/**
 * Files benchmark: a file of `--mb` MB (default 100) uploaded with `PUT /v1/sandboxes/:id/files`
 * and downloaded with `GET`, through a whole local Moat (control plane, node agent, a real VM),
 * `--runs` times each way; MB/s per run and the median, and the sha256 checked both ways.
 * Usage: node tools/bench/dist/files.js [--mb N] [--runs N] [--data-dir DIR]
 */
import { createHash, randomBytes } from 'node:crypto';
import { parseArgs } from 'node:util';
import { apiClient } from './api.client';
import { startBenchStack } from './bench-stack';
import { DATA_DIR_OPTION, positiveInt } from './cli';
import { summarize } from './stats';
import { until } from './wait';

const MB = 1024 * 1024;
const sha256 = (data: Uint8Array): string => createHash('sha256').update(data).digest('hex');

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { mb: { type: 'string', default: '100' }, runs: { type: 'string', default: '3' }, 'data-dir': DATA_DIR_OPTION } });
  const bytes = positiveInt('mb', values.mb) * MB;
  const runs = positiveInt('runs', values.runs);
  const stack = await startBenchStack(values['data-dir'], 'files', {
    web: false,
    env: { MOAT_NET_BRIDGE_PREFIX: 'mfile', MOAT_NET_SUBNET_POOL: '10.244.0.0/16', MOAT_DNS_SERVERS: '', MOAT_NODE_METRICS_ADDR: 'off', MOAT_LOG_LEVEL: 'warn' },
  });
  try {
    const admin = apiClient(stack.apiUrl, stack.adminToken);
    // The file lands in the container's writable rootfs: room for it, and for the guest's page cache.
    const { id } = await admin.call<{ id: string }>('POST', '/v1/sandboxes', { vcpus: 1, memoryMiB: 512 }, 201);
    await until('the sandbox to run', async () => ((await admin.call<{ state: string }>('GET', `/v1/sandboxes/${id}`)).state === 'running' ? true : undefined), 300_000);
    const data = randomBytes(bytes);
    const digest = sha256(data);
    const url = `${stack.apiUrl}/v1/sandboxes/${id}/files?path=/tmp/bench.bin`;
    const auth = { authorization: `Bearer ${stack.adminToken}` };
    const up: number[] = [];
    const down: number[] = [];
    for (let run = 0; run < runs; run++) {
      let t0 = performance.now();
      const put = await fetch(url, { method: 'PUT', headers: { ...auth, 'content-type': 'application/octet-stream' }, body: data });
      if (put.status !== 201 && put.status !== 200) throw new Error(`upload: ${put.status} ${await put.text()}`);
      up.push(bytes / MB / ((performance.now() - t0) / 1000));
      t0 = performance.now();
      const got = await fetch(url, { headers: auth });
      const back = new Uint8Array(await got.arrayBuffer());
      if (got.status !== 200 || sha256(back) !== digest) throw new Error(`download: ${got.status}, ${back.length} bytes, sha256 ${sha256(back) === digest ? 'equal' : 'differs'}`);
      down.push(bytes / MB / ((performance.now() - t0) / 1000));
      console.log(`run ${run + 1}: upload ${up.at(-1)?.toFixed(2)} MB/s, download ${down.at(-1)?.toFixed(2)} MB/s`);
    }
    console.log(`files through the API (${values.mb} MB, ${runs} runs, sha256 equal both ways): upload p50 ${summarize(up).p50.toFixed(2)} MB/s, download p50 ${summarize(down).p50.toFixed(2)} MB/s`);
    await admin.call('DELETE', `/v1/sandboxes/${id}`, undefined, 202);
  } finally {
    await stack.stop();
  }
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? error.message : error);
  process.exit(1);
});
