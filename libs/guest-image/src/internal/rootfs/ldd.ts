/**
 * The shared objects `ldd` says a binary loads, the dynamic loader included, as absolute
 * paths. The vDSO has no file and is skipped; a missing library is reported by name.
 */
export function parseLddOutput(text: string): { libraries: string[]; missing: string[] } {
  const libraries: string[] = [];
  const missing: string[] = [];
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    const arrow = /^(\S+) => (.+?)(?: \(0x[0-9a-f]+\))?$/.exec(line);
    if (arrow) {
      if (arrow[2] === 'not found') missing.push(arrow[1]);
      else if (arrow[2].startsWith('/')) libraries.push(arrow[2]);
      continue;
    }
    // The loader appears bare: "/lib64/ld-linux-x86-64.so.2 (0x…)".
    const bare = /^(\/\S+) \(0x[0-9a-f]+\)$/.exec(line);
    if (bare) libraries.push(bare[1]);
  }
  return { libraries, missing };
}
