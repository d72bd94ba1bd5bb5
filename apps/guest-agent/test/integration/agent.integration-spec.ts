import { credentials, type Client, type ServiceError } from '@grpc/grpc-js';
import {
  AgentServiceClient,
  HealthCheckResponse_ServingStatus,
  type CheckRequest,
  type HealthCheckResponse,
  HealthClient,
  type Empty,
  type ReadStreamResponse,
} from '@moat/proto';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { copyFile, mkdir, mkdtemp, readdir, readFile, readlink, rm, symlink } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { eventually } from '@moat/test-support';

const AGENT_BUNDLE = resolve(__dirname, '../../dist/guest-agent.js');
const APPLETS = ['sh', 'sleep', 'echo', 'cat', 'uname', 'true', 'stty', 'hostname'];
const HOSTNAME = 'itest';
/** The address the agent's eth0 gets in its own network namespace, which /etc/hosts names. */
const NIC_ADDRESS = '10.77.0.2';
const CONTAINER_ID = 'itest-c1';
const RUNNING_ID = 'itest-c2';

type Callback<R> = (error: ServiceError | null, response: R) => void;

/** Promisifies one unary call of a generated client. */
function call<Req, Res>(method: (request: Req, callback: Callback<Res>) => unknown, request: Req): Promise<Res> {
  return new Promise((resolvePromise, reject) => {
    method(request, (error, response) => (error ? reject(error) : resolvePromise(response)));
  });
}

