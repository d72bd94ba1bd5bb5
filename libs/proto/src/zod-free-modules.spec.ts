import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from '@jest/globals';
import { packagesReached } from '@moat/test-support';

describe('the modules without zod or gRPC', () => {
  // apps/web bundles these entries: zod or the gRPC code would add hundreds of kB to the dashboard.
  it.each(['attach.ts', 'ui.ts'])('the browser entry %s pulls in no package at run time', (entry) => {
    expect([...packagesReached(join(__dirname, entry))]).toEqual([]);
  });

  // @moat/ttrpc takes MoatError from errors.ts, and the containerd shim loads both entries
  // unbundled on every task start: zod there would add some 100 ms to each.
  it.each(['errors.ts', 'unix-socket.ts'])("the entry %s pulls in no package but Node's own at run time", (entry) => {
    expect([...packagesReached(join(__dirname, entry))].filter((specifier) => !specifier.startsWith('node:'))).toEqual([]);
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
