import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';

const ROOT = resolve(__dirname, '../../..');

// tsc's CommonJS output turns import() into require(); this keeps Node's own import() for the
// plain-Node ES modules under tools/dev (shared with `npm start`, `npm test` and the e2e harness).
// eslint-disable-next-line @typescript-eslint/no-implied-eval
const importEsm = new Function('specifier', 'return import(specifier)') as (specifier: string) => Promise<unknown>;

/** Imports one of tools/dev's ES modules, e.g. `stack.mjs`. */
export function importDevModule<T>(file: string): Promise<T> {
  return importEsm(pathToFileURL(join(ROOT, 'tools/dev', file)).href) as Promise<T>;
}
