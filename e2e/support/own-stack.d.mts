/** A TCP port nothing listens on right now (on loopback). */
export function freePort(): Promise<number>;
/** A new `<mainDataDir>/<prefix>XXXXXX` sharing the main data dir's guest image. */
export function freshDataDir(mainDataDir: string, prefix: string): string;
