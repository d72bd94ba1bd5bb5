/**
 * Base of every Moat error: a machine-readable `code` (each module has its own string enum),
 * a human message, the low-level `cause`, and structured context (sandbox id, paths, …) for
 * logs. Shared by every project so that one `instanceof MoatError` recognises them all.
 */
export class MoatError<Code extends string = string> extends Error {
  readonly context: Record<string, unknown>;

  constructor(
    readonly code: Code,
    message: string,
    options: { cause?: unknown; context?: Record<string, unknown> } = {},
  ) {
    super(message, { cause: options.cause });
    this.name = new.target.name;
    this.context = options.context ?? {};
  }
}
