import { readFile } from 'node:fs/promises';
import { join } from 'node:path';

/** The annotation containerd's CRI puts on every bundle of a pod: the pod sandbox's id. */
export const CRI_SANDBOX_ID = 'io.kubernetes.cri.sandbox-id';
/** containerd's own grouping annotation (runc's shim honours it first; so does this one). */
export const SHIM_GROUP = 'io.containerd.runc.v2.group';

/**
 * Which shim serves task `id`: the one whose socket is named after the group. A pod's containers
 * share their sandbox's shim (and its VM), grouped by the bundle's OCI annotations as
 * containerd's runc shim groups them; any other task has a shim of its own. A config.json that
 * cannot be read groups nothing: Create reports what is wrong with it.
 */
export async function shimGroupOf(id: string, bundle: string): Promise<string> {
  let annotations: unknown;
  try {
    annotations = (JSON.parse(await readFile(join(bundle, 'config.json'), 'utf8')) as { annotations?: unknown }).annotations;
  } catch {
    return id;
  }
  if (typeof annotations !== 'object' || annotations === null) return id;
  const named = annotations as Record<string, unknown>;
  for (const key of [SHIM_GROUP, CRI_SANDBOX_ID]) {
    const group = named[key];
    if (typeof group === 'string' && group !== '') return group;
  }
  return id;
}
