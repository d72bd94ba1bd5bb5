/** A byte stream to the host with character-device semantics. */
export interface BytePort {
  /** Reads into `buffer`; 0 means no host is connected (virtio_console's read() on a closed host end). */
  read(buffer: Buffer): Promise<number>;
  /** Writes all of `data`. */
  write(data: Buffer): Promise<void>;
  close(): Promise<void>;
}
