// The import-graph check `npm test` runs first: dependency-cruiser (rules in
// .dependency-cruiser.cjs) finds every loop between files and between folders of the tree; a
// loop not listed in tools/dev/import-cycles.known fails the run, and so does a listed loop that
// is gone (the list only shrinks). dependency-cruiser's own baseline (`--ignore-known`) covers
// file-level rules only, hence this wrapper for the folder-level one.
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';

const ROOT = resolve(import.meta.dirname, '../..');
const KNOWN_FILE = join(ROOT, 'tools/dev/import-cycles.known');
const SCANNED = ['apps', 'libs', 'tools', 'e2e'];

/**
 * The loops dependency-cruiser reports over the tree: for each dependency `from → to` that lies on
 * a loop, the key `rule: from → to` (stable while that edge is part of any loop) and one loop
 * through it, to show.
 */
function currentLoops() {
  const out = execFileSync(
    join(ROOT, 'node_modules/.bin/depcruise'),
    ['--config', '.dependency-cruiser.cjs', '--output-type', 'json', ...SCANNED],
    { cwd: ROOT, maxBuffer: 256 * 1024 * 1024, encoding: 'utf8' },
  );
  const { summary } = JSON.parse(out);
  const loops = new Map();
  for (const violation of summary.violations) {
    if (violation.type !== 'cycle') throw new Error(`unexpected import-graph violation: ${JSON.stringify(violation)}`);
    const path = [violation.from, ...violation.cycle.map((step) => step.name)].join(' → ');
    loops.set(`${violation.rule.name}: ${violation.from} → ${violation.to}`, path);
  }
  return new Map([...loops].sort(([a], [b]) => a.localeCompare(b)));
}

function knownLoops() {
  return readFileSync(KNOWN_FILE, 'utf8')
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line && !line.startsWith('#'));
}

if (process.argv[1] === import.meta.filename) {
  const current = currentLoops();
  if (process.argv.includes('--list')) {
    console.log([...current.keys()].join('\n'));
  } else {
    const known = new Set(knownLoops());
    const added = [...current].filter(([key]) => !known.has(key)).map(([key, path]) => `${key}   (${path})`);
    const gone = [...known].filter((key) => !current.has(key));
    if (added.length > 0) console.error(`new import loops (break them; see .dependency-cruiser.cjs):\n  ${added.join('\n  ')}`);
    if (gone.length > 0) console.error(`loops gone: remove them from tools/dev/import-cycles.known:\n  ${gone.join('\n  ')}`);
    if (added.length > 0 || gone.length > 0) process.exit(1);
    console.log(`import graph: no new loops (${known.size} known, listed in tools/dev/import-cycles.known)`);
  }
}
