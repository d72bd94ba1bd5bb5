// Drives containerd's CRI plugin (runtime.v1, the API the kubelet speaks) from Node, over gRPC on
// containerd's socket, and puts the images a test pod needs into containerd's `k8s.io` namespace.
// The API is the subset of k8s.io/cri-api in cri/api.proto. Messages keep the proto's snake_case
// field names (`pod_sandbox_id`, `runtime_handler`), as the CRI docs and crictl's JSON spell
// them; enums are their names ('SANDBOX_READY'), int64s are numbers, bytes are Buffers.
import { join } from 'node:path';
import grpc from '@grpc/grpc-js';
import protoLoader from '@grpc/proto-loader';
import { busyboxLayer } from '@moat/test-registry';

/** The CRI API subset this client speaks. */
export const CRI_PROTO = join(import.meta.dirname, 'cri', 'api.proto');

/** containerd's namespace for everything of CRI's: a pod's images must be there. */
export const CRI_NAMESPACE = 'k8s.io';

const DEFAULT_TIMEOUT_MS = 120_000;

let services;
function loadServices() {
  services ??= grpc.loadPackageDefinition(
    protoLoader.loadSync(CRI_PROTO, { keepCase: true, enums: String, longs: Number, defaults: true, arrays: true, objects: true }),
  ).runtime.v1;
  return services;
}

/** Each unary method of `client` as `(request, { timeoutMs }) => Promise<response>`; errors name the call. */
function promisified(client, serviceName) {
  const calls = {};
  for (const name of Object.keys(client.constructor.service)) {
    calls[name] = (request = {}, { timeoutMs = DEFAULT_TIMEOUT_MS } = {}) =>
      new Promise((resolve, reject) => {
        client[name](request, { deadline: Date.now() + timeoutMs }, (err, response) => {
          if (!err) return resolve(response);
          const error = new Error(`${serviceName}.${name}: ${grpc.status[err.code] ?? err.code} ${err.details}`, { cause: err });
          error.code = err.code;
          reject(error);
        });
      });
  }
  return calls;
}

/**
 * A CRI client on containerd's socket at `socketPath`: `runtime` (RuntimeService) and `image`
 * (ImageService), every call a promise; `close()` closes both channels.
 * @param {string} socketPath
 */
export function criClient(socketPath) {
  const { RuntimeService, ImageService } = loadServices();
  const target = `unix:${socketPath}`;
  const runtime = new RuntimeService(target, grpc.credentials.createInsecure());
  const image = new ImageService(target, grpc.credentials.createInsecure());
  return {
    runtime: promisified(runtime, 'RuntimeService'),
    image: promisified(image, 'ImageService'),
    close() {
      runtime.close();
      image.close();
    },
  };
}

/**
 * Waits until the CRI plugin answers Version: containerd serves its socket before the plugin
 * has initialized, and until then every CRI call fails ("server is not initialized yet").
 */
export async function waitForCri(client, timeoutMs = 30_000) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      return await client.runtime.Version({ version: 'v1' }, { timeoutMs: 5_000 });
    } catch (err) {
      if (Date.now() > deadline) throw err;
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
  }
}

/** busybox applets the pod tests run, beyond the shell's that `busyboxLayer` links. */
const CRI_APPLETS = ['ip', 'hostname', 'uname', 'wget', 'httpd', 'grep', 'nc', 'ps', 'kill'];

/**
 * The pause image's entrypoint: the pod sandbox's process holds the pod's namespaces and
 * waits; PID 1 ignores a signal it has no handler for, hence the trap.
 */
export const PAUSE_ENTRYPOINT = ['/bin/sh', '-c', 'trap "exit 0" TERM INT; while :; do sleep 3600 & wait $!; done'];

/**
 * Pushes the two images a test pod needs to `registry` (a `@moat/test-registry` one), both
 * built from busybox-static, nothing downloaded: `pause`, containerd's sandbox_image, and
 * `busybox` for the containers (a shell with `CRI_APPLETS`, no entrypoint).
 * @returns {Promise<{ pause: string; busybox: string }>} their references
 */
export async function pushCriImages(registry) {
  const layer = [...busyboxLayer(), ...CRI_APPLETS.map((name) => ({ name: `bin/${name}`, type: 'symlink', linkname: 'busybox' }))];
  const env = ['PATH=/bin'];
  return {
    pause: await registry.push('moat/cri-pause', 'v1', { layers: [layer], config: { Entrypoint: PAUSE_ENTRYPOINT, Env: env } }),
    busybox: await registry.push('moat/cri-busybox', 'v1', { layers: [layer], config: { Cmd: ['sh'], Env: env } }),
  };
}

/**
 * Pulls `refs` from the test registry (plain HTTP on loopback) into containerd's `k8s.io`
 * namespace, unpacked, where CRI finds them without pulling: the sandbox image must be there
 * before RunPodSandbox. `containerd` is one `startContainerd` started.
 * @param {{ ctr(args: string[]): Promise<{ status: number | null; stderr: string }> }} containerd
 * @param {string[]} refs
 */
export async function pullIntoCri(containerd, refs) {
  for (const ref of refs) {
    const pulled = await containerd.ctr(['--namespace', CRI_NAMESPACE, 'images', 'pull', '--plain-http', ref]);
    if (pulled.status !== 0) throw new Error(`ctr images pull ${ref}: ${pulled.stderr}`);
  }
}
