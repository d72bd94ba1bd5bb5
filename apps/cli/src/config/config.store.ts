import { chmod, mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { CliError } from '../errors/exit-codes';

/** What `moat login` keeps: where the API is, the token, and the CA to trust, if private. */
export interface StoredConfig {
  apiUrl: string;
  token: string;
  /** A PEM file of the CA that signed the API's certificate. */
  caFile?: string;
}

/** `~/.config/moat/config.json` (or under $XDG_CONFIG_HOME), readable by its owner only. */
export class ConfigStore {
  readonly file: string;

  constructor(private readonly dir: string) {
    this.file = join(dir, 'config.json');
  }

  /** The stored config, or undefined before the first `moat login`. */
  async read(): Promise<StoredConfig | undefined> {
    let text: string;
    try {
      text = await readFile(this.file, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw err;
    }
    try {
      return JSON.parse(text) as StoredConfig;
    } catch (err) {
      throw new CliError(`${this.file} is not JSON (${(err as Error).message}): run moat login again`);
    }
  }

  async write(config: StoredConfig): Promise<void> {
    await mkdir(this.dir, { recursive: true, mode: 0o700 });
    await chmod(this.dir, 0o700);
    // The token is a secret: the file is created 0600 and kept so when it already existed.
    await writeFile(this.file, `${JSON.stringify(config, null, 2)}\n`, { mode: 0o600 });
    await chmod(this.file, 0o600);
  }
}

/** The directory of the CLI's config: $XDG_CONFIG_HOME/moat, else ~/.config/moat. */
export function configDir(env: NodeJS.ProcessEnv, homeDir: string): string {
  return join(env.XDG_CONFIG_HOME || join(homeDir, '.config'), 'moat');
}
