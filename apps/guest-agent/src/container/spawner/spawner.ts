import type { ChildProcess } from 'node:child_process';
import { close as closeCallback, open as openCallback, constants as fsConstants } from 'node:fs';
import { readdir, readFile, readlink } from 'node:fs/promises';
import { Socket } from 'node:net';
import { constants as osConstants } from 'node:os';
import { promisify } from 'node:util';
import type { Logger } from '../../log/logger';
import type { RawExit } from '../../process/process-handle';
import { SpawnedProcessHandle } from '../../process/spawned-process.handle';
import {
  SPAWNER_PROTOCOL_VERSION,
  SpawnerDecoder,
  encodeKill,
  encodeRelease,
  encodeSpawn,
  fromWaitStatus,
  type SpawnerMessage,
} from './spawner.protocol';

const openFd = promisify(openCallback);
const closeFd = promisify(closeCallback);

/** A process the spawner started, or the errno of the fork that failed (nothing ran). */
export type SpawnOutcome =
  | { started: true; handle: SpawnedProcessHandle; /** In the agent's pid namespace, when still found. */ pid?: number }
  | { started: false; errno: number };

/** A started process until its exit is reported. */
interface Tracked {
  exited: Promise<RawExit>;
  settle: (raw: RawExit) => void;
  /** Its pid in the container's pid namespace, as the spawner reported it. */
  containerPid: number;
  /** Its pid in the agent's, once found. */
  pid?: number;
}

type Answer = { message: SpawnerMessage; tracked?: Tracked } | Error;

function track(containerPid: number): Tracked {
  let settle: (raw: RawExit) => void = () => undefined;
  const exited = new Promise<RawExit>((resolve) => (settle = resolve));
  return { exited, settle, containerPid };
}

const signalNames = new Map<number, NodeJS.Signals>(
  Object.entries(osConstants.signals).map(([name, number]) => [number, name as NodeJS.Signals]),
);

/**
 * The agent's side of one container's moat-spawner (native/moat-spawner.c): asks it to start
 * processes, opens their pipes, and hands their ends over as process handles. When the spawner
 * goes, whatever it started is killed and reported as killed.
 */
export class Spawner {
  private readonly decoder = new SpawnerDecoder();
  private readonly starting = new Map<number, (answer: Answer) => void>();
  private readonly running = new Map<number, Tracked>();
  private nextId = 1;
  private closed = false;

  private constructor(
    private readonly child: ChildProcess,
    private readonly socket: Socket,
    /** The spawner's pid in the agent's namespace. */
    readonly pid: number,
    /** The container's pid namespace (`/proc/<pid>/ns/pid`), to find its processes once the spawner is gone. */
    private readonly pidNamespace: string,
    readonly user: { uid: number; gid: number },
    private readonly log: Logger,
  ) {
    socket.on('data', (chunk: Buffer) => this.receive(chunk));
    socket.on('error', (error) => this.log.warn('spawner socket failed', { pid, error }));
    socket.on('close', () => this.shutDown());
    child.once('exit', () => this.shutDown());
  }

  /**
   * Waits for the spawner `child` (a `crun exec` of it) to say hello on its socket, fd 4;
   * resolves undefined, and stops it, when it does not within `timeoutMs`.
   */
  static async connect(
    child: ChildProcess,
    pidFile: string,
    user: { uid: number; gid: number },
    timeoutMs: number,
    log: Logger,
  ): Promise<Spawner | undefined> {
    const socket = child.stdio[4];
    if (!(socket instanceof Socket)) throw new Error('the spawner was started without its socket');
    const decoder = new SpawnerDecoder();
    // It says nothing else before it is asked: the hello is all there is to read here.
    const hello = await new Promise<{ ok: boolean }>((resolve) => {
      const finish = (ok: boolean): void => {
        clearTimeout(timer);
        socket.off('data', onData);
        child.off('exit', onExit);
        resolve({ ok });
      };
      const onData = (chunk: Buffer): void => {
        try {
          const [first] = decoder.push(chunk);
          if (first) finish(first.type === 'hello' && first.version === SPAWNER_PROTOCOL_VERSION);
        } catch {
          finish(false);
        }
      };
      const onExit = (): void => finish(false);
      const timer = setTimeout(() => finish(false), timeoutMs);
      socket.on('data', onData);
      child.once('exit', onExit);
    });
    const pid = hello.ok ? Number.parseInt((await readFile(pidFile, 'utf8').catch(() => '')).trim(), 10) : NaN;
    const pidNamespace = hello.ok ? await readlink(`/proc/${pid}/ns/pid`).catch(() => undefined) : undefined;
    if (!Number.isInteger(pid) || pid <= 0 || !pidNamespace) {
      socket.destroy();
      child.kill('SIGKILL');
      return undefined;
    }
    return new Spawner(child, socket, pid, pidNamespace, user, log);
  }

  get alive(): boolean {
    return !this.closed;
  }

