import type { TLSSocket } from 'node:tls';
import type { SandboxReceiveReply } from '@moat/proto';
import type { Logger } from 'pino';
import type { MoveArrivals } from './move-arrivals';
import { dialMove, listenForMove, type MoveListener } from './move-channel';
import { MoveError, MoveErrorCode } from './move.errors';

/** A move as the control plane names it to both nodes. */
export interface MoveRequest {
  moveId: string;
  sandboxId: string;
  /** The one-time key, base64. */
  key: string;
}

export interface MoveSessionsOptions {
  /** Where other nodes reach this one (its underlay address), if known yet. */
  address: () => string | undefined;
  log: Logger;
  /** Default: MOVE_CONNECT_TIMEOUT_MS. */
  connectTimeoutMs?: number;
}

/** What each kind of move (a hibernated move, a live migration) is given besides its runtime port. */
export interface MoveKindOptions {
  /** The claims, ports and connections of every move on this node. */
  sessions: MoveSessions;
  arrivals: MoveArrivals;
  log: Logger;
  /** Default: MOVE_TRANSFER_TIMEOUT_MS. */
  transferTimeoutMs?: number;
}

/**
 * What every kind of move does on this node around its protocol: a sandbox moves in or out one
 * move at a time (a hibernated move and a live migration alike), a target opens the move's port
 * on the underlay address and carries on after its answer, and the agent's stop closes the
 * ports still waiting and waits for the moves in progress.
 */
export class MoveSessions {
  private readonly moving = new Set<string>();
  private readonly receiving = new Map<MoveListener, Promise<void>>();

  constructor(private readonly opts: MoveSessionsOptions) {}

  /**
   * The target's side: claims the sandbox, runs `prepare`, opens the move's port and answers
   * where it is; `takeIn` then gets the connection the port accepts (or the failure of none),
   * and the claim lasts until it is done.
   */
  async listen(req: MoveRequest, takeIn: (accepted: Promise<TLSSocket>) => Promise<void>, prepare?: () => Promise<void>): Promise<SandboxReceiveReply> {
    const host = this.opts.address();
    if (!host) throw new MoveError(MoveErrorCode.MOVE_NO_ADDRESS, 'this node does not know its underlay address yet (no MOAT_NODE_ADDRESS, no desired set)');
    this.claim(req.sandboxId);
    let listener: MoveListener;
    try {
      await prepare?.();
      listener = await listenForMove({ moveId: req.moveId, key: keyOf(req), host, timeoutMs: this.opts.connectTimeoutMs });
    } catch (err) {
      this.moving.delete(req.sandboxId);
      throw err;
    }
    this.receiving.set(
      listener,
      takeIn(listener.accepted)
        .catch((err: unknown) => this.opts.log.error({ err, moveId: req.moveId, sandboxId: req.sandboxId }, 'a move into this node failed unlogged'))
        .finally(() => {
          this.receiving.delete(listener);
          this.moving.delete(req.sandboxId);
        }),
    );
    return { host, port: listener.port };
  }

  /** The source's side: runs `send` with the sandbox claimed and a way to connect to the target. */
  async leave<T>(req: MoveRequest & { to: SandboxReceiveReply }, send: (dial: () => Promise<TLSSocket>) => Promise<T>): Promise<T> {
    this.claim(req.sandboxId);
    try {
      return await send(() => dialMove({ moveId: req.moveId, key: keyOf(req), ...req.to, timeoutMs: this.opts.connectTimeoutMs }));
    } finally {
      this.moving.delete(req.sandboxId);
    }
  }

  /** Closes every port still waiting and waits for the moves in progress (on the agent's stop, in tests). */
  async close(): Promise<void> {
    for (const listener of this.receiving.keys()) listener.close();
    await this.idle();
  }

  /** Resolves when every move into this node in progress has ended. */
  async idle(): Promise<void> {
    await Promise.all(this.receiving.values());
  }

  private claim(sandboxId: string): void {
    if (this.moving.has(sandboxId)) throw new MoveError(MoveErrorCode.MOVE_IN_PROGRESS, `sandbox ${sandboxId} is already moving on this node`);
    this.moving.add(sandboxId);
  }
}

function keyOf(req: MoveRequest): Buffer {
  return Buffer.from(req.key, 'base64');
}
