import type { KeyValue } from '../generated/ttrpc';

/**
 * ttrpc metadata (ttrpc-go's `MD`): each key with its values, sent as repeated key/value pairs.
 * Keys go as they are given; ttrpc-go lower-cases them only in its `MD.Set` and `MD.Get`.
 */
export type Metadata = Readonly<Record<string, readonly string[]>>;

/** The pairs that carry `metadata` in a request. */
export function toKeyValues(metadata: Metadata): KeyValue[] {
  return Object.entries(metadata).flatMap(([key, values]) => values.map((value) => ({ key, value })));
}

/** The metadata the pairs of a request carry, values of a repeated key in order. */
export function fromKeyValues(pairs: readonly KeyValue[]): Metadata {
  // No prototype: a key such as `__proto__` or `constructor` from the wire stays plain data.
  const metadata: Record<string, string[]> = Object.create(null) as Record<string, string[]>;
  for (const { key, value } of pairs) (metadata[key] ??= []).push(value);
  return metadata;
}
