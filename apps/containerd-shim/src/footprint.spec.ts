import { describe, expect, it } from '@jest/globals';
import { packagesReached } from '@moat/test-support';
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';

describe('what the shim loads', () => {
  // containerd runs `start` on every task start and waits for it: it takes Node's own modules
  // MoatError and the socket probe, no gRPC, protobuf or zod.
  it('start reaches no package but @moat/proto/errors and @moat/proto/unix-socket', () => {
    const reached = new Set<string>();
    for (const module of ['main.ts', 'start/start.command.ts', 'start/daemon.launcher.ts']) {
      for (const specifier of packagesReached(join(__dirname, module))) reached.add(specifier);
    }
    expect([...reached].filter((specifier) => !specifier.startsWith('node:')).sort()).toEqual(['@moat/proto/errors', '@moat/proto/unix-socket']);
  });

  // The daemon's libraries as they are built: zod (some 100 modules) would slow every shim's start.
  it('the daemon’s libraries load no zod', () => {
    const script = "for (const m of ['@moat/ttrpc', '@moat/containerd-api', '@moat/proto/node-tasks']) require(m); process.stdout.write(String(Object.keys(require.cache).filter((f) => f.includes('/zod/')).length))";
    expect(execFileSync(process.execPath, ['-e', script], { cwd: __dirname, encoding: 'utf8' }).trim()).toBe('0');
  });
});
