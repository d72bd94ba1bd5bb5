import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from '@jest/globals';
import { z } from 'zod';
import { JsonState } from './json-state';

describe('JsonState', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'json-state-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  const open = (file = join(dir, 'sub', 'state.json')) =>
    new JsonState(file, z.object({ n: z.number() }), () => ({ n: 0 }), (cause) => new Error('unreadable', { cause }));

  it('serializes concurrent updates, so none is lost', async () => {
    const state = open();
    await Promise.all(
      Array.from({ length: 20 }, () =>
        state.update(async (current, write) => {
          await new Promise((resolve) => setTimeout(resolve, 1));
          await write({ n: current.n + 1 });
        }),
      ),
    );
    expect(await state.read()).toEqual({ n: 20 });
  });

  it('keeps going after a failed update, and says so when the file is not its kind', async () => {
    const state = open();
    await expect(state.update(() => Promise.reject(new Error('boom')))).rejects.toThrow('boom');
    await state.update((current, write) => write({ n: current.n + 1 }));
    expect(JSON.parse(readFileSync(join(dir, 'sub', 'state.json'), 'utf8'))).toEqual({ n: 1 });
    writeFileSync(join(dir, 'bad.json'), '{"n": "one"}');
    await expect(open(join(dir, 'bad.json')).read()).rejects.toThrow('unreadable');
  });
});
