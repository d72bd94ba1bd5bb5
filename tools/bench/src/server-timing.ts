/** The durations (ms) of a `Server-Timing` header, by name: `lookup;dur=1.2, node;dur=30` → {lookup: 1.2, node: 30}. */
export function parseServerTiming(header: string | null): Record<string, number> {
  const timings: Record<string, number> = {};
  for (const metric of (header ?? '').split(',')) {
    const [name, ...params] = metric.trim().split(';');
    const dur = params.map((p) => p.trim()).find((p) => p.startsWith('dur='));
    if (name && dur) timings[name] = Number(dur.slice('dur='.length));
  }
  return timings;
}
