import { mkdir, open, readdir, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { JailError, JailErrorCode } from './jail.errors';

/** An inclusive range of host uids (each used as the gid too) that jailed VMMs run as. */
export interface IdRange {
  first: number;
  last: number;
}

/** `MOAT_JAIL_ID_RANGE`'s default: far above the uids a distribution hands out. */
export const DEFAULT_JAIL_ID_RANGE: IdRange = { first: 200_000, last: 265_535 };

/** Parses `first-last`, e.g. `200000-265535`. */
export function parseIdRange(text: string): IdRange {
  const match = /^(\d+)-(\d+)$/.exec(text.trim());
  const first = Number(match?.[1]);
  const last = Number(match?.[2]);
  // uid 0 is root and 65534 nobody on most hosts; the kernel's uids stop below 2^32 - 1.
  if (!match || first < 1000 || last < first || last >= 2 ** 32 - 1) {
    throw new JailError(JailErrorCode.JAIL_IDS_EXHAUSTED, `"${text}" is not a uid range first-last with 1000 <= first <= last < 4294967295`);
  }
  return { first, last };
}

/**
 * Hands out one uid per jailed VM, host-wide: a lease is a file named by the uid in `dir`
 * (on tmpfs, e.g. `/run/moat/jail-ids`), created exclusively and holding its owner, so two
 * node agents on one host never share a uid and a crash leaves a lease its owner's release
 * (or the next runtime's recovery) removes.
 */
export class JailIds {
  constructor(
    private readonly dir: string,
    private readonly range: IdRange = DEFAULT_JAIL_ID_RANGE,
  ) {}

  /** The uid leased to `owner`, leasing a free one if it holds none. Starts probing at a hash of the owner, so ids spread. */
  async acquire(owner: string): Promise<number> {
    await mkdir(this.dir, { recursive: true, mode: 0o700 });
    const size = this.range.last - this.range.first + 1;
    const start = hash(owner) % size;
    for (let i = 0; i < size; i++) {
      const uid = this.range.first + ((start + i) % size);
      try {
        const file = await open(join(this.dir, String(uid)), 'wx', 0o600);
        await file.writeFile(`${owner}\n`);
        await file.close();
        return uid;
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
        // The probe order depends on the owner alone, so a lease it already holds is met first.
        if ((await this.holder(uid)) === owner) return uid;
      }
    }
    throw new JailError(JailErrorCode.JAIL_IDS_EXHAUSTED, `all ${size} uids of ${this.range.first}-${this.range.last} are leased`);
  }

  /** Gives the uid back if `owner` holds it; idempotent. */
  async release(uid: number, owner: string): Promise<void> {
    if ((await this.holder(uid)) === owner) await rm(join(this.dir, String(uid)), { force: true });
  }

  /** Gives back whatever uid `owner` holds, found by a scan of the leases (its uid is not known: a crash came between lease and record). */
  async releaseOwner(owner: string): Promise<void> {
    const names = await readdir(this.dir).catch(() => []);
    for (const name of names) if ((await this.holder(Number(name))) === owner) await rm(join(this.dir, name), { force: true });
  }

  private async holder(uid: number): Promise<string | undefined> {
    return (await readFile(join(this.dir, String(uid)), 'utf8').catch(() => undefined))?.trim();
  }
}

/** FNV-1a: a cheap, stable spread of owners over the range. */
function hash(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h;
}
