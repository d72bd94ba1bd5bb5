/**
 * containerd shim benchmark: `ctr run --rm <image> <id> true` end to end through Debian's
 * containerd 1.6, with Moat's runtime (io.containerd.moat.v2: a real VM per task, started by the
 * node agent of a whole local Moat) and with runc (io.containerd.runc.v2), on the same image,
 * alternating, `--runs` times each after one warm-up run of each (Moat's first VM of a shape
 * boots cold and saves the boot snapshot the later ones are restored from). Prints each run, the
 * medians and their ratio.
 * Usage: node tools/bench/dist/shim.js [--runs N] [--data-dir DIR]
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { busyboxLayer, startRegistry } from '@moat/test-registry';
import { startBenchStack } from './bench-stack';
import { DATA_DIR_OPTION, positiveInt } from './cli';
import { importToolModule } from './dev-module';
import { summarize } from './stats';

interface CtrResult {
  status: number | null;
  stdout: string;
  stderr: string;
}

interface OwnContainerd {
  ctr(args: string[]): Promise<CtrResult>;
  stop(): Promise<void>;
}

type ContainerdModule = {
  MOAT_RUNTIME: string;
  startContainerd(opts: { dir: string; env?: Record<string, string> }): Promise<OwnContainerd>;
};

const RUNC_RUNTIME = 'io.containerd.runc.v2';
const NS = 'moat-bench';

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { runs: { type: 'string', default: '5' }, 'data-dir': DATA_DIR_OPTION } });
  const runs = positiveInt('runs', values.runs);
  const containerdModule = await importToolModule<ContainerdModule>('containerd/containerd.mjs');
  const { MOAT_RUNTIME } = containerdModule;
  // A run dir of its own: the shim finds this stack's node agent there, not another's.
  const runDir = `/run/moat/bench-shim-${process.pid}`;
  const stack = await startBenchStack(values['data-dir'], 'shim', { web: false, env: { MOAT_RUN_DIR: runDir, MOAT_NODE_METRICS_ADDR: 'off', MOAT_LOG_LEVEL: 'warn' } });
  const registry = await startRegistry();
  let containerd: OwnContainerd | undefined;
  try {
    const image = await registry.push('moat/busybox', 'bench', { layers: [busyboxLayer()] });
    containerd = await containerdModule.startContainerd({ dir: mkdtempSync('/tmp/ctrd-'), env: { MOAT_RUN_DIR: runDir } });
    const ctr = (args: string[]) => (containerd as OwnContainerd).ctr(['--namespace', NS, ...args]);
    const pulled = await ctr(['images', 'pull', '--plain-http', image]);
    if (pulled.status !== 0) throw new Error(`ctr images pull: ${pulled.stderr}`);
    let n = 0;
    const runTrue = async (runtime: string): Promise<number> => {
      const t0 = performance.now();
      const result = await ctr(['run', '--runtime', runtime, '--rm', image, `bench-${++n}`, 'true']);
      const ms = performance.now() - t0;
      if (result.status !== 0) throw new Error(`ctr run --runtime ${runtime}: exit ${result.status}: ${result.stderr}`);
      return ms;
    };
    const times: Record<string, number[]> = { [MOAT_RUNTIME]: [], [RUNC_RUNTIME]: [] };
    for (const runtime of [MOAT_RUNTIME, RUNC_RUNTIME]) console.log(`warm-up ${runtime}: ${(await runTrue(runtime)).toFixed(0)} ms`);
    for (let run = 1; run <= runs; run++) {
      for (const runtime of [MOAT_RUNTIME, RUNC_RUNTIME]) times[runtime].push(await runTrue(runtime));
      console.log(`run ${run}: moat ${times[MOAT_RUNTIME].at(-1)?.toFixed(0)} ms, runc ${times[RUNC_RUNTIME].at(-1)?.toFixed(0)} ms`);
    }
    const moat = summarize(times[MOAT_RUNTIME]);
    const runc = summarize(times[RUNC_RUNTIME]);
    console.log(
      `ctr run --rm true (${runs} runs each, same image, one run): ${MOAT_RUNTIME} p50 ${moat.p50.toFixed(0)} ms (min ${moat.min.toFixed(0)}, max ${moat.max.toFixed(0)}); ` +
        `${RUNC_RUNTIME} p50 ${runc.p50.toFixed(0)} ms (min ${runc.min.toFixed(0)}, max ${runc.max.toFixed(0)}); moat/runc ${(moat.p50 / runc.p50).toFixed(1)}x`,
    );
  } finally {
    await containerd?.stop();
    await registry.stop();
    await stack.stop();
    rmSync(runDir, { recursive: true, force: true });
  }
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? error.message : error);
  process.exit(1);
});
