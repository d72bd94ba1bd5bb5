/**
 * Regroups the pieces a request body arrives in (whatever sizes the network made) into chunks
 * of exactly `size` bytes, the last one possibly shorter.
 */
export class ChunkCollector {
  private pieces: Buffer[] = [];
  private held = 0;

  constructor(private readonly size: number) {}

  /** The full chunks `piece` completes. */
  add(piece: Buffer): Buffer[] {
    this.pieces.push(piece);
    this.held += piece.length;
    const full: Buffer[] = [];
    if (this.held < this.size) return full;
    let all = Buffer.concat(this.pieces);
    while (all.length >= this.size) {
      full.push(all.subarray(0, this.size));
      all = all.subarray(this.size);
    }
    this.pieces = all.length > 0 ? [all] : [];
    this.held = all.length;
    return full;
  }

  /** What is left, if anything. */
  flush(): Buffer | undefined {
    if (this.held === 0) return undefined;
    const rest = Buffer.concat(this.pieces);
    this.pieces = [];
    this.held = 0;
    return rest;
  }
}
