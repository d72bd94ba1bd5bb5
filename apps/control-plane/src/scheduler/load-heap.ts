/**
 * Node indices in a binary min-heap ordered by `keys[i]`, ties to the lower index, with each
 * index's position tracked so that a node whose key changed moves in O(log n). The keys
 * live in the caller's array; call `update(i)` after changing `keys[i]`.
 */
export class LoadHeap {
  private readonly heap: Int32Array;
  private readonly position: Int32Array;
  private size: number;

  constructor(private readonly keys: Float64Array) {
    const n = keys.length;
    this.heap = new Int32Array(n);
    this.position = new Int32Array(n);
    for (let i = 0; i < n; i++) {
      this.heap[i] = i;
      this.position[i] = i;
    }
    this.size = n;
    for (let slot = (n >> 1) - 1; slot >= 0; slot--) this.down(slot);
  }

  /**
   * The first index in key order that `accepts`, looking at no more than `limit` of them;
   * -1 if none of the heap does, undefined if the limit was reached first.
   */
  first(accepts: (i: number) => boolean, limit: number): number | undefined {
    const taken: number[] = [];
    let found: number | undefined = -1;
    while (this.size > 0) {
      if (taken.length === limit) {
        found = undefined;
        break;
      }
      const top = this.heap[0];
      if (accepts(top)) {
        found = top;
        break;
      }
      taken.push(this.pop());
    }
    for (const i of taken) this.push(i);
    return found;
  }

  /** Restores the order after `keys[i]` changed. */
  update(i: number): void {
    const slot = this.position[i];
    this.up(slot);
    this.down(this.position[i]);
  }

  private pop(): number {
    const top = this.heap[0];
    this.size--;
    if (this.size > 0) {
      this.place(this.heap[this.size], 0);
      this.down(0);
    }
    return top;
  }

  private push(i: number): void {
    this.place(i, this.size);
    this.size++;
    this.up(this.size - 1);
  }

  private before(a: number, b: number): boolean {
    return this.keys[a] < this.keys[b] || (this.keys[a] === this.keys[b] && a < b);
  }

  private up(slot: number): void {
    const i = this.heap[slot];
    while (slot > 0) {
      const parent = (slot - 1) >> 1;
      if (!this.before(i, this.heap[parent])) break;
      this.place(this.heap[parent], slot);
      slot = parent;
    }
    this.place(i, slot);
  }

  private down(slot: number): void {
    const i = this.heap[slot];
    for (;;) {
      let child = 2 * slot + 1;
      if (child >= this.size) break;
      if (child + 1 < this.size && this.before(this.heap[child + 1], this.heap[child])) child++;
      if (!this.before(this.heap[child], i)) break;
      this.place(this.heap[child], slot);
      slot = child;
    }
    this.place(i, slot);
  }

  private place(i: number, slot: number): void {
    this.heap[slot] = i;
    this.position[i] = slot;
  }
}
