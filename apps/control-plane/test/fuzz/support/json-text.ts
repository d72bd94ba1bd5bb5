/** A JSON token written exactly as given (`1e999`, `-0`, a 30-digit integer): JSON.stringify cannot. */
export class RawJson {
  constructor(readonly text: string) {}
}

/**
 * JSON text of `value`, with `RawJson` tokens spliced in and own `__proto__` properties kept
 * (they are ordinary keys in JSON). The values the fuzzer builds nest a few levels at most;
 * deeper documents are written as text directly.
 */
export function jsonText(value: unknown): string {
  if (value instanceof RawJson) return value.text;
  if (Array.isArray(value)) return `[${value.map((item) => jsonText(item)).join(',')}]`;
  if (typeof value === 'object' && value !== null) {
    const record = value as Record<string, unknown>;
    return `{${Object.keys(record)
      .map((key) => `${JSON.stringify(key)}:${jsonText(record[key])}`)
      .join(',')}}`;
  }
  return JSON.stringify(value) ?? 'null';
}

/** A copy of `base` with `key` set as an own property, even when it is `__proto__`. */
export function withKey(base: unknown, key: string, value: unknown): Record<string, unknown> {
  const copy: Record<string, unknown> = typeof base === 'object' && base !== null && !Array.isArray(base) ? { ...base } : {};
  Object.defineProperty(copy, key, { value, enumerable: true, writable: true, configurable: true });
  return copy;
}
