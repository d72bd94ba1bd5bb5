/** One stanza of `apt-cache show` output: field name → value (continuation lines joined). */
export type ControlStanza = ReadonlyMap<string, string>;

/** Parses the first stanza of Debian control-format text. */
export function parseControlStanza(text: string): ControlStanza {
  const fields = new Map<string, string>();
  let last: string | undefined;
  for (const line of text.split('\n')) {
    if (line.trim() === '') {
      if (fields.size > 0) break;
      continue;
    }
    if ((line.startsWith(' ') || line.startsWith('\t')) && last) {
      fields.set(last, `${fields.get(last) ?? ''}\n${line.trim()}`);
      continue;
    }
    const colon = line.indexOf(':');
    if (colon <= 0) continue;
    last = line.slice(0, colon);
    fields.set(last, line.slice(colon + 1).trim());
  }
  return fields;
}

/**
 * The versioned kernel package a metapackage such as `linux-image-amd64` pulls in, read from
 * its `Depends` (e.g. `linux-image-6.1.0-56-amd64 (= 6.1.192-2)`).
 */
export function kernelPackageFromDepends(depends: string): string | undefined {
  for (const alternative of depends.split(/[,|]/)) {
    const name = alternative.trim().split(/\s/)[0];
    if (name && /^linux-image-\d/.test(name)) return name;
  }
  return undefined;
}
