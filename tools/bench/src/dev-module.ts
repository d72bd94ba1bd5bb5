import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';

const ROOT = resolve(__dirname, '../../..');

// tsc's CommonJS output turns import() into require(); this keeps Node's own import() for the
// plain-Node ES modules under tools/ (tools/dev's shared with `npm start`, `npm test` and the e2e harness).
// eslint-disable-next-line @typescript-eslint/no-implied-eval
const importEsm = new Function('specifier', 'return import(specifier)') as (specifier: string) => Promise<unknown>;

/** Imports one of tools/dev's ES modules, e.g. `stack.mjs`. */
export function importDevModule<T>(file: string): Promise<T> {
  return importToolModule<T>(join('dev', file));
}

/** Imports one of the plain-Node ES modules under tools/, e.g. `containerd/containerd.mjs`. */
export function importToolModule<T>(path: string): Promise<T> {
  return importEsm(pathToFileURL(join(ROOT, 'tools', path)).href) as Promise<T>;
}
