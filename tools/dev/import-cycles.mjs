// The import-graph check `npm test` runs first. dependency-cruiser resolves every import of the
// tree (TypeScript's, type-only ones included; options in .dependency-cruiser.cjs) and reports
// loops between files (its `no-file-cycle` rule). Loops between folders are found here, over the
// folder graph it yields: a folder depends on another when one of its files imports one of the
// other's, a subfolder being a folder of its own (so `sandboxes/dto → sandboxes` and back is a
// loop too; dependency-cruiser's own folder rule misses such parent/child loops). Any loop fails.
import { execFileSync } from 'node:child_process';
import { dirname, join, resolve } from 'node:path';

const ROOT = resolve(import.meta.dirname, '../..');
const SCANNED = ['apps', 'libs', 'tools', 'e2e'];

/** Strongly connected groups of more than one folder (Tarjan), each with the imports that join it. */
function folderLoops(modules) {
  const edges = new Map();
  for (const module of modules) {
    const from = dirname(module.source);
    for (const dep of module.dependencies) {
      if (dep.coreModule || dep.couldNotResolve || dep.resolved.includes('node_modules/')) continue;
      const to = dirname(dep.resolved);
      if (to === from) continue;
      if (!edges.has(from)) edges.set(from, new Map());
      const via = edges.get(from).get(to) ?? [];
      via.push(`${module.source} → ${dep.resolved}`);
      edges.get(from).set(to, via);
    }
  }
  const index = new Map();
  const low = new Map();
  const stack = [];
  const onStack = new Set();
  const groups = [];
  const visit = (folder) => {
    index.set(folder, index.size);
    low.set(folder, index.get(folder));
    stack.push(folder);
    onStack.add(folder);
    for (const next of edges.get(folder)?.keys() ?? []) {
      if (!index.has(next)) {
        visit(next);
        low.set(folder, Math.min(low.get(folder), low.get(next)));
      } else if (onStack.has(next)) {
        low.set(folder, Math.min(low.get(folder), index.get(next)));
      }
    }
    if (low.get(folder) !== index.get(folder)) return;
    const group = [];
    let member;
    do {
      member = stack.pop();
      onStack.delete(member);
      group.push(member);
    } while (member !== folder);
    if (group.length > 1) groups.push(group.sort());
  };
  for (const folder of edges.keys()) if (!index.has(folder)) visit(folder);
  return groups.map((group) => ({
    folders: group,
    imports: group.flatMap((from) => [...(edges.get(from) ?? [])].filter(([to]) => group.includes(to)).map(([, via]) => via[0])),
  }));
}

if (process.argv[1] === import.meta.filename) {
  const out = execFileSync(
    join(ROOT, 'node_modules/.bin/depcruise'),
    ['--config', '.dependency-cruiser.cjs', '--output-type', 'json', ...SCANNED],
    { cwd: ROOT, maxBuffer: 256 * 1024 * 1024, encoding: 'utf8' },
  );
  const { modules, summary } = JSON.parse(out);
  const fileLoops = summary.violations.map((v) => [v.from, ...(v.cycle ?? []).map((step) => step.name)].join(' → '));
  const loops = folderLoops(modules);
  for (const loop of fileLoops) console.error(`files import each other: ${loop}`);
  for (const { folders, imports } of loops) {
    console.error(`folders import each other: ${folders.join(', ')}\n  through ${imports.join('\n  and ')}`);
  }
  if (fileLoops.length > 0 || loops.length > 0) process.exit(1);
  console.log(`import graph: no loop between files or folders (${modules.length} modules)`);
}
