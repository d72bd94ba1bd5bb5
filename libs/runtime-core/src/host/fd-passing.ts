import { closeSync } from 'node:fs';
import { Socket } from 'node:net';
import { loadLibc } from './libc';

const AF_UNIX = 1;
const SOCK_STREAM = 1;
const SOCK_CLOEXEC = 0o2000000;
const SOL_SOCKET = 1;
const SCM_RIGHTS = 1;
/** `struct sockaddr_un`: the family, then a path of at most 107 bytes and its NUL. */
const SOCKADDR_UN_BYTES = 110;
/** `struct cmsghdr` on 64-bit Linux: an 8-byte length, the level and the type, then the data. */
const CMSG_HEADER_BYTES = 16;

/**
 * A connected unix stream socket that can also hand descriptors to its peer (SCM_RIGHTS), which
 * Node's sockets cannot: the connection is made through libc, and Node reads and writes it as
 * usual. What the peer must receive with a descriptor goes through `sendWithDescriptor`.
 */
export class FdPassingSocket {
  private constructor(
    private readonly fd: number,
    /** Node's stream over the same connection, for everything else. */
    readonly stream: Socket,
  ) {}

  static async connect(path: string): Promise<FdPassingSocket> {
    const libc = await loadLibc();
    const address = Buffer.alloc(SOCKADDR_UN_BYTES);
    if (Buffer.byteLength(path) >= SOCKADDR_UN_BYTES - 2) throw new Error(`unix socket path ${path} is too long`);
    address.writeUInt16LE(AF_UNIX, 0);
    address.write(path, 2);
    const fd = libc.socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) throw new Error(`socket: errno ${libc.errno()}`);
    // A unix stream connect completes (or fails) at once: it never blocks the event loop.
    if (libc.connect(fd, address, SOCKADDR_UN_BYTES) !== 0) {
      const errno = libc.errno();
      closeSync(fd);
      throw new Error(`connect to ${path}: errno ${errno}`);
    }
    return new FdPassingSocket(fd, new Socket({ fd, readable: true, writable: true }));
  }

  /**
   * Sends `data` with `descriptor` attached in one message. The caller makes sure nothing else
   * is being written on `stream` meanwhile (a request-reply protocol between two requests).
   */
  async sendWithDescriptor(data: Buffer, descriptor: number): Promise<void> {
    const libc = await loadLibc();
    const control = Buffer.alloc(CMSG_HEADER_BYTES + 8);
    control.writeBigUInt64LE(BigInt(CMSG_HEADER_BYTES + 4), 0);
    control.writeInt32LE(SOL_SOCKET, 8);
    control.writeInt32LE(SCM_RIGHTS, 12);
    control.writeInt32LE(descriptor, CMSG_HEADER_BYTES);
    const sent = libc.sendmsg(
      this.fd,
      { msg_name: null, msg_namelen: 0, msg_iov: [{ iov_base: data, iov_len: data.length }], msg_iovlen: 1, msg_control: control, msg_controllen: control.length, msg_flags: 0 },
      0,
    );
    if (sent !== data.length) throw new Error(sent < 0 ? `sendmsg: errno ${libc.errno()}` : `sendmsg sent ${sent} of ${data.length} bytes`);
  }
}
