import { MoveGrace } from './move-grace';

/**
 * The sandboxes this node took in from another node that the control plane has not placed here
 * yet. The reconciler deletes whatever is not desired; it leaves an arrival alone until the
 * sandbox is desired (then the arrival is forgotten) or its grace has passed (the move was
 * abandoned): then the arrival is forgotten, and `onGraceEnd`'s listener looks at it again.
 */
export class MoveArrivals extends MoveGrace {
  /**
   * Takes a sandbox in as an arrival: recorded before `takeIn` makes the runtime hold it, so the
   * reconciler never finds it undesired and unrecorded; forgotten again when `takeIn` fails.
   */
  async arriving<T>(sandboxId: string, takeIn: () => Promise<T>): Promise<T> {
    this.record(sandboxId);
    try {
      return await takeIn();
    } catch (err) {
      this.forget(sandboxId);
      throw err;
    }
  }
}
