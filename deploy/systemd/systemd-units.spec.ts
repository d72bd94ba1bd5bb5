import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';

const ROOT = resolve(__dirname, '../..');
/** Where the units expect the built checkout (docs/operating.md). */
const INSTALL_DIR = '/opt/moat';
const NODE = `${INSTALL_DIR}/.toolchain/node/bin/node`;

const UNITS = [
  {
    file: 'moat-control-plane.service',
    app: 'apps/control-plane',
    configs: ['apps/control-plane/src/config/app-config.ts', 'apps/control-plane/src/config/tls-config.ts'],
    env: 'control-plane.env.example',
  },
  {
    file: 'moat-node-agent.service',
    app: 'apps/node-agent',
    configs: ['apps/node-agent/src/config/agent.config.ts', 'apps/node-agent/src/config/control-plane.config.ts'],
    env: 'node-agent.env.example',
  },
];

const read = (path: string) => readFileSync(resolve(ROOT, path), 'utf8');
const unitText = (file: string) => read(join('deploy/systemd', file));

describe('systemd units', () => {
  let installDir: string;
  beforeAll(() => {
    // verify checks that each ExecStart program exists: a stand-in checkout whose toolchain is this Node.
    installDir = mkdtempSync(join(tmpdir(), 'moat-units-'));
    mkdirSync(join(installDir, '.toolchain/node/bin'), { recursive: true });
    symlinkSync(process.execPath, join(installDir, '.toolchain/node/bin/node'));
  });
  afterAll(() => rmSync(installDir, { recursive: true, force: true }));

  it('pass systemd-analyze verify without a single warning, the TLS drop-in included', () => {
    const copies = UNITS.map(({ file }) => {
      const copy = join(installDir, file);
      writeFileSync(copy, unitText(file).replaceAll(INSTALL_DIR, installDir));
      return copy;
    });
    // verify reads a unit's drop-ins from <unit>.d/ beside the unit file it is given.
    mkdirSync(join(installDir, 'moat-control-plane.service.d'));
    writeFileSync(join(installDir, 'moat-control-plane.service.d/tls.conf'), unitText('moat-control-plane.service.d/tls.conf'));
    const result = spawnSync('systemd-analyze', ['verify', '--man=no', ...copies], { encoding: 'utf8' });
    if (result.error) throw new Error(`systemd-analyze (Debian package systemd) did not run: ${result.error.message}`);
    expect({ status: result.status, output: `${result.stdout}${result.stderr}`.trim() }).toEqual({ status: 0, output: '' });
  });

  it.each(UNITS)('$file starts the app the build makes, on the toolchain Node', ({ file, app }) => {
    const execStart = /^ExecStart=(.*)$/m.exec(unitText(file))?.[1].split(' ');
    const main = (JSON.parse(read(join(app, 'package.json'))) as { main: string }).main;
    expect(execStart).toEqual([NODE, join(INSTALL_DIR, app, main)]);
  });

  it.each(UNITS)('$env names only variables the process reads', ({ configs, env }) => {
    const known = new Set(configs.flatMap((config) => read(config).match(/\b(?:MOAT_[A-Z0-9_]+|DATABASE_URL|REDIS_URL)\b/g) ?? []));
    const named = [...unitText(env).matchAll(/^#?([A-Z][A-Z0-9_]*)=/gm)].map((match) => match[1]);
    expect(named.length).toBeGreaterThan(0);
    expect(named.filter((name) => !known.has(name))).toEqual([]);
  });
});

describe.each(UNITS)('$file', ({ file }) => {
  // The env examples leave MOAT_DATA_DIR to the unit; systemd makes it and keeps it writable.
  it('keeps MOAT_DATA_DIR in its StateDirectory', () => {
    const text = unitText(file);
    const stateDirectory = /^StateDirectory=(.*)$/m.exec(text)?.[1];
    expect(stateDirectory).toBeDefined();
    expect(/^Environment=MOAT_DATA_DIR=(.*)$/m.exec(text)?.[1]).toBe(`%S/${stateDirectory}`);
  });
});
