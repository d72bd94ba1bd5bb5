/** The few libc calls Node has no binding for, and the errno of the last call. */
export interface Libc {
  ioctl: (fd: number, request: number, arg: Buffer) => number;
  flock: (fd: number, operation: number) => number;
  syncfs: (fd: number) => number;
  errno: () => number;
}

let libc: Promise<Libc> | undefined;

/**
 * libc through koffi, loaded once: a maintained FFI library that ships prebuilt binaries, so
 * nothing is compiled on the node.
 */
export function loadLibc(): Promise<Libc> {
  libc ??= import('koffi').then(({ load, errno }) => {
    const lib = load('libc.so.6');
    return {
      ioctl: lib.func('int ioctl(int fd, unsigned long request, _Inout_ uint8_t *arg)') as Libc['ioctl'],
      flock: lib.func('int flock(int fd, int operation)') as Libc['flock'],
      syncfs: lib.func('int syncfs(int fd)') as Libc['syncfs'],
      errno: () => errno(),
    };
  });
  return libc;
}
