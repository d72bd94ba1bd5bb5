/** The few libc calls Node has no binding for, and the errno of the last call. */
export interface Libc {
  ioctl: (fd: number, request: number, arg: Buffer) => number;
  flock: (fd: number, operation: number) => number;
  syncfs: (fd: number) => number;
  socket: (domain: number, type: number, protocol: number) => number;
  connect: (fd: number, address: Buffer, length: number) => number;
  /** `sendmsg(2)` with one data buffer and a control buffer (e.g. SCM_RIGHTS). */
  sendmsg: (fd: number, message: MessageHeader, flags: number) => number;
  errno: () => number;
}

/** `struct msghdr` as koffi marshals it: the buffers become pointers. */
export interface MessageHeader {
  msg_name: null;
  msg_namelen: 0;
  msg_iov: { iov_base: Buffer; iov_len: number }[];
  msg_iovlen: number;
  msg_control: Buffer;
  msg_controllen: number;
  msg_flags: 0;
}

let libc: Promise<Libc> | undefined;

/**
 * libc through koffi, loaded once: a maintained FFI library that ships prebuilt binaries, so
 * nothing is compiled on the node.
 */
export function loadLibc(): Promise<Libc> {
  libc ??= import('koffi').then(({ load, errno, struct, pointer }) => {
    const lib = load('libc.so.6');
    // Anonymous: koffi's type names are process-wide, and this module may be loaded more than once (jest).
    const iovec = struct({ iov_base: 'void *', iov_len: 'size_t' });
    const msghdr = struct({
      msg_name: 'void *',
      msg_namelen: 'uint32_t',
      msg_iov: pointer(iovec),
      msg_iovlen: 'size_t',
      msg_control: 'void *',
      msg_controllen: 'size_t',
      msg_flags: 'int',
    });
    return {
      ioctl: lib.func('int ioctl(int fd, unsigned long request, _Inout_ uint8_t *arg)') as Libc['ioctl'],
      flock: lib.func('int flock(int fd, int operation)') as Libc['flock'],
      syncfs: lib.func('int syncfs(int fd)') as Libc['syncfs'],
      socket: lib.func('int socket(int domain, int type, int protocol)') as Libc['socket'],
      connect: lib.func('int connect(int fd, const uint8_t *address, uint32_t length)') as Libc['connect'],
      sendmsg: lib.func('sendmsg', 'long', ['int', pointer(msghdr), 'int']) as Libc['sendmsg'],
      errno: () => errno(),
    };
  });
  return libc;
}
