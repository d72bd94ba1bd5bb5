import { MAX_ARGV_ENTRIES, MAX_COMMAND_ARG_LENGTH, MAX_CWD_LENGTH, MAX_WINDOW_DIMENSION } from '@moat/proto';
import { envMap, type SessionOptions } from '@moat/runtime-core';
import { z } from 'zod';
import { parseOciJson } from './oci-json';

const MAX_PROCESS_JSON_BYTES = 256 * 1024;
const MAX_ENV_ENTRIES = 1024;
const ENV_ENTRY = /^[A-Za-z_][A-Za-z0-9_]*=/;
const MAX_ID = 0xffff_fffe;

/** The part of an OCI runtime spec's Process (`ctr task exec`'s, CRI's ExecSync) a Moat exec runs. */
const processSchema = z.object({
  args: z.array(z.string().max(MAX_COMMAND_ARG_LENGTH)).min(1).max(MAX_ARGV_ENTRIES),
  env: z.array(z.string().max(MAX_COMMAND_ARG_LENGTH)).max(MAX_ENV_ENTRIES).default([]),
  cwd: z.string().startsWith('/').max(MAX_CWD_LENGTH).default('/'),
  terminal: z.boolean().default(false),
  user: z.object({ uid: z.number().int().min(0).max(MAX_ID), gid: z.number().int().min(0).max(MAX_ID) }).optional(),
  consoleSize: z.object({ height: z.number().int().min(0).max(MAX_WINDOW_DIMENSION), width: z.number().int().min(0).max(MAX_WINDOW_DIMENSION) }).optional(),
});

/** An exec's OCI Process JSON as the session that runs it: its args, env, cwd, terminal and numeric user. */
export function execSessionOptions(processJson: string): SessionOptions {
  const { args, env, cwd, terminal, user, consoleSize } = parseOciJson(processJson, processSchema, "the exec's process spec", MAX_PROCESS_JSON_BYTES);
  return {
    command: args,
    // Names a shell could not set are dropped, as the guest would refuse them.
    env: envMap(env.filter((entry) => ENV_ENTRY.test(entry))),
    cwd,
    tty: terminal,
    ...(user && { user }),
    ...(consoleSize && consoleSize.height > 0 && consoleSize.width > 0 && { window: { rows: consoleSize.height, cols: consoleSize.width } }),
  };
}
