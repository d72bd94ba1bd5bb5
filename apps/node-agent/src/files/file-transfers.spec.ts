import { describe, expect, it } from '@jest/globals';
import { RuntimeErrorCode, type ContainerFiles } from '@moat/runtime-core';
import { CountingActivity } from '../idle/testing/counting-activity';
import { FileTransfers } from './file-transfers';

const SANDBOX = '6a1f3c2e-9b8d-4e7f-a6b5-c4d3e2f1a0b9';
const id = (n: number) => `00000000-0000-4000-8000-${String(n).padStart(12, '0')}`;
const info = { name: 'f', type: 'file' as const, size: 3, mode: 0o644, uid: 0, gid: 0, mtimeMs: 0, linkTarget: '' };

function fakeRuntime() {
  const events: string[] = [];
  const chunks = [Buffer.from('abc'), Buffer.alloc(0)];
  const did = (event: string) => {
    events.push(event);
    return Promise.resolve();
  };
  const files = {
    stat: () => Promise.resolve(info),
    list: () => Promise.resolve({ entries: [info], truncated: false }),
    openRead: (path: string) => {
      events.push(`open-read ${path}`);
      return Promise.resolve({ info, next: () => Promise.resolve(chunks.shift() ?? Buffer.alloc(0)), close: () => did('close-read') });
    },
    openWrite: (path: string, options: unknown) => {
      events.push(`open-write ${path} ${JSON.stringify(options)}`);
      return Promise.resolve({
        write: (data: Uint8Array) => did(`write ${Buffer.from(data).toString()}`),
        commit: () => Promise.resolve({ info, created: true }),
        abort: () => did('abort'),
      });
    },
  } as unknown as ContainerFiles;
  return { events, runtime: { files: () => files } };
}

const gone = expect.objectContaining({ code: RuntimeErrorCode.FILE_TRANSFER_GONE });

describe('FileTransfers', () => {
  it('relays a read chunk by chunk and forgets it at the end', async () => {
    const { events, runtime } = fakeRuntime();
    const transfers = new FileTransfers(runtime, new CountingActivity());
    expect(await transfers.openRead({ sandboxId: SANDBOX, path: '/f', transferId: id(1) })).toEqual(info);
    expect(await transfers.read(id(1))).toEqual({ data: Buffer.from('abc'), eof: false });
    expect(await transfers.read(id(1))).toEqual({ data: Buffer.alloc(0), eof: true });
    expect(events).toEqual(['open-read /f', 'close-read']);
    await expect(transfers.read(id(1))).rejects.toEqual(gone);
    transfers.dispose();
  });

  it('passes owner and mode to the guest, writes, commits once', async () => {
    const { events, runtime } = fakeRuntime();
    const transfers = new FileTransfers(runtime, new CountingActivity());
    await transfers.openWrite({ sandboxId: SANDBOX, path: '/f', transferId: id(2), mode: 0o600, uid: 1000, gid: 1000 });
    await transfers.write({ transferId: id(2), data: Buffer.from('xyz') });
    expect(await transfers.commit(id(2))).toEqual({ info, created: true });
    await expect(transfers.commit(id(2))).rejects.toEqual(gone);
    expect(events).toEqual(['open-write /f {"mode":384,"owner":{"uid":1000,"gid":1000}}', 'write xyz']);
    transfers.dispose();
  });

  it('abandons writes that went idle or whose control plane left, and bounds transfers in flight', async () => {
    const { events, runtime } = fakeRuntime();
    let now = 0;
    const transfers = new FileTransfers(runtime, new CountingActivity(), { maxOpen: 2, idleMs: 1_000 }, () => now);
    await transfers.openWrite({ sandboxId: SANDBOX, path: '/a', transferId: id(3) });
    now = 500;
    await transfers.openWrite({ sandboxId: SANDBOX, path: '/b', transferId: id(4) });
    await expect(transfers.openWrite({ sandboxId: SANDBOX, path: '/c', transferId: id(5) })).rejects.toEqual(
      expect.objectContaining({ code: RuntimeErrorCode.FILE_TRANSFERS_EXHAUSTED }),
    );
    now = 1_000;
    transfers.closeIdle();
    expect(transfers.size).toBe(1);
    transfers.closeAll();
    expect(transfers.size).toBe(0);
    expect(events.filter((event) => event === 'abort')).toHaveLength(2);
    transfers.dispose();
  });

  it('keeps its sandbox in use while a transfer is open, and counts a stat or list as a use', async () => {
    const { runtime } = fakeRuntime();
    const activity = new CountingActivity();
    const transfers = new FileTransfers(runtime, activity);
    await transfers.stat({ sandboxId: SANDBOX, path: '/f' });
    await transfers.list({ sandboxId: SANDBOX, path: '/' });
    expect(activity.touches.get(SANDBOX)).toBe(2);

    await transfers.openRead({ sandboxId: SANDBOX, path: '/f', transferId: id(6) });
    await transfers.openWrite({ sandboxId: SANDBOX, path: '/g', transferId: id(7) });
    await transfers.openWrite({ sandboxId: SANDBOX, path: '/h', transferId: id(8) });
    expect(activity.holds.get(SANDBOX)).toBe(3);
    await transfers.read(id(6));
    await transfers.read(id(6));
    await transfers.commit(id(7));
    transfers.close(id(8));
    expect(activity.holds.get(SANDBOX)).toBe(0);
    transfers.dispose();
  });

  it('holds nothing for a transfer the guest refused to open', async () => {
    const activity = new CountingActivity();
    const refusing = { files: () => ({ openRead: () => Promise.reject(new Error('no such file')) }) as unknown as ContainerFiles };
    const transfers = new FileTransfers(refusing, activity);
    await expect(transfers.openRead({ sandboxId: SANDBOX, path: '/nope', transferId: id(9) })).rejects.toThrow('no such file');
    expect(activity.holds.get(SANDBOX)).toBe(0);
    expect(transfers.size).toBe(0);
    transfers.dispose();
  });
});
