import { basename } from 'node:path';
import { GuestImageError, GuestImageErrorCode } from '../../errors/guest-image.error';

/** A module as modules.dep lists it: path relative to /lib/modules/<release>, direct+indirect deps. */
export interface ModuleEntry {
  path: string;
  deps: readonly string[];
}

/** `kernel/fs/ext4/ext4.ko` → `ext4`; modprobe treats `-` and `_` alike, so do we. */
export function moduleName(path: string): string {
  return basename(path).replace(/\.ko(\.(xz|zst|gz))?$/, '').replace(/-/g, '_');
}

/** Parses depmod's modules.dep (`path: dep dep …`), keyed by module name. */
export function parseModulesDep(text: string): ReadonlyMap<string, ModuleEntry> {
  const modules = new Map<string, ModuleEntry>();
  for (const line of text.split('\n')) {
    const colon = line.indexOf(':');
    if (colon <= 0) continue;
    const path = line.slice(0, colon).trim();
    const deps = line.slice(colon + 1).trim().split(/\s+/).filter(Boolean);
    modules.set(moduleName(path), { path, deps });
  }
  return modules;
}

/** Parses modules.builtin (one path per line) into module names. */
export function parseModulesBuiltin(text: string): ReadonlySet<string> {
  return new Set(text.split('\n').filter((line) => line.trim()).map(moduleName));
}

/**
 * The module files to insmod, in an order where every module follows what it depends on,
 * each once. Wanted modules that the kernel builds in are skipped; unknown ones are an error.
 */
export function moduleLoadOrder(
  modules: ReadonlyMap<string, ModuleEntry>,
  builtin: ReadonlySet<string>,
  wanted: readonly string[],
): string[] {
  const byPath = new Map([...modules.values()].map((entry) => [entry.path, entry]));
  const order: string[] = [];
  const visiting = new Set<string>();
  const done = new Set<string>();

  const visit = (entry: ModuleEntry): void => {
    if (done.has(entry.path)) return;
    if (visiting.has(entry.path)) {
      throw new GuestImageError(GuestImageErrorCode.KERNEL_UNSUPPORTED, `modules.dep has a cycle through ${entry.path}`);
    }
    visiting.add(entry.path);
    for (const depPath of entry.deps) {
      const dep = byPath.get(depPath);
      if (!dep) {
        throw new GuestImageError(GuestImageErrorCode.MODULE_NOT_FOUND, `${entry.path} needs ${depPath}, which modules.dep does not list`);
      }
      visit(dep);
    }
    visiting.delete(entry.path);
    done.add(entry.path);
    order.push(entry.path);
  };

  for (const name of wanted.map((w) => w.replace(/-/g, '_'))) {
    if (builtin.has(name)) continue;
    const entry = modules.get(name);
    if (!entry) throw new GuestImageError(GuestImageErrorCode.MODULE_NOT_FOUND, `kernel has no module ${name}`);
    visit(entry);
  }
  return order;
}
