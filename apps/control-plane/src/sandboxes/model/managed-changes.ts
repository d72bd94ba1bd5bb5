import { Injectable } from '@nestjs/common';
import { Subject, type Observable } from 'rxjs';

/**
 * Says which deployments have sandboxes whose observed state just changed (a node reported on
 * them, the restart loop started them again), so the deployment controller reconciles now
 * instead of at its next interval. Raised where the changes arrive, heard by deployments.
 */
@Injectable()
export class ManagedSandboxChanges {
  private readonly subject = new Subject<string>();
  /** Deployment ids, once per change. */
  readonly changes: Observable<string> = this.subject.asObservable();

  changed(deploymentId: string): void {
    this.subject.next(deploymentId);
  }
}
