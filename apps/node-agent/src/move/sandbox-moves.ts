import { mkdir } from 'node:fs/promises';
import type { SandboxReceive, SandboxReceiveReply, SandboxSend, SandboxSendReply } from '@moat/proto';
import type { Logger } from 'pino';
import type { MoveArrivals } from './move-arrivals';
import { dialMove, listenForMove, type MoveListener } from './move-channel';
import { receiveSaved, sendSaved } from './move-protocol';
import type { MovePort } from './move.port';
import { MoveError, MoveErrorCode } from './move.errors';

export interface SandboxMovesOptions {
  runtime: MovePort;
  /** Where received files are unpacked, one fresh dir per move: on the node's data dir, so the runtime can move them into place. */
  receiveDir: string;
  /** Where other nodes reach this one (its underlay address), if known yet. */
  address: () => string | undefined;
  arrivals: MoveArrivals;
  log: Logger;
  /** Defaults: MOVE_CONNECT_TIMEOUT_MS and MOVE_TRANSFER_TIMEOUT_MS. */
  connectTimeoutMs?: number;
  transferTimeoutMs?: number;
}

/**
 * This node's side of moving a hibernated sandbox between nodes, as the control plane arranges
 * it: `receive` (the target) opens a port for the move and takes the sandbox in when the source
 * connects; `send` (the source) connects to it and sends the sandbox's saved files. A sandbox
 * moves in or out of this node one move at a time.
 */
export class SandboxMoves {
  private readonly moving = new Set<string>();
  private readonly receiving = new Map<MoveListener, Promise<void>>();

  constructor(private readonly opts: SandboxMovesOptions) {}

  /** Opens the move's port and answers where it is; the taking in goes on after the answer. */
  async receive(req: SandboxReceive): Promise<SandboxReceiveReply> {
    const host = this.opts.address();
    if (!host) throw new MoveError(MoveErrorCode.MOVE_NO_ADDRESS, 'this node does not know its underlay address yet (no MOAT_NODE_ADDRESS, no desired set)');
    this.claim(req.sandboxId);
    let listener: MoveListener;
    try {
      await mkdir(this.opts.receiveDir, { recursive: true });
      listener = await listenForMove({ moveId: req.moveId, key: keyOf(req), host, timeoutMs: this.opts.connectTimeoutMs });
    } catch (err) {
      this.moving.delete(req.sandboxId);
      throw err;
    }
    this.receiving.set(
      listener,
      this.takeIn(req, listener).finally(() => {
        this.receiving.delete(listener);
        this.moving.delete(req.sandboxId);
      }),
    );
    this.opts.log.info({ moveId: req.moveId, sandboxId: req.sandboxId, host, port: listener.port }, 'waiting for a sandbox from another node');
    return { host, port: listener.port };
  }

  /** Sends the hibernated sandbox to the target's port; resolves once the target has taken it in. */
  async send(req: SandboxSend): Promise<SandboxSendReply> {
    this.claim(req.sandboxId);
    const log = this.opts.log.child({ moveId: req.moveId, sandboxId: req.sandboxId });
    try {
      const saved = await this.opts.runtime.savedFiles(req.sandboxId);
      const socket = await dialMove({ moveId: req.moveId, key: keyOf(req), ...req.to, timeoutMs: this.opts.connectTimeoutMs });
      log.info({ to: req.to, files: saved.files.length }, 'sending sandbox to another node');
      const bytes = await sendSaved(socket, saved, { timeoutMs: this.opts.transferTimeoutMs });
      log.info({ bytes }, 'sandbox sent; the other node took it in');
      return { bytes };
    } finally {
      this.moving.delete(req.sandboxId);
    }
  }

  /** Closes every port still waiting and waits for the moves in progress (on the agent's stop, in tests). */
  async close(): Promise<void> {
    for (const listener of this.receiving.keys()) listener.close();
    await Promise.all(this.receiving.values());
  }

  /** Resolves when every receive in progress has ended. */
  async idle(): Promise<void> {
    await Promise.all(this.receiving.values());
  }

  private claim(sandboxId: string): void {
    if (this.moving.has(sandboxId)) throw new MoveError(MoveErrorCode.MOVE_IN_PROGRESS, `sandbox ${sandboxId} is already moving on this node`);
    this.moving.add(sandboxId);
  }

  private async takeIn(req: SandboxReceive, listener: MoveListener): Promise<void> {
    const { moveId, sandboxId } = req;
    const { runtime, arrivals, log } = this.opts;
    try {
      const socket = await listener.accepted;
      const takeIn = async (dir: string): Promise<void> => {
        // Before the runtime holds it, so the reconciler never finds it undesired and unrecorded.
        arrivals.record(sandboxId);
        try {
          await runtime.importSaved(sandboxId, dir);
        } catch (err) {
          arrivals.forget(sandboxId);
          throw err;
        }
      };
      await receiveSaved(socket, { sandboxId, parentDir: this.opts.receiveDir, takeIn }, { timeoutMs: this.opts.transferTimeoutMs });
      log.info({ moveId, sandboxId }, 'sandbox taken in from another node');
    } catch (err) {
      log.warn({ err, moveId, sandboxId }, 'sandbox from another node not taken in');
    }
  }
}

function keyOf(req: SandboxReceive): Buffer {
  return Buffer.from(req.key, 'base64');
}
