import type { ErrorInfo, SessionExit, SessionOpen, SessionOutput } from '@moat/proto';
import type { ProcessSession, SandboxRuntime } from '@moat/runtime-core';
import type { Logger } from 'pino';
import { errorInfo } from '../errors/error-info';
import type { SandboxActivity } from '../idle/idle-tracker';

/** Where session output and endings go (the control plane connection). */
export interface SessionSink {
  /** Resolves once the client has taken the chunk (end-to-end acknowledgement). */
  output(output: SessionOutput): Promise<void>;
  exit(exit: SessionExit): void;
  error(sessionId: string, error: ErrorInfo): void;
}

const DEFAULT_SHELL = ['/bin/sh'];

/**
 * The interactive sessions (attach) this node relays between the control plane and guests. An
 * open session keeps its sandbox in use (never idle) until it ends.
 */
export class SessionManager {
  private readonly sessions = new Map<string, ProcessSession>();

  constructor(
    private readonly runtime: Pick<SandboxRuntime, 'openSession'>,
    private readonly sink: SessionSink,
    private readonly log: Logger,
    private readonly activity: SandboxActivity,
  ) {}

  /** Starts the process and pumps its output until it ends; resolves once it runs. */
  async open(req: SessionOpen): Promise<void> {
    if (this.sessions.has(req.sessionId)) throw new Error(`session ${req.sessionId} already exists`);
    const release = this.activity.hold(req.sandboxId);
    let session: ProcessSession;
    try {
      session = await this.runtime.openSession(req.sandboxId, {
        command: req.command ?? DEFAULT_SHELL,
        tty: req.tty ?? true,
        window: req.window,
        env: req.env,
        cwd: req.cwd,
      });
    } catch (err) {
      release();
      throw err;
    }
    this.sessions.set(req.sessionId, session);
    void this.pump(req.sessionId, session).finally(release);
  }

  async input(sessionId: string, data: Buffer): Promise<void> {
    await this.get(sessionId).write(data);
  }

  eof(sessionId: string): void {
    this.session(sessionId)?.closeStdin().catch((err: unknown) => this.log.warn({ err, sessionId }, 'close stdin failed'));
  }

  resize(sessionId: string, window: { rows: number; cols: number }): void {
    this.session(sessionId)?.resize(window).catch((err: unknown) => this.log.warn({ err, sessionId }, 'resize failed'));
  }

  signal(sessionId: string, signal: number): void {
    this.session(sessionId)?.signal(signal).catch((err: unknown) => this.log.warn({ err, sessionId }, 'signal failed'));
  }

  /** The client went away: the process is killed. */
  close(sessionId: string): void {
    const session = this.sessions.get(sessionId);
    this.sessions.delete(sessionId);
    void session?.close();
  }

  closeAll(): void {
    for (const id of [...this.sessions.keys()]) this.close(id);
  }

  private async pump(sessionId: string, session: ProcessSession): Promise<void> {
    try {
      await session.output((stream, data) => this.sink.output({ sessionId, stream, data }));
      const exit = await session.wait();
      this.sink.exit({ sessionId, ...exit });
    } catch (err) {
      // Closed by the client: nobody to tell.
      if (this.sessions.has(sessionId)) this.sink.error(sessionId, errorInfo(err));
    } finally {
      this.sessions.delete(sessionId);
      await session.close();
    }
  }

  private get(sessionId: string): ProcessSession {
    const session = this.sessions.get(sessionId);
    if (!session) throw new Error(`no session ${sessionId}`);
    return session;
  }

  private session(sessionId: string): ProcessSession | undefined {
    return this.sessions.get(sessionId);
  }
}
