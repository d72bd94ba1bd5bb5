import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { describe, expect, it } from '@jest/globals';

/** Every package a module reaches through its relative imports, type-only imports excepted (they leave no code). */
function packagesReached(entry: string, seen = new Set<string>(), packages = new Set<string>()): Set<string> {
  if (seen.has(entry)) return packages;
  seen.add(entry);
  const source = readFileSync(entry, 'utf8');
  for (const [, typeOnly, specifier] of source.matchAll(/^(?:import|export)\s+(type\s+)?[^;]*?from\s+['"]([^'"]+)['"]/gms)) {
    if (typeOnly) continue;
    if (specifier.startsWith('.')) packagesReached(resolve(dirname(entry), `${specifier}.ts`), seen, packages);
    else packages.add(specifier);
  }
  return packages;
}

describe('the modules without zod or gRPC', () => {
  // apps/web bundles these entries: zod or the gRPC code would add hundreds of kB to the dashboard.
  it.each(['attach.ts', 'ui.ts'])('the browser entry %s pulls in no package at run time', (entry) => {
    expect([...packagesReached(join(__dirname, entry))]).toEqual([]);
  });

  // @moat/ttrpc takes MoatError from this entry, and the containerd shim loads @moat/ttrpc unbundled
  // on every task start: zod there would add some 100 ms to each.
  it('the entry errors.ts pulls in no package at run time', () => {
    expect([...packagesReached(join(__dirname, 'errors.ts'))]).toEqual([]);
  });

  // The guest agent's esbuild bundle drops modules it does not use (sideEffects: false), so the
  // limits, grammar and errors it takes keep zod out of the guest only while they stay free of it.
  const plain = ['agent.ts', ...['common', 'limits', 'attach', 'ui', 'errors'].flatMap((folder) =>
    readdirSync(join(__dirname, folder)).filter((file) => file.endsWith('.ts') && !file.endsWith('.spec.ts')).map((file) => `${folder}/${file}`),
  )];
  it.each(plain)('%s pulls in no package at run time', (module) => {
    expect([...packagesReached(join(__dirname, module))]).toEqual([]);
  });
});
