import { describe, expect, it } from '@jest/globals';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';

/** Every package a module reaches through its static imports; type-only and dynamic imports leave none at load. */
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

describe('what the shim loads', () => {
  // containerd runs `start` on every task start and waits for it: it takes Node's own modules
  // and MoatError, no gRPC, protobuf or zod.
  it('start reaches no package but @moat/proto/errors', () => {
    const reached = new Set<string>();
    for (const module of ['main.ts', 'start/start.command.ts', 'start/daemon.launcher.ts']) {
      for (const specifier of packagesReached(join(__dirname, module))) reached.add(specifier);
    }
    expect([...reached].filter((specifier) => !specifier.startsWith('node:'))).toEqual(['@moat/proto/errors']);
  });

  // The daemon's libraries as they are built: zod (some 100 modules) would slow every shim's start.
  it('the daemon’s libraries load no zod', () => {
    const script = "for (const m of ['@moat/ttrpc', '@moat/containerd-api', '@moat/proto/node-tasks']) require(m); process.stdout.write(String(Object.keys(require.cache).filter((f) => f.includes('/zod/')).length))";
    expect(execFileSync(process.execPath, ['-e', script], { cwd: __dirname, encoding: 'utf8' }).trim()).toBe('0');
  });
});
