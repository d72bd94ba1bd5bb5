import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { lstat, readdir } from 'node:fs/promises';
import { isAbsolute, join } from 'node:path';
import { PassThrough, type Readable, type Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { MoatError } from '@moat/proto';
import { MoveError, MoveErrorCode } from './move.errors';

/** GNU tar, run without a shell; no TAR_OPTIONS or other inherited settings reach it. */
const TAR = 'tar';
const TAR_ENV = { PATH: '/usr/sbin:/usr/bin:/sbin:/bin', LC_ALL: 'C' };
/** How much of tar's stderr an error carries. */
const MAX_STDERR_BYTES = 8 * 1024;

/** A pack under way: tar's output, and its byte count once tar has written all of it and exited 0. */
export interface PackedFiles {
  readonly stream: Readable;
  /** Rejects with MOVE_ARCHIVE_FAILED (tar's stderr) when tar fails: its output is then incomplete. */
  readonly done: Promise<number>;
}

/**
 * Packs `names` (relative to `dir`) into a tar stream. `-S`: the holes of a sparse file (a sandbox's
 * writable disk is a ~1 GiB ext4 image that is mostly holes) are recorded, not sent as zeros.
 */
export function packFiles(dir: string, names: readonly string[]): PackedFiles {
  checkNames(names);
  const child = spawnTar(['-c', '-S', '--numeric-owner', '-f', '-', '-C', dir, '--', ...names], 'pack');
  let bytes = 0;
  const stream = new PassThrough();
  const exited = tarExit(child, `pack ${names.length} files of ${dir}`);
  const copied = pipeline(
    child.stdout!,
    async function* count(source: AsyncIterable<Buffer>) {
      for await (const chunk of source) {
        bytes += chunk.length;
        yield chunk;
      }
    },
    stream,
  );
  const done = Promise.all([exited, copied]).then(
    () => bytes,
    (err: unknown) => {
      child.kill('SIGKILL');
      stream.destroy();
      throw err;
    },
  );
  // The caller handles `done`; this only keeps a failure it has not awaited yet from crashing the agent.
  done.catch(() => undefined);
  return { stream, done };
}

/**
 * Unpacks a tar stream into `dir` (which should be new and empty). tar itself refuses members
 * that name `..` and strips a leading `/`; what it extracted is then checked to be plain files
 * and directories only, as the runtime will re-own (chown) and move them: a symbolic or hard link
 * could point it at a file outside `dir`. Ownership is not taken from the archive.
 */
export async function unpackInto(dir: string, source: Readable | AsyncIterable<Buffer>): Promise<void> {
  const child = spawnTar(['-x', '-S', '--no-same-owner', '--no-overwrite-dir', '-f', '-', '-C', dir], 'unpack');
  const exited = tarExit(child, `unpack into ${dir}`);
  const [fed, result] = await Promise.allSettled([feed(source, child.stdin!), exited]);
  // A source that failed says why (a broken transfer); otherwise tar's own failure says more
  // than the broken pipe it leaves the feeder with.
  if (fed.status === 'rejected' && fed.reason instanceof MoatError) throw fed.reason;
  if (result.status === 'rejected') throw result.reason;
  if (fed.status === 'rejected') throw fed.reason;
  await checkPlainTree(dir);
}

/**
 * Writes the source to tar's stdin. tar stops reading at the end-of-archive blocks and may exit
 * before the rest of its last record arrived: what comes after that is read and dropped, so the
 * source is still read to its end (where the move's frames are checked to be complete).
 */
async function feed(source: Readable | AsyncIterable<Buffer>, stdin: Writable): Promise<void> {
  let closed = false;
  stdin.once('close', () => (closed = true));
  // EPIPE once tar is gone; its exit status says whether it took the archive.
  stdin.on('error', () => (closed = true));
  try {
    for await (const chunk of source as AsyncIterable<Buffer>) {
      if (closed || stdin.write(chunk)) continue;
      await new Promise<void>((resolve) => {
        const done = (): void => {
          stdin.off('drain', done).off('close', done);
          resolve();
        };
        stdin.once('drain', done).once('close', done);
      });
    }
  } catch (err) {
    stdin.destroy();
    throw err;
  }
  stdin.end();
}

/** Refuses names that are absolute, empty or leave their dir: only files under the dir are packed. */
export function checkNames(names: readonly string[]): void {
  for (const name of names) {
    if (name === '' || isAbsolute(name) || name.split('/').includes('..')) {
      throw new MoveError(MoveErrorCode.MOVE_PATH_UNSAFE, `${JSON.stringify(name)} is not a name under the saved state's dir`);
    }
  }
}

async function checkPlainTree(dir: string): Promise<void> {
  for (const entry of await readdir(dir, { recursive: true })) {
    const stat = await lstat(join(dir, entry));
    if (stat.isDirectory() || (stat.isFile() && stat.nlink === 1)) continue;
    throw new MoveError(MoveErrorCode.MOVE_PATH_UNSAFE, `${JSON.stringify(entry)} in the received archive is not a plain file`);
  }
}

function spawnTar(args: string[], direction: 'pack' | 'unpack'): ChildProcess {
  // Packing reads nothing from stdin; unpacking writes nothing to stdout.
  return spawn(TAR, args, { env: TAR_ENV, stdio: direction === 'pack' ? ['ignore', 'pipe', 'pipe'] : ['pipe', 'ignore', 'pipe'] });
}

/** Resolves when tar exits 0; otherwise rejects with what it said on stderr. */
async function tarExit(child: ChildProcess, what: string): Promise<void> {
  let stderr = '';
  child.stderr!.setEncoding('utf8').on('data', (text: string) => {
    if (stderr.length < MAX_STDERR_BYTES) stderr += text.slice(0, MAX_STDERR_BYTES - stderr.length);
  });
  const [code, signal] = await Promise.race([
    once(child, 'close') as Promise<[number | null, NodeJS.Signals | null]>,
    once(child, 'error').then(([cause]) => {
      throw new MoveError(MoveErrorCode.MOVE_ARCHIVE_FAILED, `${what}: cannot run ${TAR}`, { cause });
    }),
  ]);
  if (code === 0) return;
  const status = code === null ? `was killed by ${signal}` : `exited ${code}`;
  throw new MoveError(MoveErrorCode.MOVE_ARCHIVE_FAILED, `${what}: tar ${status}: ${stderr.trim() || '(no output)'}`);
}
