import { readFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import type { z } from 'zod';
import { mkdirDurable, writeFileAtomic } from './fs.helpers';

/**
 * A small JSON record on disk whose changes are serialized: each `update` reads it, edits it
 * and writes it back atomically before the next one starts, so concurrent callers never lose
 * each other's changes and a crash never leaves half a file.
 */
export class JsonState<T> {
  private queue: Promise<unknown> = Promise.resolve();

  constructor(
    private readonly file: string,
    private readonly schema: z.ZodType<T>,
    /** The state before the file exists. */
    private readonly empty: () => T,
    /** The error for a file that cannot be read or does not validate. */
    private readonly unreadable: (cause: unknown) => Error,
  ) {}

  async read(): Promise<T> {
    try {
      return this.schema.parse(JSON.parse(await readFile(this.file, 'utf8')));
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return this.empty();
      throw this.unreadable(error);
    }
  }

  /** Runs `change` alone: with the state it reads and a `write` that stores it. */
  update<R>(change: (state: T, write: (state: T) => Promise<void>) => Promise<R>): Promise<R> {
    const run = this.queue.then(async () => change(await this.read(), (state) => this.write(state)));
    this.queue = run.catch(() => undefined);
    return run;
  }

  private async write(state: T): Promise<void> {
    await mkdirDurable(dirname(this.file));
    await writeFileAtomic(this.file, `${JSON.stringify(state)}\n`);
  }
}
