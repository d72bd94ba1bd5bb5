import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, describe, expect, it } from '@jest/globals';

const projectDir = resolve(__dirname, '..');

/** The esbuild command of this project's build, as project.json runs it. */
function bundleCommand(): string[] {
  const project = JSON.parse(readFileSync(join(projectDir, 'project.json'), 'utf8')) as { targets: { build: { options: { commands: string[] } } } };
  const command = project.targets.build.options.commands.find((line) => line.startsWith('esbuild '));
  if (!command) throw new Error('project.json builds no esbuild bundle');
  return command.split(' ').slice(1);
}

interface Metafile {
  outputs: Record<string, { inputs: Record<string, { bytesInOutput: number }> }>;
}

describe('the guest agent bundle', () => {
  const dir = mkdtempSync(join(tmpdir(), 'guest-bundle-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  // Every guest boot loads and runs the bundle under emulation: zod (the fleet protocol's schemas)
  // doubled it once, through one constant the agent took from a schema file.
  it('holds no zod: the agent takes only zod-free modules of @moat/proto', () => {
    const metafile = join(dir, 'meta.json');
    const args = [...bundleCommand().filter((arg) => !arg.startsWith('--outfile=')), `--outfile=${join(dir, 'guest-agent.js')}`, `--metafile=${metafile}`, '--log-level=error'];
    execFileSync(join(projectDir, '../../node_modules/.bin/esbuild'), args, { cwd: projectDir });
    const { outputs } = JSON.parse(readFileSync(metafile, 'utf8')) as Metafile;
    const bundled = Object.values(outputs).flatMap((output) => Object.entries(output.inputs).filter(([, input]) => input.bytesInOutput > 0).map(([path]) => path));
    expect(bundled.some((path) => path.includes('libs/proto/src/generated/agent'))).toBe(true);
    expect(bundled.filter((path) => path.includes('node_modules/zod/'))).toEqual([]);
  });
});
