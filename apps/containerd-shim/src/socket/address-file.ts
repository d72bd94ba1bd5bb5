import { readFile, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

/** The file in the bundle where containerd (and a restarted containerd) reads the shim's address. */
export const ADDRESS_FILE = 'address';

/** Writes `address` to the bundle's `address` file atomically (a hidden temporary file, renamed), as containerd's shims do. */
export async function writeAddressFile(bundle: string, address: string): Promise<void> {
  const temporary = join(bundle, `.${ADDRESS_FILE}`);
  await writeFile(temporary, address, { mode: 0o600 });
  await rename(temporary, join(bundle, ADDRESS_FILE));
}

/** The address in the bundle's `address` file; undefined when there is none. */
export async function readAddressFile(bundle: string): Promise<string | undefined> {
  try {
    return await readFile(join(bundle, ADDRESS_FILE), 'utf8');
  } catch {
    return undefined;
  }
}
