import type { ChildProcess } from 'node:child_process';
import { closeSync, constants as fsConstants, openSync, readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { readlink } from 'node:fs/promises';
import { Socket } from 'node:net';
import { constants as osConstants } from 'node:os';
import type { Logger } from '../log/logger';
import { Writable, type Readable } from 'node:stream';
import { endedStream, PipeProcessHandle, type RawExit } from '../process/process-handle';
import {
  SPAWNER_PROTOCOL_VERSION,
  SpawnerDecoder,
  encodeKill,
  encodeRelease,
  encodeSpawn,
  fromWaitStatus,
  type SpawnerMessage,
} from './spawner.protocol';

/** A process the spawner started, or the errno of the fork that failed (nothing ran). */
export type SpawnOutcome =
  | { started: true; handle: PipeProcessHandle; /** In the agent's pid namespace, when still found. */ pid?: number }
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

/**
 * The agent's side of one container's moat-spawner (native/moat-spawner.c): asks it to start
 * processes, opens their pipes, and hands their ends over as process handles. When the
 * spawner goes, whatever it started is killed and reported as killed.
 */
export class Spawner {
  private readonly decoder = new SpawnerDecoder();
  private readonly starting = new Map<number, (answer: Answer) => void>();
  private readonly running = new Map<number, Tracked>();
  private nextId = 1;
  private closed = false;

  private constructor(
    private readonly socket: Socket,
    /** The spawner's pid in the agent's namespace. */
    readonly pid: number,
    /** The spawner's pid namespace (`/proc/<pid>/ns/pid`), to find its processes once it is gone. */
    private readonly pidNamespace: string,
    readonly user: { uid: number; gid: number },
    private readonly log: Logger,
  ) {
    socket.on('data', (chunk: Buffer) => this.receive(chunk));
    socket.on('error', (error) => this.log.warn('spawner socket failed', { pid, error }));
    // Its socket is how the agent knows it lives: it closes when the spawner exits.
    socket.on('close', () => this.shutDown());
  }

  /**
   * Waits for a spawner to say hello on its socket, `launcher.stdio[4]`: `launcher` is the
   * detached `crun exec` that starts it and exits 0. `pidOf` gives the spawner's pid once it
   * has said hello (crun's pid file). Resolves undefined, and kills it, when it does not
   * say hello within `timeoutMs`.
   */
  static async connect(
    launcher: ChildProcess,
    pidOf: () => Promise<number | undefined>,
    user: { uid: number; gid: number },
    timeoutMs: number,
    log: Logger,
  ): Promise<Spawner | undefined> {
    const socket = launcher.stdio[4];
    if (!(socket instanceof Socket)) throw new Error('the spawner was started without its socket');
    const decoder = new SpawnerDecoder();
    // It says nothing else before it is asked: the hello is all there is to read here.
    const ok = await new Promise<boolean>((resolve) => {
      const finish = (hello: boolean): void => {
        clearTimeout(timer);
        socket.off('data', onData);
        socket.off('close', onFailure);
        launcher.off('exit', onExit);
        resolve(hello);
      };
      const onData = (chunk: Buffer): void => {
        try {
          const [first] = decoder.push(chunk);
          if (first) finish(first.type === 'hello' && first.version === SPAWNER_PROTOCOL_VERSION);
        } catch {
          finish(false);
        }
      };
      const onFailure = (): void => finish(false);
      const onExit = (code: number | null): void => {
        if (code !== 0) finish(false);
      };
      const timer = setTimeout(onFailure, timeoutMs);
      socket.on('data', onData);
      socket.once('close', onFailure);
      launcher.on('exit', onExit);
    });
    const pid = await pidOf();
    const pidNamespace = ok && pid !== undefined ? await readlink(`/proc/${pid}/ns/pid`).catch(() => undefined) : undefined;
    if (pid === undefined || !pidNamespace) {
      socket.destroy();
      launcher.kill('SIGKILL');
      if (pid !== undefined) killQuietly(pid);
      return undefined;
    }
    return new Spawner(socket, pid, pidNamespace, user, log);
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
      const ends = [
        this.openEnd(message.stdinFd, fsConstants.O_WRONLY),
        this.openEnd(message.stdoutFd, fsConstants.O_RDONLY),
        this.openEnd(message.stderrFd, fsConstants.O_RDONLY),
      ];
      const [stdin, stdout, stderr] = ends.map((end) => (typeof end === 'number' ? end : undefined));
      const failure = ends.slice(1).find((end): end is Error => end instanceof Error);
      // While the spawner lives it holds the ends until the release, so an end fails to open
      // only when it has died; then the process never runs its command, and is reported killed
      // when the spawner's socket closes.
      if (failure && !this.closed && isAlive(this.pid)) {
        for (const fd of ends) if (typeof fd === 'number') closeSync(fd);
        throw failure;
      }
      const pid = this.agentPidOf(message.pid);
      tracked.pid = pid;
      if (this.closed && pid !== undefined) killQuietly(pid);
      const pipes = {
        stdin: stdin === undefined ? closedInput() : new Socket({ fd: stdin, readable: false, writable: true }),
        stdout: readEnd(stdout),
        stderr: readEnd(stderr),
        exited: tracked.exited,
        kill: (signal: NodeJS.Signals) => this.signal(id, signal),
      };
      const handle = new PipeProcessHandle(pipes, (error) => this.log.warn('stdin write failed', { spawnerPid: this.pid, error }));
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
        this.running.get(message.id)?.settle(fromWaitStatus(message.waitStatus));
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
    for (const resolve of this.starting.values()) resolve(new Error('the spawner has exited'));
    this.starting.clear();
    const orphans = [...this.running.values()];
    this.running.clear();
    for (const tracked of orphans) tracked.settle({ code: null, signal: 'SIGKILL' });
    // Killed with the spawner or not (it kills them only when it sees its socket close), they
    // now belong to the container's init: find each by its pid there and kill it.
    for (const { pid, containerPid } of orphans) {
      const found = pid ?? this.agentPidOf(containerPid);
      if (found !== undefined) killQuietly(found);
    }
  }

  /**
   * Opens the spawner's end of a pipe as a new fd of the agent's, non-blocking (the agent's
   * loop reads it; opening a pipe so never waits) and close-on-exec (libuv opens every fd so).
   * Synchronous: a /proc link opens at once, quicker than a trip through libuv's thread pool.
   */
  private openEnd(fd: number, mode: number): number | Error {
    try {
      return openSync(`/proc/${this.pid}/fd/${fd}`, mode | fsConstants.O_NONBLOCK);
    } catch (error) {
      return error instanceof Error ? error : new Error(String(error));
    }
  }

  /**
   * The agent's pid of the process whose innermost pid is `containerPid`: among the spawner's
   * children while it lives, else among the processes of the spawner's pid namespace. Reads
   * only /proc, which answers at once, so synchronously.
   */
  private agentPidOf(containerPid: number): number | undefined {
    const children = readProc(`/proc/${this.pid}/task/${this.pid}/children`).trim();
    if (children !== '') return children.split(/\s+/).map(Number).find((pid) => innermostPid(pid) === containerPid);
    return readdirSync('/proc')
      .filter((name) => /^\d+$/.test(name))
      .map(Number)
      .find((pid) => innermostPid(pid) === containerPid && readProcLink(`/proc/${pid}/ns/pid`) === this.pidNamespace);
  }
}

/**
 * A pipe end the agent opened, as a stream; one it could not open (the spawner died first) as
 * an ended stream. Opened non-blocking, so the agent's loop reads it.
 */
function readEnd(fd: number | undefined): Readable {
  return fd === undefined ? endedStream() : new Socket({ fd, readable: true, writable: false });
}

/** The stdin of a process that is gone: every write fails as a pipe without a reader would. */
function closedInput(): Writable {
  return new Writable({
    write: (_chunk, _encoding, callback) => callback(Object.assign(new Error('write EPIPE'), { code: 'EPIPE' })),
  });
}

/** The pid a process has in its own pid namespace (the last of its NSpid line). */
function innermostPid(pid: number): number | undefined {
  const nsPids = /^NSpid:\s*(.+)$/m.exec(readProc(`/proc/${pid}/status`))?.[1]?.trim().split(/\s+/);
  return nsPids ? Number(nsPids[nsPids.length - 1]) : undefined;
}

function readProc(path: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return '';
  }
}

function readProcLink(path: string): string | undefined {
  try {
    return readlinkSync(path);
  } catch {
    return undefined;
  }
}

/** Whether `pid` still exists (a zombie no longer has fd links, so it counts as gone). */
function isAlive(pid: number): boolean {
  return !/^State:\s+Z/m.test(readProc(`/proc/${pid}/status`) || 'State: Z');
}

function killQuietly(pid: number): void {
  try {
    process.kill(pid, 'SIGKILL');
  } catch {
    // Already gone.
  }
}
