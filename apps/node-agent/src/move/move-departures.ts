import { MoveGrace } from './move-grace';

/**
 * The sandboxes that migrated live from this node to another while the control plane may still
 * place them here: the desired set lists them until it switches their placement, and the
 * reconciler creates whatever is desired and absent. It leaves a departure absent until the
 * sandbox is no longer desired here (then the departure is forgotten) or its grace has passed
 * (the control plane never took the migration in: `onGraceEnd`'s listener looks at it again).
 * Recorded once the target said it runs the sandbox, before the runtime lets go of it here.
 */
export class MoveDepartures extends MoveGrace {}
