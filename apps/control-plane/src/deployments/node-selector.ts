import type { NodeEntity } from '../nodes/node.entity';

/** Whether every key of `selector` is a label of the node with the same value. */
export function matchesSelector(labels: Readonly<Record<string, string>>, selector: Readonly<Record<string, string>>): boolean {
  return Object.entries(selector).every(([key, value]) => labels[key] === value);
}

/** A node's labels; nodes registered before labels existed have none. */
export function labelsOf(node: NodeEntity): Record<string, string> {
  return 'labels' in node && typeof node.labels === 'object' && node.labels !== null
    ? (node.labels as Record<string, string>)
    : {};
}
