import type { Mount } from '@moat/containerd-api';
import type { Mounter } from '../mount/mounter';

/** Records what would be mounted where; `failMount` makes the next mount fail. */
export class FakeMounter implements Mounter {
  readonly mounted = new Map<string, readonly Mount[]>();
  readonly unmounted: string[] = [];
  failMount: Error | undefined;

  mount(mounts: readonly Mount[], target: string): Promise<void> {
    const failure = this.failMount;
    this.failMount = undefined;
    if (failure) return Promise.reject(failure);
    this.mounted.set(target, mounts);
    return Promise.resolve();
  }

  unmountAll(target: string): Promise<void> {
    if (this.mounted.delete(target)) this.unmounted.push(target);
    return Promise.resolve();
  }
}