  /**
   * Starts `args` with exactly `env` in `cwd`. Throws when the spawner is gone before it
   * answered, in which case the command did not run.
   */
  async spawn(args: readonly string[], env: readonly string[], cwd: string): Promise<SpawnOutcome> {
    if (this.closed) throw new Error('the spawner has exited');
    const id = this.nextId++;
    const answer = new Promise<Answer>((resolve) => this.starting.set(id, resolve));
    this.socket.write(encodeSpawn({ id, args, env, cwd }));
    const reply = await answer;
    if (reply instanceof Error) throw reply;
    const { message, tracked } = reply;
    if (message.type === 'failed') return { started: false, errno: message.errno };
    if (message.type !== 'started' || !tracked) throw new Error(`spawner answered a spawn with '${message.type}'`);
    try {
      const [pid, ...ends] = await Promise.all([
        this.agentPidOf(message.pid),
        ...[
          this.openEnd(message.stdinFd, fsConstants.O_WRONLY),
          this.openEnd(message.stdoutFd, fsConstants.O_RDONLY),
          this.openEnd(message.stderrFd, fsConstants.O_RDONLY),
        ].map((opening) => opening.catch((error: unknown) => (error instanceof Error ? error : new Error(String(error))))),
      ]);
      const [stdin, stdout, stderr] = ends.map((end) => (typeof end === 'number' ? end : undefined));
      const failure = ends.slice(1).find((end): end is Error => end instanceof Error);
      // The spawner died before its ends could be opened (something in the container killed
      // it): the process is killed and reported so, with whatever output could still be read.
      // While the spawner lives, only stdin may fail to open: a process that has exited has no
      // reader left.
      if (failure && !this.closed) {
        await Promise.all(ends.filter((end): end is number => typeof end === 'number').map((fd) => closeFd(fd)));
        throw failure;
      }
      tracked.pid = pid;
      if (this.closed && pid !== undefined) killQuietly(pid);
      const handle = new SpawnedProcessHandle({ stdin, stdout, stderr }, tracked.exited, { signal: (signal) => this.signal(id, signal) }, (error) =>
        this.log.warn('stdin write failed', { spawnerPid: this.pid, error }),
      );
      return { started: true, handle, pid };
    } catch (error) {
      // Nobody could read it: it must not run on unseen.
      this.signal(id, 'SIGKILL');
      throw error;
    } finally {
      if (!this.closed) this.socket.write(encodeRelease(id));
    }
  }

  /** Closes the socket: the spawner kills what it started and exits. */
  stop(): void {
    this.socket.destroy();
    this.shutDown();
  }

  private signal(id: number, signal: NodeJS.Signals): void {
    if (!this.closed) this.socket.write(encodeKill(id, osConstants.signals[signal]));
  }

  private receive(chunk: Buffer): void {
    let messages: SpawnerMessage[];
    try {
      messages = this.decoder.push(chunk);
    } catch (error) {
      this.log.warn('spawner spoke out of turn; stopping it', { pid: this.pid, error });
      this.stop();
      return;
    }
    for (const message of messages) {
      if (message.type === 'hello') continue;
      if (message.type === 'exited') {
        this.running.get(message.id)?.settle(fromWaitStatus(message.waitStatus, (n) => signalNames.get(n)));
        this.running.delete(message.id);
        continue;
      }
      // Tracked before the answer is handed over, so an exit right behind it is not lost.
      const tracked = message.type === 'started' ? track(message.pid) : undefined;
      if (tracked) this.running.set(message.id, tracked);
      this.starting.get(message.id)?.({ message, tracked });
      this.starting.delete(message.id);
    }
  }

  /** The spawner died or was stopped: what it started is killed and reported killed. */
  private shutDown(): void {
    if (this.closed) return;
    this.closed = true;
    this.child.kill('SIGKILL');
    for (const resolve of this.starting.values()) resolve(new Error('the spawner has exited'));
    this.starting.clear();
    const orphans = [...this.running.values()];
    this.running.clear();
    for (const tracked of orphans) tracked.settle({ code: null, signal: 'SIGKILL' });
    // Killed with the spawner or not (it kills them only when it sees its socket close), they
    // now belong to the container's init: find each by its pid there and kill it.
    void Promise.all(
      orphans.map(async ({ pid, containerPid }) => {
        const found = pid ?? (await this.agentPidOf(containerPid));
        if (found !== undefined) killQuietly(found);
      }),
    );
  }

  /** Opens the spawner's end of a pipe as a new fd of the agent's (non-blocking: the agent's loop reads it). */
  private openEnd(fd: number, mode: number): Promise<number> {
    // libuv opens every fd close-on-exec, so no later child inherits it.
    return openFd(`/proc/${this.pid}/fd/${fd}`, mode | fsConstants.O_NONBLOCK);
  }

  /**
   * The agent's pid of the process whose innermost pid is `containerPid`: among the spawner's
   * children while it lives, else among the processes of the spawner's pid namespace.
   */
  private async agentPidOf(containerPid: number): Promise<number | undefined> {
    const children = await readFile(`/proc/${this.pid}/task/${this.pid}/children`, 'utf8').catch(() => '');
    const candidates = children.trim() !== '' ? children : (await readdir('/proc')).join(' ');
    for (const pid of candidates.split(/\s+/).filter((name) => /^\d+$/.test(name)).map(Number)) {
      if (await this.isInContainer(pid, containerPid)) return pid;
    }
    return undefined;
  }

  private async isInContainer(pid: number, containerPid: number): Promise<boolean> {
    const status = await readFile(`/proc/${pid}/status`, 'utf8').catch(() => '');
    const nsPids = /^NSpid:\s*(.+)$/m.exec(status)?.[1]?.trim().split(/\s+/).map(Number);
    if (nsPids?.[nsPids.length - 1] !== containerPid) return false;
    return (await readlink(`/proc/${pid}/ns/pid`).catch(() => '')) === this.pidNamespace;
  }
}

function killQuietly(pid: number): void {
  try {
    process.kill(pid, 'SIGKILL');
  } catch {
    // Already gone.
  }
}
