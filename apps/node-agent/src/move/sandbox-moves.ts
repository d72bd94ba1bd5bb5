import { mkdir } from 'node:fs/promises';
import type { TLSSocket } from 'node:tls';
import type { SandboxReceive, SandboxReceiveReply, SandboxSend, SandboxSendReply } from '@moat/proto';
import { receiveSaved, sendSaved } from './move-protocol';
import type { MoveKindOptions } from './move-sessions';
import type { MovePort } from './move.port';

export interface SandboxMovesOptions extends MoveKindOptions {
  runtime: MovePort;
  /** Where received files are unpacked, one fresh dir per move: on the node's data dir, so the runtime can move them into place. */
  receiveDir: string;
}

/**
 * This node's side of moving a hibernated sandbox between nodes, as the control plane arranges
 * it: `receive` (the target) opens a port for the move and takes the sandbox in when the source
 * connects; `send` (the source) connects to it and sends the sandbox's saved files.
 */
export class SandboxMoves {
  constructor(private readonly opts: SandboxMovesOptions) {}

  /** Opens the move's port and answers where it is; the taking in goes on after the answer. */
  async receive(req: SandboxReceive): Promise<SandboxReceiveReply> {
    const to = await this.opts.sessions.listen(
      req,
      (accepted) => this.takeIn(req, accepted),
      () => mkdir(this.opts.receiveDir, { recursive: true }).then(() => undefined),
    );
    this.opts.log.info({ moveId: req.moveId, sandboxId: req.sandboxId, ...to }, 'waiting for a sandbox from another node');
    return to;
  }

  /** Sends the hibernated sandbox to the target's port; resolves once the target has taken it in. */
  async send(req: SandboxSend): Promise<SandboxSendReply> {
    const log = this.opts.log.child({ moveId: req.moveId, sandboxId: req.sandboxId });
    return this.opts.sessions.leave(req, async (dial) => {
      const saved = await this.opts.runtime.savedFiles(req.sandboxId);
      const socket = await dial();
      log.info({ to: req.to, files: saved.files.length }, 'sending sandbox to another node');
      const bytes = await sendSaved(socket, saved, { timeoutMs: this.opts.transferTimeoutMs });
      log.info({ bytes }, 'sandbox sent; the other node took it in');
      return { bytes };
    });
  }

  private async takeIn(req: SandboxReceive, accepted: Promise<TLSSocket>): Promise<void> {
    const { moveId, sandboxId } = req;
    const { runtime, arrivals, log } = this.opts;
    try {
      const socket = await accepted;
      const takeIn = async (dir: string): Promise<void> => {
        await arrivals.arriving(sandboxId, () => runtime.importSaved(sandboxId, dir));
      };
      await receiveSaved(socket, { sandboxId, parentDir: this.opts.receiveDir, takeIn }, { timeoutMs: this.opts.transferTimeoutMs });
      log.info({ moveId, sandboxId }, 'sandbox taken in from another node');
    } catch (err) {
      log.warn({ err, moveId, sandboxId }, 'sandbox from another node not taken in');
    }
  }
}
