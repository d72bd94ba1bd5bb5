import { afterEach, beforeEach, describe, expect, it } from '@jest/globals';
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { DeleteResponse } from '@moat/containerd-api';
import { TtrpcError } from '@moat/ttrpc';
import { SILENT_LOGGER } from '../testing/silent-logger';
import { FakeMounter } from '../testing/fake-mounter';
import { FakeNodeTasks } from '../testing/fake-node-tasks';
import { tempDir } from '../testing/temp-dir';
import { runDelete } from './delete.command';

const BUNDLE = '/run/containerd/io.containerd.runtime.v2.task/default/web';
const NOW = 1_700_000_777_250;

function setup(bundle = BUNDLE, socketDir = '/run/moat/s') {
  const nodeTasks = new FakeNodeTasks();
  const mounter = new FakeMounter();
  const run = () => runDelete({ task: { namespace: 'default', id: 'web' }, bundle, socketDir, nodeTasks, mounter, log: SILENT_LOGGER, now: () => NOW });
  return { nodeTasks, mounter, run };
}

describe('runDelete', () => {
  it('deletes the task at the node agent, unmounts the rootfs and answers a DeleteResponse with how it ended', async () => {
    const { nodeTasks, mounter, run } = setup();
    await nodeTasks.create({ task: { namespace: 'default', id: 'web' }, bundle: BUNDLE, stdio: undefined });
    await nodeTasks.start({ task: { namespace: 'default', id: 'web' }, execId: '' });
    nodeTasks.exit('web', '', 2, 1_700_000_000_500);
    await mounter.mount([{ type: 'overlay', source: 'overlay', target: '', options: [] }], `${BUNDLE}/rootfs`);

    const output = await run();

    expect(DeleteResponse.decode(output)).toEqual({ pid: 4242, exitStatus: 2, exitedAt: { seconds: 1_700_000_000, nanos: 500_000_000 } });
    expect(nodeTasks.has('web')).toBe(false);
    expect(mounter.unmounted).toEqual([`${BUNDLE}/rootfs`]);
  });

  it('answers 137 and now when the node agent has nothing of the task', async () => {
    const { run } = setup();
    expect(DeleteResponse.decode(await run())).toEqual({ pid: 0, exitStatus: 137, exitedAt: { seconds: 1_700_000_777, nanos: 250_000_000 } });
  });

  it('fails, leaving the rootfs mounted, when the node agent cannot be asked', async () => {
    const { nodeTasks, mounter, run } = setup();
    await mounter.mount([], `${BUNDLE}/rootfs`);
    nodeTasks.failNext('delete', new TtrpcError('UNAVAILABLE', 'connect ENOENT /run/moat/node-tasks.sock'));
    await expect(run()).rejects.toMatchObject({ code: 'UNAVAILABLE' });
    expect(mounter.unmounted).toEqual([]);
  });

  describe('the socket a killed daemon left', () => {
    let dir: Awaited<ReturnType<typeof tempDir>>;
    let bundle: string;
    let socketDir: string;

    beforeEach(async () => {
      dir = await tempDir();
      [bundle, socketDir] = [join(dir.path, 'bundle'), join(dir.path, 's')];
      await mkdir(bundle);
      await mkdir(socketDir);
    });

    afterEach(() => dir.remove());

    const deleteWithAddress = async (path: string) => {
      await writeFile(join(bundle, 'address'), `unix://${path}`);
      await setup(bundle, socketDir).run();
    };

    it('is removed when nothing serves it', async () => {
      const socket = await socketOfKilledProcess(join(socketDir, 'dead'));
      await deleteWithAddress(socket);
      expect(existsSync(socket)).toBe(false);
    });

    it('stays while a daemon serves it', async () => {
      const socket = join(socketDir, 'live');
      const server = createServer();
      await new Promise<void>((resolve) => server.listen(socket, resolve));
      try {
        await deleteWithAddress(socket);
        expect(existsSync(socket)).toBe(true);
      } finally {
        server.close();
      }
    });

    it('stays when it is no socket, or outside the shim socket dir', async () => {
      await writeFile(join(socketDir, 'file'), '');
      await deleteWithAddress(join(socketDir, 'file'));
      expect(existsSync(join(socketDir, 'file'))).toBe(true);

      const outside = await socketOfKilledProcess(join(dir.path, 'elsewhere'));
      await deleteWithAddress(outside);
      expect(existsSync(outside)).toBe(true);
    });
  });
});

/** A unix socket at `path` whose server was killed with SIGKILL, so that nobody unlinked it. */
async function socketOfKilledProcess(path: string): Promise<string> {
  const child = spawn(process.execPath, ['-e', "require('node:net').createServer().listen(process.argv[1], () => console.log('up'))", path], { stdio: ['ignore', 'pipe', 'inherit'] });
  await new Promise((resolve) => child.stdout.once('data', resolve));
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill('SIGKILL');
  await exited;
  return path;
}
