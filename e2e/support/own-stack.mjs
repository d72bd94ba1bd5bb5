// What a test needs to start a Moat stack of its own beside the suite's (e2e/run.mjs does the same
// for the suite's): free ports and a fresh data dir.
import { mkdtempSync, symlinkSync } from 'node:fs';
import { createServer } from 'node:net';
import { join, resolve } from 'node:path';

/** A TCP port nothing listens on right now (on loopback). */
export function freePort() {
  return new Promise((done, fail) => {
    const server = createServer();
    server.once('error', fail);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => done(port));
    });
  });
}

/** A new `<mainDataDir>/<prefix>XXXXXX` sharing the main data dir's guest image. */
export function freshDataDir(mainDataDir, prefix) {
  const dataDir = mkdtempSync(join(resolve(mainDataDir), prefix));
  symlinkSync(join(resolve(mainDataDir), 'guest-images'), join(dataDir, 'guest-images'));
  return dataDir;
}
