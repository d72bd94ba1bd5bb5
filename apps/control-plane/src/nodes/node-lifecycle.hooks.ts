import type { DrainMode } from '@moat/proto';
import { Injectable, Logger } from '@nestjs/common';

/**
 * What other features learn about nodes. The deployments controller registers here to move
 * the sandboxes it manages (a drain by migration leaves them to it too): on `nodeDraining` it starts replacements on other nodes and stops
 * the old ones once the replacements are healthy; on `nodeDown` it may replace the node's
 * now `unknown` sandboxes (setting the old ones' desired state to deleted fences them: the
 * node stops them when it comes back).
 */

export interface NodeLifecycleListener {
  /** The node was asked to drain, `options.mode` saying how (see DrainByMigration for "migrate"). */
  nodeDraining?(nodeId: string, options?: { mode: DrainMode }): Promise<void>;
  nodeDown?(nodeId: string): Promise<void>;
}

/** The registry of node lifecycle listeners; listeners run in the background, one at a time. */
@Injectable()
export class NodeLifecycleHooks {
  private readonly logger = new Logger(NodeLifecycleHooks.name);
  private readonly listeners: NodeLifecycleListener[] = [];

  register(listener: NodeLifecycleListener): void {
    this.listeners.push(listener);
  }

  /** Tells every listener; does not wait for them (drain replacements can take minutes). */
  emit(event: keyof NodeLifecycleListener, nodeId: string, options?: { mode: DrainMode }): void {
    void (async () => {
      for (const listener of this.listeners) {
        try {
          await listener[event]?.(nodeId, options);
        } catch (err) {
          this.logger.error({ err, nodeId, event }, 'node lifecycle listener failed');
        }
      }
    })();
  }
}
