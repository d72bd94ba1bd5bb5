import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';

/** The repository's root: the first directory above this module with an nx.json. */
export function repositoryRoot(): string {
  for (let dir = __dirname; dir !== dirname(dir); dir = dirname(dir)) {
    if (existsSync(join(dir, 'nx.json'))) return dir;
  }
  throw new Error(`no nx.json above ${__dirname}`);
}
