import { describe, expect, it } from '@jest/globals';
import type { ProcessAdapter } from '../host/process.adapter';
import { VirtioFsSharedFs } from './virtio-fs.share-fs';

/** Processes by pid with their argv; `kill` ends one. */
function processes(table: Record<number, string[]>): { proc: ProcessAdapter; killed: number[] } {
  const alive = new Map(Object.entries(table).map(([pid, argv]) => [Number(pid), argv]));
  const killed: number[] = [];
  const proc = {
    find: (matches: (argv: string[]) => boolean) => Promise.resolve([...alive].filter(([, argv]) => matches(argv)).map(([pid]) => pid)),
    kill: (pid: number) => {
      killed.push(pid);
      alive.delete(pid);
    },
    isAlive: (pid: number) => Promise.resolve(alive.has(pid)),
  } as unknown as ProcessAdapter;
  return { proc, killed };
}

describe('VirtioFsSharedFs.reapStray', () => {
  it("stops the virtiofsd serving this sandbox's socket dir that no handle records, and nothing else", async () => {
    const { proc, killed } = processes({
      11: ['/usr/lib/qemu/virtiofsd', '--socket-path=/run/moat/a/vm/virtiofsd.sock', '-o', 'source=/x'],
      12: ['/usr/lib/qemu/virtiofsd', '--socket-path=/run/moat/b/vm/virtiofsd.sock', '-o', 'source=/y'],
      13: ['sleep', '/run/moat/a/vm/virtiofsd.sock'],
    });
    await new VirtioFsSharedFs(proc).reapStray('/run/moat/a/vm');
    expect(killed).toEqual([11]);
  });
});
