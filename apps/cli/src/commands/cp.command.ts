import { Command } from 'commander';
import { createReadStream, createWriteStream } from 'node:fs';
import { rename, rm, stat } from 'node:fs/promises';
import { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { CliContext } from '../context/cli.context';
import { CliError } from '../errors/exit-codes';

/** One side of a copy: a local path, or `<sandbox id>:<absolute path>` in a sandbox. */
export type CopyEnd = { kind: 'local'; path: string } | { kind: 'sandbox'; id: string; path: string };

const SANDBOX_PATH = /^([^/:]+):(\/.*)$/;

export function parseCopyEnd(text: string): CopyEnd {
  const match = SANDBOX_PATH.exec(text);
  return match ? { kind: 'sandbox', id: match[1], path: match[2] } : { kind: 'local', path: text };
}

/** `moat cp <src> <dest>`: a file into a sandbox or out of one, streamed both ways. */
export function cpCommand(ctx: CliContext): Command {
  return new Command('cp')
    .description(
      'copy a file into a sandbox (moat cp ./a.txt <id>:/tmp/a.txt) or out of one (moat cp <id>:/tmp/a.txt ./a.txt); ' +
        'a directory comes out as a tar archive of its tree',
    )
    .argument('<src>', 'a local path, or <id>:<absolute path in the sandbox>')
    .argument('<dest>', 'a local path, or <id>:<absolute path in the sandbox>')
    .option('--mode <octal>', 'permission bits of a file copied in (default: those of the local file)')
    .action(async (src: string, dest: string, options: { mode?: string }) => {
      const from = parseCopyEnd(src);
      const to = parseCopyEnd(dest);
      if (from.kind === to.kind) throw new CliError('one side must be a sandbox path (<id>:/path) and the other a local path');
      if (options.mode !== undefined && !/^[0-7]{3,4}$/.test(options.mode)) throw new CliError(`--mode must be octal permission bits such as 0644, got "${options.mode}"`);
      const moat = await ctx.moat();
      if (from.kind === 'local' && to.kind === 'sandbox') {
        const local = await stat(from.path).catch(() => undefined);
        if (!local?.isFile()) throw new CliError(`${from.path} is not a file`);
        const sandbox = await moat.sandboxes.get(to.id);
        const mode = options.mode !== undefined ? parseInt(options.mode, 8) : local.mode & 0o7777;
        const body = Readable.toWeb(createReadStream(from.path)) as ReadableStream<Uint8Array>;
        const written = await sandbox.files.write(to.path, body, { mode });
        if (ctx.printer.format === 'json') ctx.printer.json(written);
        else ctx.io.stderr(`${written.size} bytes → ${to.id}:${written.path}\n`);
      } else if (from.kind === 'sandbox' && to.kind === 'local') {
        const sandbox = await moat.sandboxes.get(from.id);
        const stream = await sandbox.files.read(from.path);
        // Written beside the destination and renamed at the end: a failed copy leaves no half file.
        const partial = `${to.path}.moat-partial`;
        try {
          await pipeline(Readable.fromWeb(stream), createWriteStream(partial) as Writable);
          await rename(partial, to.path);
        } catch (error) {
          await rm(partial, { force: true });
          throw error;
        }
        const size = (await stat(to.path)).size;
        if (ctx.printer.format === 'json') ctx.printer.json({ path: to.path, size });
        else ctx.io.stderr(`${size} bytes ← ${from.id}:${from.path}\n`);
      }
    });
}
