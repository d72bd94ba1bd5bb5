import { InvalidArgumentError } from 'commander';

/** Docker's default, which people know: ^P then ^Q. */
export const DEFAULT_DETACH_KEYS = 'ctrl-p,ctrl-q';

/** The control characters beyond ctrl-a…ctrl-z that `ctrl-<key>` can name (as Docker reads them). */
const CONTROL_PUNCTUATION: Record<string, number> = { '@': 0, '[': 27, '\\': 28, ']': 29, '^': 30, _: 31 };

/**
 * The bytes of a detach sequence as Docker writes it: comma-separated keys, each a single
 * character or `ctrl-<a-z, @, [, \, ], ^ or _>`; the empty string for none. A commander parser.
 */
export function detachKeys(spec: string): Uint8Array {
  if (spec === '') return new Uint8Array();
  return Uint8Array.from(spec.split(',').map(keyByte));
}

function keyByte(key: string): number {
  if (key.length === 1) return key.charCodeAt(0);
  const control = /^ctrl-(.)$/i.exec(key)?.[1]?.toLowerCase();
  if (control !== undefined && control >= 'a' && control <= 'z') return control.charCodeAt(0) - 0x60;
  if (control !== undefined && control in CONTROL_PUNCTUATION) return CONTROL_PUNCTUATION[control];
  throw new InvalidArgumentError(`"${key}" is not a key: use a character or ctrl-<a-z, @, [, \\, ], ^ or _>, comma-separated (e.g. ${DEFAULT_DETACH_KEYS})`);
}

/**
 * Watches typed input for the detach sequence. Bytes that may begin it are held back until the
 * sequence is complete (then they are dropped: the keys are the CLI's, not the process's) or
 * broken (then they are passed on), so the process never sees half a detach.
 */
export class DetachKeyScanner {
  private matched = 0;

  constructor(private readonly keys: Uint8Array) {}

  /** What of `chunk` to pass on, and whether the sequence is now complete. */
  scan(chunk: Uint8Array): { forward: Uint8Array; detach: boolean } {
    if (this.keys.length === 0) return { forward: chunk, detach: false };
    const forward: number[] = [];
    for (const byte of chunk) {
      if (byte !== this.keys[this.matched] && this.matched > 0) {
        forward.push(...this.keys.subarray(0, this.matched));
        this.matched = 0;
      }
      if (byte === this.keys[this.matched]) {
        this.matched += 1;
        if (this.matched === this.keys.length) return { forward: Uint8Array.from(forward), detach: true };
      } else {
        forward.push(byte);
      }
    }
    return { forward: Uint8Array.from(forward), detach: false };
  }
}
