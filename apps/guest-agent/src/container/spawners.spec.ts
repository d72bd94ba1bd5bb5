import { EventEmitter } from 'node:events';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { afterEach, beforeEach, describe, expect, it, jest } from '@jest/globals';
import { createJsonLogger } from '../log/logger';
import type { Container } from './container.types';
import type { Crun } from './crun.adapter';
import type { OciProcess } from './oci-spec';
import { SPAWNER_RETRY_AFTER_MS, Spawners } from './spawners';

/** A `crun exec` of the spawner that fails: it exits 1, before the spawner said hello, once it is watched. */
function failingLaunch(): ReturnType<Crun['spawnDetachedExec']> {
  class FailingLaunch extends EventEmitter {
    readonly stdout = new PassThrough();
    readonly stderr = new PassThrough();
    readonly stdio = [null, null, null, null, new Socket()];
    kill = (): boolean => true;
    override on(event: string, listener: (code: number) => void): this {
      super.on(event, listener);
      if (event === 'exit') process.nextTick(() => this.emit('exit', 1));
      return this;
    }
  }
  return new FailingLaunch() as unknown as ReturnType<Crun['spawnDetachedExec']>;
}

describe('Spawners', () => {
  let dir: string;
  let now: number;
  const launches: string[] = [];
  const crun = { spawnDetachedExec: (launch: { containerId: string }) => (launches.push(launch.containerId), failingLaunch()) } as unknown as Crun;
  const execProcess: OciProcess = { args: ['sh'], env: [], cwd: '/', user: { uid: 0, gid: 0 } };
  const container = (): Container => ({ id: 'c1', bundleDir: join(dir, 'c1'), spec: { ociVersion: '1.0.2', root: { path: '/' }, process: execProcess }, initTerminal: false, mountPoints: [], status: 'running', oomKillsReported: 0 });

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'moat-spawners-'));
    writeFileSync(join(dir, 'moat-spawner'), '');
    launches.length = 0;
    now = 1_000_000;
    jest.spyOn(Date, 'now').mockImplementation(() => now);
  });
  afterEach(() => {
    jest.restoreAllMocks();
    rmSync(dir, { recursive: true, force: true });
  });

  it('leaves execs to crun while a spawner that could not start waits, and tries it again after a while', async () => {
    const spawners = new Spawners(crun, createJsonLogger(() => undefined), { binary: join(dir, 'moat-spawner'), startTimeoutMs: 5_000 });
    await expect(spawners.forProcess(container(), execProcess)).resolves.toBeUndefined();
    now += SPAWNER_RETRY_AFTER_MS - 1;
    await expect(spawners.forProcess(container(), execProcess)).resolves.toBeUndefined();
    expect(launches).toEqual(['c1']);
    now += 1;
    await expect(spawners.forProcess(container(), execProcess)).resolves.toBeUndefined();
    expect(launches).toEqual(['c1', 'c1']);
  });
});
