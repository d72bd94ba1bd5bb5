import type { AttachExit, AttachStart, OutputStream } from '@moat/proto';
import { AttachSession as SdkAttachSession } from '@moat/sdk';
import { API_URL } from './api';

/**
 * One interactive session on `/attach` through the SDK's client, its output collected as it
 * comes (each chunk taken at once, so the process never waits on the test).
 */
export class AttachSession {
  readonly stdout: Buffer[] = [];
  readonly stderr: Buffer[] = [];
  readonly exited: Promise<AttachExit>;
  private outputWaiters: Array<() => void> = [];

  private constructor(private readonly session: SdkAttachSession) {
    void (async () => {
      for await (const { stream, data } of session.output) {
        this[stream].push(Buffer.from(data));
        for (const wake of this.outputWaiters.splice(0)) wake();
      }
    })().catch(() => undefined);
    this.exited = session.exit;
  }

  /** Rejects with the SDK's MoatAttachError, whose message starts with the server's code. */
  static async start(token: string, request: AttachStart): Promise<AttachSession> {
    return new AttachSession(await SdkAttachSession.start({ apiUrl: API_URL, token }, request));
  }

  /** Writes `data` in chunks, each acknowledged once the guest process has it. */
  write(data: Buffer | string): Promise<void> {
    return this.session.write(data);
  }

  eof(): void {
    void this.session.end();
  }

  resize(rows: number, cols: number): void {
    this.session.resize({ rows, cols });
  }

  signal(signal: number): void {
    this.session.signal(signal);
  }

  text(stream: OutputStream = 'stdout'): string {
    return Buffer.concat(this[stream]).toString('utf8');
  }

  /** Waits until stdout matches `pattern`. */
  async waitForOutput(pattern: RegExp, timeoutMs = 60_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!pattern.test(this.text())) {
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${pattern} in ${JSON.stringify(this.text().slice(-500))}`);
      await new Promise<void>((resolve) => {
        this.outputWaiters.push(resolve);
        setTimeout(resolve, 500);
      });
    }
  }

  close(): void {
    this.session.close();
  }
}
