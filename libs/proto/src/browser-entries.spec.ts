import { readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';

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

describe('the browser-safe entries', () => {
  // apps/web bundles these: zod or the gRPC code would add hundreds of kB to the dashboard.
  it.each(['attach.ts', 'ui.ts'])('%s pulls in no package at run time', (entry) => {
    expect([...packagesReached(join(__dirname, entry))]).toEqual([]);
  });
});
