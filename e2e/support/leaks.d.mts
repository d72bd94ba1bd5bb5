/** Host objects (processes, dirs, mounts) of a Moat stack still present; empty when clean. */
export function findLeaks(dataDir: string, sandboxIds?: string[]): string[];
