import { open, readdir, readFile, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import { AgentError, AgentErrorCode } from '../../errors/agent.error';
import type { BytePort } from './byte-port';

const SYS_VIRTIO_PORTS = '/sys/class/virtio-ports';

/** The device node of the virtio-serial port QEMU named `name` (`-device virtserialport,name=…`). */
export async function findVirtioPort(name: string, sysDir = SYS_VIRTIO_PORTS, devDir = '/dev'): Promise<string> {
  const entries = await readdir(sysDir).catch(() => [] as string[]);
  for (const entry of entries) {
    const portName = await readFile(join(sysDir, entry, 'name'), 'utf8').catch(() => '');
    if (portName.trim() === name) return join(devDir, entry);
  }
  throw new AgentError(AgentErrorCode.TRANSPORT_FAILED, `no virtio-serial port named ${name} in ${sysDir}`);
}

/**
 * A virtio-serial port opened as a file. libuv sees a character device as UV_FILE, so there is
 * no socket or poll-based stream: reads and writes are blocking calls on the threadpool.
 * Position null makes them read(2)/write(2) rather than pread/pwrite, which a port rejects.
 */
export class VirtioPort implements BytePort {
  private constructor(private readonly handle: FileHandle) {}

  static async open(path: string): Promise<VirtioPort> {
    try {
      return new VirtioPort(await open(path, 'r+'));
    } catch (cause) {
      throw new AgentError(AgentErrorCode.TRANSPORT_FAILED, `open ${path}`, { cause });
    }
  }

  async read(buffer: Buffer): Promise<number> {
    const { bytesRead } = await this.handle.read(buffer, 0, buffer.length, null);
    return bytesRead;
  }

  async write(data: Buffer): Promise<void> {
    let offset = 0;
    while (offset < data.length) {
      const { bytesWritten } = await this.handle.write(data, offset, data.length - offset, null);
      offset += bytesWritten;
    }
  }

  close(): Promise<void> {
    return this.handle.close();
  }
}
