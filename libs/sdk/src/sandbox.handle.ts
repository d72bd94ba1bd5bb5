import type { ExecRequest, ExecResult, MoatApi, Sandbox, SandboxState } from './api.types';
import { AttachSession, type AttachOptions } from './attach.session';
import type { AttachEndpoint } from './attach.socket';
import { bodyOf } from './body-of';
import { MoatClientError } from './moat.error';
import { SandboxFiles } from './sandbox-files';
import { sandboxLogs, type LogChunk, type LogsOptions } from './sandbox-logs';

/** How `exec` runs its command: everything `POST /v1/sandboxes/{id}/exec` takes but the argv. */
export type ExecOptions = Omit<ExecRequest, 'command'>;

export interface WaitOptions {
  /** Give up after this long (default 120 s): a MoatClientError with code `WAIT_TIMEOUT`. */
  timeoutMs?: number;
  /** How often to ask the control plane (default 500 ms). */
  intervalMs?: number;
}

const DEFAULT_WAIT_TIMEOUT_MS = 120_000;
const DEFAULT_WAIT_INTERVAL_MS = 500;

/** One sandbox: its representation as last fetched, and what can be done with it. */
export class MoatSandbox {
  /** Files in the sandbox's container: list, read (streamed), write. */
  readonly files: SandboxFiles;

  constructor(
    private readonly api: MoatApi,
    private current: Sandbox,
    private readonly endpoint: AttachEndpoint,
  ) {
    this.files = new SandboxFiles(api, current.id);
  }

  get id(): string {
    return this.current.id;
  }

  get state(): SandboxState {
    return this.current.state;
  }

  /** The representation the control plane last gave (see `refresh`). */
  get info(): Sandbox {
    return this.current;
  }

  /** Fetches the sandbox again; a MoatApiError `NOT_FOUND` once it is gone. */
  async refresh(): Promise<Sandbox> {
    this.current = await bodyOf(this.api.GET('/v1/sandboxes/{id}', { params: { path: { id: this.id } } }));
    return this.current;
  }

  /**
   * Runs `command` (an argv, no shell) in the sandbox's container and resolves with its exit
   * code and output once it ends; a non-zero exit code is a result, not an error.
   */
  exec(command: string[], options: ExecOptions = {}): Promise<ExecResult> {
    return bodyOf(
      this.api.POST('/v1/sandboxes/{id}/exec', { params: { path: { id: this.id } }, body: { ...options, command } }),
    );
  }

  /**
   * Starts an interactive session (default: `/bin/sh` on a TTY) and resolves once its process
   * runs: read its `output`, `write` to it, `resize` its TTY, await its `exit`. The process is
   * killed when the session is closed or its connection lost. A refusal rejects with a
   * MoatAttachError carrying the server's code, e.g. `SANDBOX_NOT_RUNNING`.
   *
   * ```ts
   * const session = await sandbox.attach({ command: ['cat'], tty: false });
   * await session.write('hello\n');
   * await session.end();
   * for await (const { data } of session.output) process.stdout.write(data);
   * const { exitCode } = await session.exit;
   * ```
   */
  attach(options: AttachOptions = {}): Promise<AttachSession> {
    return AttachSession.start(this.endpoint, { ...options, sandboxId: this.id });
  }

  /**
   * Polls until the sandbox is in `state`. Rejects with a MoatClientError: `SANDBOX_FAILED` when
   * it fails first (with its error), `WAIT_TIMEOUT` when `timeoutMs` passes.
   */
  async waitUntil(state: SandboxState, { timeoutMs = DEFAULT_WAIT_TIMEOUT_MS, intervalMs = DEFAULT_WAIT_INTERVAL_MS }: WaitOptions = {}): Promise<Sandbox> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const sandbox = await this.refresh();
      if (sandbox.state === state) return sandbox;
      if (sandbox.state === 'failed') {
        const why = sandbox.error ? `: ${sandbox.error.code}: ${sandbox.error.message}` : '';
        throw new MoatClientError('SANDBOX_FAILED', `sandbox ${this.id} failed while waiting for ${state}${why}`);
      }
      if (Date.now() + intervalMs > deadline) {
        throw new MoatClientError('WAIT_TIMEOUT', `sandbox ${this.id} is still ${sandbox.state} after ${timeoutMs} ms, not ${state}`);
      }
      await new Promise((resolve) => setTimeout(resolve, intervalMs));
    }
  }

  /**
   * What the sandbox's main process wrote to stdout and stderr, chunk by chunk, as its node
   * keeps it (from the container's start, oldest dropped beyond the node's bound); with
   * `follow`, live until the process's output ends:
   *
   * ```ts
   * for await (const { stream, text } of sandbox.logs({ follow: true, tail: 100 })) process[stream].write(text);
   * ```
   */
  logs(options: LogsOptions = {}): AsyncIterable<LogChunk> {
    return sandboxLogs(this.api, this.id, options);
  }

  /** Asks for the sandbox's deletion; resolves once it is accepted (it is gone later). */
  async delete(): Promise<void> {
    this.current = await bodyOf(this.api.DELETE('/v1/sandboxes/{id}', { params: { path: { id: this.id } } }));
  }
}