describe('guest agent on the host (unix socket transport, real crun)', () => {
  let tmp: string;
  let crunRoot: string;
  let runDir: string;
  let rootfs: string;
  let agent: ChildProcess | undefined;
  let agentLog = '';
  let client: AgentServiceClient;
  let health: HealthClient;
  const agentApi = <Req, Res>(name: keyof AgentServiceClient) =>
    (request: Req): Promise<Res> =>
      call((client[name] as (r: Req, cb: Callback<Res>) => unknown).bind(client), request);

  beforeAll(async () => {
    if (!existsSync(AGENT_BUNDLE)) throw new Error(`no ${AGENT_BUNDLE}: build the agent first (nx runs build before integration)`);
    tmp = await mkdtemp('/tmp/moat-guest-agent-');
    crunRoot = join(tmp, 'crun');
    runDir = join(tmp, 'run');
    rootfs = join(tmp, 'rootfs');
    await mkdir(join(rootfs, 'bin'), { recursive: true });
    for (const dir of ['proc', 'dev', 'tmp']) await mkdir(join(rootfs, dir));
    await copyFile('/usr/bin/busybox', join(rootfs, 'bin', 'busybox'));
    for (const applet of APPLETS) await symlink('busybox', join(rootfs, 'bin', applet));

    const socket = join(tmp, 'agent.sock');
    // This host mounts cgroup v2 beside v1 with a controller enabled, a hybrid layout crun
    // refuses. The agent runs in a private mount namespace without the v2 mount (the host
    // keeps it) and crun is told not to manage cgroups; guests mount cgroups their own way.
    // CreateSandbox sets the hostname, binds over /etc/resolv.conf and reads eth0's addresses
    // as it does in a guest, so the agent has its own UTS and network namespaces too, with an
    // eth0 that is up (a veth whose peer is up: no carrier, no address for os.networkInterfaces).
    agent = spawn(
      'unshare',
      [
        '--mount',
        '--uts',
        '--net',
        '--propagation',
        'private',
        '--',
        'sh',
        '-c',
        [
          'set -e',
          'ip link add eth0 type veth peer name eth1',
          `ip addr add ${NIC_ADDRESS}/24 dev eth0`,
          'ip link set eth1 up',
          'ip link set eth0 up',
          'if mountpoint -q /sys/fs/cgroup/unified; then umount /sys/fs/cgroup/unified; fi',
          'exec "$@"',
        ].join('\n'),
        'agent',
        process.execPath,
        AGENT_BUNDLE,
      ],
      {
        env: {
          ...process.env,
          MOAT_AGENT_LISTEN: `unix:${socket}`,
          MOAT_AGENT_RUN_DIR: runDir,
          MOAT_CRUN_ROOT: crunRoot,
          MOAT_CRUN_CGROUP_MANAGER: 'disabled',
        },
        stdio: ['ignore', 'inherit', 'pipe'],
      },
    );
    agent.stderr?.on('data', (chunk: Buffer) => (agentLog += chunk.toString()));
    for (let i = 0; i < 200 && !agentLog.includes('guest agent serving'); i++) await sleep(50);
    expect(agentLog).toContain('guest agent serving');

    client = new AgentServiceClient(`unix:${socket}`, credentials.createInsecure());
    health = new HealthClient(`unix:${socket}`, credentials.createInsecure());
  });

  afterAll(async () => {
    for (const c of [client, health] as Client[]) c?.close();
    if (agent && agent.exitCode === null) {
      agent.kill('SIGKILL');
      await once(agent, 'exit');
    }
    if (tmp) {
      for (const id of [CONTAINER_ID, RUNNING_ID]) spawnSync('crun', ['--root', crunRoot, 'delete', '-f', id]);
      for (const pid of await processesUnder(tmp)) process.kill(pid, 'SIGKILL');
      await rm(tmp, { recursive: true, force: true });
    }
  });

  const ociSpec = (): string =>
    JSON.stringify({
      ociVersion: '1.0.2',
      process: {
        terminal: false,
        user: { uid: 0, gid: 0 },
        args: ['sleep', '1000000'],
        env: ['PATH=/bin'],
        cwd: '/',
        // Confinement an exec must inherit whichever way it starts (crun exec or the spawner).
        capabilities: { bounding: ['CAP_KILL', 'CAP_CHOWN'], effective: ['CAP_KILL'], permitted: ['CAP_KILL', 'CAP_CHOWN'] },
        noNewPrivileges: true,
        rlimits: [{ type: 'RLIMIT_NOFILE', hard: 1024, soft: 512 }],
      },
      root: { path: rootfs, readonly: false },
      hostname: HOSTNAME,
      mounts: [
        { destination: '/proc', type: 'proc', source: 'proc' },
        { destination: '/dev', type: 'tmpfs', source: 'tmpfs', options: ['nosuid', 'strictatime', 'mode=755', 'size=65536k'] },
        {
          destination: '/dev/pts',
          type: 'devpts',
          source: 'devpts',
          options: ['nosuid', 'noexec', 'newinstance', 'ptmxmode=0666', 'mode=0620'],
        },
      ],
      linux: {
        namespaces: [{ type: 'pid' }, { type: 'mount' }, { type: 'ipc' }, { type: 'uts' }],
        seccomp: { defaultAction: 'SCMP_ACT_ALLOW', syscalls: [{ names: ['mknod', 'mknodat'], action: 'SCMP_ACT_ERRNO' }] },
      },
    });

  const execRequest = (execId: string, args: string[]) => ({
    containerId: CONTAINER_ID,
    execId,
    process: { args, env: ['PATH=/bin'], cwd: '/', terminal: false, uid: 0, gid: 0 },
    timeoutMs: 0,
  });

  async function readAll(stream: 'readStdout' | 'readStderr', execId: string): Promise<string> {
    const read = agentApi<object, ReadStreamResponse>(stream);
    let text = '';
    for (;;) {
      const { data } = await read({ containerId: CONTAINER_ID, execId, len: 4096 });
      if (data.length === 0) return text;
      text += data.toString();
    }
  }

  it('answers Health.Check with SERVING and the instance it drew when it started, the same on every check', async () => {
    const response = await call<CheckRequest, HealthCheckResponse>(health.check.bind(health), { service: '' });
    expect(response.status).toBe(HealthCheckResponse_ServingStatus.SERVING);
    expect(response.instance).toMatch(/^[0-9a-f-]{36}$/);
    expect((await call<CheckRequest, HealthCheckResponse>(health.check.bind(health), { service: '' })).instance).toBe(response.instance);
  });

  it('rejects a spec without process.args as INVALID_ARGUMENT and an unknown container as NOT_FOUND', async () => {
    const spec = JSON.parse(ociSpec());
    delete spec.process.args;
    await expect(
      agentApi('createContainer')({ containerId: 'bad', ociSpecJson: JSON.stringify(spec), storages: [] }),
    ).rejects.toMatchObject({ code: 3 });
    await expect(agentApi('startContainer')({ containerId: 'nope' })).rejects.toMatchObject({ code: 5 });
  });

  it('rejects a sandbox whose DNS settings could add lines to resolv.conf as INVALID_ARGUMENT', async () => {
    const sandbox = { sandboxId: 'itest', hostname: HOSTNAME, dns: ['10.99.0.53'], dnsOptions: [], storages: [] };
    await expect(agentApi('createSandbox')({ ...sandbox, dnsSearch: ['example.internal\nnameserver 6.6.6.6'] })).rejects.toMatchObject({ code: 3 });
    await expect(agentApi('createSandbox')({ ...sandbox, dns: ['dns.example'], dnsSearch: [] })).rejects.toMatchObject({ code: 3 });
  });

  it('creates the sandbox with its hostname and DNS settings', async () => {
    await agentApi('createSandbox')({
      sandboxId: 'itest',
      hostname: HOSTNAME,
      dns: ['10.99.0.53'],
      dnsSearch: ['example.internal'],
      dnsOptions: ['ndots:2'],
      storages: [],
    });
  });

  it('creates and starts a container', async () => {
    await agentApi<object, Empty>('createContainer')({ containerId: CONTAINER_ID, ociSpecJson: ociSpec(), storages: [] });
    expect(existsSync(join(runDir, 'containers', CONTAINER_ID, 'config.json'))).toBe(true);
    await agentApi('startContainer')({ containerId: CONTAINER_ID });
    const list = spawnSync('crun', ['--root', crunRoot, 'list'], { encoding: 'utf8' });
    expect(list.stdout).toMatch(new RegExp(`${CONTAINER_ID}\\s+\\d+\\s+running`));
    await expect(
      agentApi('createContainer')({ containerId: CONTAINER_ID, ociSpecJson: ociSpec(), storages: [] }),
    ).rejects.toMatchObject({ code: 6 });
  });

  it('execs a process with stdin, stdout, stderr and its exit status', async () => {
    await agentApi('execProcess')(execRequest('e1', ['sh', '-c', 'read x; echo out:$x; echo err >&2; exit 3']));
    const written = await agentApi<object, { len: number }>('writeStdin')({
      containerId: CONTAINER_ID,
      execId: 'e1',
      data: Buffer.from('hello\n'),
    });
    expect(written.len).toBe(6);
    await agentApi('closeStdin')({ containerId: CONTAINER_ID, execId: 'e1' });
    const [stdout, stderr, exit] = await Promise.all([
      readAll('readStdout', 'e1'),
      readAll('readStderr', 'e1'),
      agentApi<object, { status: number; signal: number }>('waitProcess')({ containerId: CONTAINER_ID, execId: 'e1' }),
    ]);
    expect(stdout).toBe('out:hello\n');
    expect(stderr).toBe('err\n');
    expect(exit).toMatchObject({ status: 3, signal: 0 });
    // Waited for and drained: the agent has forgotten it.
    await expect(agentApi('waitProcess')({ containerId: CONTAINER_ID, execId: 'e1' })).rejects.toMatchObject({ code: 5 });
  });

  it('runs execs through the container’s moat-spawner, as confined as through crun exec', async () => {
    const script = [
      'cat /proc/$PPID/comm',
      'for ns in mnt pid ipc uts net cgroup; do readlink /proc/self/ns/$ns; done',
      'cat /proc/self/cgroup',
      'grep -E "^(Uid|Gid|Groups|Cap(Inh|Prm|Eff|Bnd|Amb)|NoNewPrivs|Seccomp|Seccomp_filters):" /proc/self/status',
      'grep "open files" /proc/self/limits',
    ].join('; ');
    await agentApi('execProcess')(execRequest('spawned', ['sh', '-c', script]));
    const [spawned] = await Promise.all([
      readAll('readStdout', 'spawned'),
      agentApi('waitProcess')({ containerId: CONTAINER_ID, execId: 'spawned' }),
      readAll('readStderr', 'spawned'),
    ]);
    // On a terminal, an exec still goes through crun exec: the reference.
    const request = execRequest('through-crun', ['sh', '-c', script]);
    await agentApi('execProcess')({ ...request, process: { ...request.process, terminal: true } });
    const [throughCrun] = await Promise.all([
      readAll('readStdout', 'through-crun'),
      agentApi('waitProcess')({ containerId: CONTAINER_ID, execId: 'through-crun' }),
    ]);
    const [parent, ...confinement] = spawned.trimEnd().split('\n');
    expect(parent).toBe('moat-spawner');
    expect(confinement.join('\n')).toMatch(/NoNewPrivs:\s+1\nSeccomp:\s+2/);
    expect(confinement.join('\n')).toMatch(/CapBnd:\s+0000000000000021/);
    expect(throughCrun.replace(/\r\n/g, '\n').trimEnd().split('\n').slice(1)).toEqual(confinement);
  });

  it('starts the spawner again when something in the container kills it; what it ran is reported killed', async () => {
    await agentApi('execProcess')(execRequest('victim', ['sh', '-c', 'kill -9 $PPID; exec sleep 1003']));
    expect(await agentApi('waitProcess')({ containerId: CONTAINER_ID, execId: 'victim' })).toMatchObject({ status: 137, signal: 9 });
    await eventually(() => expect(spawnSync('pgrep', ['-f', 'sleep 1003'], { encoding: 'utf8' }).stdout.trim()).toBe(''));
    // The agent starts it again in the background: an exec that comes first may still go
    // through crun, whose process is gone by the time `cat` looks at it.
    let attempt = 0;
    await eventually(
      async () => {
        const execId = `after-${attempt++}`;
        await agentApi('execProcess')(execRequest(execId, ['sh', '-c', 'cat /proc/$PPID/comm']));
        const [stdout, exit] = await Promise.all([readAll('readStdout', execId), agentApi('waitProcess')({ containerId: CONTAINER_ID, execId })]);
        expect({ stdout, exit }).toMatchObject({ stdout: 'moat-spawner\n', exit: { status: 0 } });
      },
      { timeout: 30_000, interval: 200 },
    ).catch((error: unknown) => {
      // What the agent said of its spawners says why.
      const said = agentLog.split('\n').filter((line) => line.includes('spawner'));
      throw new Error(`${String(error)}\nthe agent's log of its spawners:\n${said.join('\n')}`);
    });
  });

  it('gives the container the sandbox’s /etc/hostname, /etc/hosts and /etc/resolv.conf, read-only', async () => {
    const script = 'cat /etc/hostname /etc/hosts /etc/resolv.conf; hostname; echo x >> /etc/hosts && echo writable';
    await agentApi('execProcess')(execRequest('files', ['sh', '-c', script]));
    const [stdout, stderr, exit] = await Promise.all([
      readAll('readStdout', 'files'),
      readAll('readStderr', 'files'),
      agentApi<object, { status: number }>('waitProcess')({ containerId: CONTAINER_ID, execId: 'files' }),
    ]);
    expect(stdout).toBe(
      [
        HOSTNAME,
        '127.0.0.1 localhost',
        '::1 localhost ip6-localhost ip6-loopback',
        `${NIC_ADDRESS} ${HOSTNAME}`,
        'nameserver 10.99.0.53',
        'search example.internal',
        'options ndots:2',
        HOSTNAME,
        '',
      ].join('\n'),
    );
    expect(stderr).toMatch(/Read-only file system/);
    expect(exit.status).not.toBe(0);
    // The spec the host sent had no such mounts; the agent added them to the bundle.
    const bundle = JSON.parse(await readFile(join(runDir, 'containers', CONTAINER_ID, 'config.json'), 'utf8')) as { mounts: { destination: string }[] };
    expect(bundle.mounts.map((mount) => mount.destination).slice(-3)).toEqual(['/etc/hostname', '/etc/hosts', '/etc/resolv.conf']);
  });

  it('runs uname -r in the container and sees the kernel it shares', async () => {
    await agentApi('execProcess')(execRequest('uname', ['uname', '-r']));
    const [stdout, exit] = await Promise.all([
      readAll('readStdout', 'uname'),
      agentApi<object, { status: number }>('waitProcess')({ containerId: CONTAINER_ID, execId: 'uname' }),
    ]);
    expect(stdout.trim()).toBe(spawnSync('uname', ['-r'], { encoding: 'utf8' }).stdout.trim());
    expect(exit.status).toBe(0);
  });

  it('answers a command crun cannot run as a shell would: exit 127, crun’s reason on stderr', async () => {
    await agentApi('execProcess')(execRequest('missing', ['no-such-binary']));
    const exit = await agentApi('waitProcess')({ containerId: CONTAINER_ID, execId: 'missing' });
    expect(exit).toMatchObject({ status: 127, signal: 0 });
    const stderr = await agentApi<object, ReadStreamResponse>('readStderr')({ containerId: CONTAINER_ID, execId: 'missing', len: 4096 });
    expect(Buffer.from(stderr.data).toString()).toContain('no-such-binary');
  });

  it('signals an exec process and reports 128 + signal', async () => {
    await agentApi('execProcess')(execRequest('sleeper', ['sleep', '1000']));
    await agentApi('signalProcess')({ containerId: CONTAINER_ID, execId: 'sleeper', signal: 15 });
    const exit = await agentApi('waitProcess')({ containerId: CONTAINER_ID, execId: 'sleeper' });
    expect(exit).toMatchObject({ status: 143, signal: 15 });
  });

  it('runs a process on a pty of the agent, with the size asked for and resized', async () => {
    await agentApi('execProcess')({
      ...execRequest('tty', ['sh', '-c', 'stty size; read line; stty size']),
      process: { args: ['sh', '-c', 'stty size; read line; stty size'], env: ['PATH=/bin'], cwd: '/', terminal: true, uid: 0, gid: 0 },
      window: { rows: 33, cols: 111 },
    });
    let output = '';
    const readSome = async (): Promise<void> => {
      const reply = await agentApi<object, ReadStreamResponse>('readStdout')({ containerId: CONTAINER_ID, execId: 'tty', len: 4096 });
      if (reply.data.length === 0) throw new Error(`the terminal ended after ${JSON.stringify(output)}`);
      output += Buffer.from(reply.data).toString();
    };
    while (!output.includes('33 111')) await readSome();
    await agentApi('ttyWinResize')({ containerId: CONTAINER_ID, execId: 'tty', window: { rows: 40, cols: 120 } });
    await agentApi('writeStdin')({ containerId: CONTAINER_ID, execId: 'tty', data: Buffer.from('go\n') });
    while (!output.includes('40 120')) await readSome();
    expect(await agentApi('waitProcess')({ containerId: CONTAINER_ID, execId: 'tty' })).toMatchObject({ status: 0 });
  });

  it('kills an exec and everything it started when its timeout_ms passes', async () => {
    await agentApi('execProcess')({ ...execRequest('slow', ['sh', '-c', 'sleep 1001 & sleep 1002']), timeoutMs: 300 });
    expect(await agentApi('waitProcess')({ containerId: CONTAINER_ID, execId: 'slow' })).toMatchObject({ status: 137, signal: 9, timedOut: true });
    await eventually(() => expect(spawnSync('pgrep', ['-f', 'sleep 100[12]'], { encoding: 'utf8' }).stdout.trim()).toBe(''));
  });

  it('signals the init process through crun kill', async () => {
    await agentApi('signalProcess')({ containerId: CONTAINER_ID, execId: '', signal: 9 });
    const exit = await agentApi('waitProcess')({ containerId: CONTAINER_ID, execId: '' });
    expect(exit).toMatchObject({ status: 137, signal: 9 });
  });

  it('removes the container and leaves nothing behind', async () => {
    await agentApi('removeContainer')({ containerId: CONTAINER_ID, timeoutSeconds: 1 });
    const list = spawnSync('crun', ['--root', crunRoot, 'list', '-q'], { encoding: 'utf8' });
    expect(list.stdout.trim()).toBe('');
    expect(existsSync(join(runDir, 'containers', CONTAINER_ID))).toBe(false);
    await expect(agentApi('startContainer')({ containerId: CONTAINER_ID })).rejects.toMatchObject({ code: 5 });
  });

  it('removes a running container whose init ignores SIGTERM by escalating to SIGKILL', async () => {
    await agentApi('createContainer')({ containerId: RUNNING_ID, ociSpecJson: ociSpec(), storages: [] });
    await agentApi('startContainer')({ containerId: RUNNING_ID });
    await agentApi('execProcess')({ ...execRequest('bg', ['sleep', '1000']), containerId: RUNNING_ID });
    // sleep is pid 1 of its namespace and has no SIGTERM handler, so SIGTERM is ignored.
    await agentApi('removeContainer')({ containerId: RUNNING_ID, timeoutSeconds: 1 });
    const list = spawnSync('crun', ['--root', crunRoot, 'list', '-q'], { encoding: 'utf8' });
    expect(list.stdout.trim()).toBe('');
    expect(await readdir(join(runDir, 'containers'))).toEqual([]);
    expect(await processesUnder(tmp)).toEqual([]);
  });

  it('destroys the sandbox, after which a container gets no sandbox files', async () => {
    await agentApi('destroySandbox')({});
    expect(await readdir(join(runDir, 'sandbox'))).toEqual([]);
    await agentApi('createContainer')({ containerId: RUNNING_ID, ociSpecJson: ociSpec(), storages: [] });
    const bundle = JSON.parse(await readFile(join(runDir, 'containers', RUNNING_ID, 'config.json'), 'utf8')) as { mounts: { destination: string }[] };
    expect(bundle.mounts.map((mount) => mount.destination)).toEqual(['/proc', '/dev', '/dev/pts']);
    await agentApi('removeContainer')({ containerId: RUNNING_ID, timeoutSeconds: 0 });
  });
});

/** Pids of processes whose root or command line lies under `dir`: crun, and containers chrooted into the rootfs. */
async function processesUnder(dir: string): Promise<number[]> {
  const pids: number[] = [];
  for (const entry of await readdir('/proc')) {
    const pid = Number(entry);
    if (!Number.isInteger(pid) || pid === process.pid) continue;
    const root = await readlink(`/proc/${pid}/root`).catch(() => '');
    const cmdline = spawnSync('cat', [`/proc/${pid}/cmdline`], { encoding: 'utf8' }).stdout ?? '';
    if (root.startsWith(dir) || (cmdline.includes(dir) && !cmdline.includes('jest'))) pids.push(pid);
  }
  return pids;
}
