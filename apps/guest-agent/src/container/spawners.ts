import { mkdir, open, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Logger } from '../log/logger';
import { Spawner } from '../spawner/spawner';
import type { Container } from './container.types';
import { readPidFile, type Crun } from './crun.adapter';
import type { OciProcess } from './oci-spec';

/** How long a container's execs go through crun after its spawner could not start, before it is tried again. */
export const SPAWNER_RETRY_AFTER_MS = 10_000;

export interface SpawnersOptions {
  /** moat-spawner's binary; unset: no spawners, every exec goes through crun. */
  binary?: string;
  /** How long a spawner may take to say hello. */
  startTimeoutMs: number;
}

/**
 * One moat-spawner per container, started by a detached `crun exec` (no crun stays behind)
 * when the container starts or on its first exec, with an exec's process spec (so it holds the
 * user and the security settings every exec of the container gets), and stopped with the
 * container. Meanwhile a spawner that could not start leaves its container's execs to crun, as
 * before spawners; it is tried again on an exec {@link SPAWNER_RETRY_AFTER_MS} later (a start
 * that failed once, on a loaded guest say, does not leave the container without one for good).
 */
export class Spawners {
  private readonly byContainer = new Map<string, { spawner: Promise<Spawner | undefined>; startedAt: number }>();

  constructor(
    private readonly crun: Crun,
    private readonly log: Logger,
    private readonly options: SpawnersOptions,
  ) {}

  /** The container's spawner for a process of `spec`, or undefined when it must go through crun. */
  async forProcess(container: Container, spec: OciProcess): Promise<Spawner | undefined> {
    const { binary } = this.options;
    if (!binary || !spec.user) return undefined;
    let entry = this.byContainer.get(container.id);
    if (entry) {
      const known = await entry.spawner;
      // One that died (something in the container killed it) is started again at once.
      if (known ? !known.alive : Date.now() - entry.startedAt >= SPAWNER_RETRY_AFTER_MS) entry = undefined;
    }
    if (!entry) {
      entry = { spawner: this.start(container, spec, binary), startedAt: Date.now() };
      this.byContainer.set(container.id, entry);
    }
    const spawner = await entry.spawner;
    const { uid, gid } = spec.user;
    return spawner?.alive && spawner.user.uid === uid && spawner.user.gid === gid ? spawner : undefined;
  }

  /** Stops the container's spawner, which kills whatever it started. */
  stop(containerId: string): void {
    const entry = this.byContainer.get(containerId);
    this.byContainer.delete(containerId);
    void entry?.spawner.then((spawner) => spawner?.stop());
  }

  private async start(container: Container, spec: OciProcess, binary: string): Promise<Spawner | undefined> {
    const dir = join(container.bundleDir, 'spawner');
    const launch = {
      containerId: container.id,
      processFile: join(dir, 'process.json'),
      pidFile: join(dir, 'pid'),
      logFile: join(dir, 'crun.log'),
    };
    try {
      await mkdir(dir, { recursive: true });
      await rm(launch.pidFile, { force: true });
      // Run as /proc/self/fd/3, the binary crun passes on: nothing is put into the container's files.
      await writeFile(launch.processFile, JSON.stringify({ ...spec, args: ['/proc/self/fd/3'], env: [], cwd: '/' }));
      const file = await open(binary, 'r');
      let child;
      try {
        child = this.crun.spawnDetachedExec(launch, [file.fd, 'pipe']);
      } finally {
        await file.close();
      }
      child.stdout.resume();
      child.stderr.resume();
      child.on('error', (error) => this.log.warn('cannot run crun for the spawner', { containerId: container.id, error }));
      const user = { uid: spec.user?.uid ?? 0, gid: spec.user?.gid ?? 0 };
      const spawner = await Spawner.connect(child, () => readPidFile(launch.pidFile), user, this.options.startTimeoutMs, this.log);
      if (!spawner) {
        const reason = (await readFile(launch.logFile, 'utf8').catch(() => '')).trim();
        this.log.warn('the spawner did not start; execs go through crun', { containerId: container.id, reason });
      }
      return spawner;
    } catch (error) {
      this.log.warn('the spawner did not start; execs go through crun', { containerId: container.id, error });
      return undefined;
    }
  }
}
