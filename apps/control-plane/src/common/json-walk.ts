/** One property of an object, or one element of an array, inside a parsed JSON value. */
export interface JsonEntry {
  key: string;
  value: unknown;
  /** Dotted, from the root: `quota.maxVcpus`, `ports.0.protocol`. */
  path: string;
  /** How deep the object or array holding it is nested: 1 for the root's own entries. */
  depth: number;
}

/**
 * The first problem `check` finds among the entries of `root`, or undefined: each object's
 * or array's entries in order, then depth first into them. Walks with its own stack, so that no nesting, however deep,
 * can overflow the call stack; `check` decides when to stop.
 */
export function findInJson(root: unknown, check: (entry: JsonEntry) => string | undefined): string | undefined {
  if (typeof root !== 'object' || root === null) return undefined;
  const pending: { value: object; path: string; depth: number }[] = [{ value: root, path: '', depth: 1 }];
  for (let next = pending.pop(); next; next = pending.pop()) {
    const { value, path, depth } = next;
    const keys = Object.keys(value);
    const children: typeof pending = [];
    for (const key of keys) {
      const child: unknown = (value as Record<string, unknown>)[key];
      const at = path ? `${path}.${key}` : key;
      const problem = check({ key, value: child, path: at, depth });
      if (problem !== undefined) return problem;
      if (typeof child === 'object' && child !== null) children.push({ value: child, path: at, depth: depth + 1 });
    }
    // Reversed onto the stack, so that the first child is visited next.
    for (let i = children.length - 1; i >= 0; i--) pending.push(children[i]);
  }
  return undefined;
}
