import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';

/**
 * Every package a TypeScript module reaches through its static imports and re-exports, following
 * relative ones; type-only imports leave no code at run time and dynamic ones load later, so
 * neither counts. For tests that keep a module's load light (no zod, no gRPC).
 */
export function packagesReached(entry: string, seen = new Set<string>(), packages = new Set<string>()): Set<string> {
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
