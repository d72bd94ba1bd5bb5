import { readdir, readFile } from 'node:fs/promises';

/** Reads the parent of every process from /proc; injectable so the tree walk can be tested. */
export type ParentTable = () => Promise<Map<number, number>>;

export const procParentTable: ParentTable = async () => {
  const parents = new Map<number, number>();
  for (const entry of await readdir('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    // The command name (field 2) is in parentheses and may hold spaces; the ppid follows its closing one.
    const stat = await readFile(`/proc/${entry}/stat`, 'utf8').catch(() => '');
    const after = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const ppid = Number(after[1]);
    if (Number.isInteger(ppid)) parents.set(Number(entry), ppid);
  }
  return parents;
};

/** `root` and all its descendants, parents before children. */
export function descendantsOf(root: number, parents: Map<number, number>): number[] {
  const children = new Map<number, number[]>();
  for (const [pid, ppid] of parents) children.set(ppid, [...(children.get(ppid) ?? []), pid]);
  const tree: number[] = [];
  const queue = [root];
  while (queue.length > 0) {
    const pid = queue.shift() as number;
    if (tree.includes(pid)) continue;
    tree.push(pid);
    queue.push(...(children.get(pid) ?? []));
  }
  return tree;
}

/**
 * SIGKILLs a process and every descendant. Each pass stops the whole tree first, so no
 * process can fork between being seen and being killed; passes repeat until no descendant is left.
 */
export async function killTree(root: number, parents: ParentTable = procParentTable): Promise<void> {
  for (let pass = 0; pass < 5; pass++) {
    const tree = descendantsOf(root, await parents()).filter((pid) => pid === root || pid > 1);
    const alive = tree.filter((pid) => signal(pid, 'SIGSTOP'));
    for (const pid of alive) signal(pid, 'SIGKILL');
    if (alive.length <= 1) return;
  }
}

function signal(pid: number, name: NodeJS.Signals): boolean {
  try {
    process.kill(pid, name);
    return true;
  } catch {
    return false;
  }
}
