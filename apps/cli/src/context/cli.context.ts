import { Moat, type MoatOptions } from '@moat/sdk';
import type { Terminal } from '../attach/terminal';
import { ConfigStore, configDir, type StoredConfig } from '../config/config.store';
import { resolveConnection, trustCa } from '../config/connection';
import { ExitCode } from '../errors/exit-codes';
import { Printer, type OutputFormat } from '../output/printer';

/** What the CLI takes from its process; tests give their own. */
export interface CliIo {
  stdout: (text: string) => void;
  stderr: (text: string) => void;
  env: NodeJS.ProcessEnv;
  homeDir: string;
  /** Whether stderr is a terminal: live progress rewrites its line there. */
  isTty: boolean;
  sleep: (ms: number) => Promise<void>;
  /** The terminal and standard streams as bytes, for moat attach. */
  terminal: Terminal;
  /** The fetch the SDK sends with (default: the global one). */
  fetch?: MoatOptions['fetch'];
}

/** The options every command takes (declared on the program). */
export interface GlobalOptions {
  output: OutputFormat;
}

/** What a command's action works with: the client, the printer, the config, the exit code. */
export class CliContext {
  /** The code the CLI exits with when the action returns (`moat exec` sets the remote one). */
  exitCode: number = ExitCode.OK;
  readonly store: ConfigStore;

  constructor(
    readonly io: CliIo,
    private readonly globalOptions: () => GlobalOptions,
  ) {
    this.store = new ConfigStore(configDir(io.env, io.homeDir));
  }

  get printer(): Printer {
    return new Printer(this.globalOptions().output, this.io.stdout);
  }

  /** A client with the stored login, overridden by MOAT_API_URL, MOAT_TOKEN and MOAT_TLS_CA. */
  async moat(): Promise<Moat> {
    return this.connect(resolveConnection(await this.store.read(), this.io.env));
  }

  connect({ apiUrl, token, caFile }: StoredConfig): Moat {
    if (caFile) trustCa(caFile);
    return new Moat({ apiUrl, token, ...(this.io.fetch && { fetch: this.io.fetch }) });
  }
}
