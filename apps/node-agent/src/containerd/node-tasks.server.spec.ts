import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from '@jest/globals';
import pino from 'pino';
import type { ContainerdTasks } from './containerd-tasks';
import { serveNodeTasks } from './node-tasks.server';

const log = pino({ level: 'silent' });
/** The calls never reach it here: only who serves the socket is under test. */
const tasks = {} as ContainerdTasks;

describe('the NodeTasks socket', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'node-tasks-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it("stays the first agent's when a second one shares its run dir, and goes with the first", async () => {
    const socket = join(dir, 'node-tasks.sock');
    const first = await serveNodeTasks(tasks, socket, log);
    const second = await serveNodeTasks(tasks, socket, log);
    await second.close();
    expect(existsSync(socket)).toBe(true);
    await first.close();
    expect(existsSync(socket)).toBe(false);
  });

  it("replaces a dead agent's socket", async () => {
    const socket = join(dir, 'node-tasks.sock');
    writeFileSync(socket, '');
    const server = await serveNodeTasks(tasks, socket, log);
    await server.close();
    expect(existsSync(socket)).toBe(false);
  });
});
