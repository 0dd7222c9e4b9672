/**
 * Items added in the same turn of the event loop handed over together: the batch is flushed
 * at `setImmediate` (after the current I/O callbacks, so every reply parsed from one socket
 * read, and the continuations it resumed, has added its item by then), or at once when it
 * reaches `maxBatch` (the rest goes in the next batch). What a batch is for — one log call,
 * one venue call — is the owner's `flush`.
 */
export class TurnBatcher<T> {
  readonly #maxBatch: number;
  readonly #flush: (batch: T[]) => void;
  #waiting: T[] = [];
  #scheduled = false;

  /** `flush` is called synchronously with each batch (at least one item) and must not throw. */
  constructor(maxBatch: number, flush: (batch: T[]) => void) {
    if (!Number.isSafeInteger(maxBatch) || maxBatch < 1) {
      throw new RangeError(`maxBatch must be a whole number >= 1, got ${maxBatch}`);
    }
    this.#maxBatch = maxBatch;
    this.#flush = flush;
  }

  add(item: T): void {
    this.#waiting.push(item);
    if (this.#waiting.length >= this.#maxBatch) this.#flushNow();
    else if (!this.#scheduled) {
      this.#scheduled = true;
      setImmediate(() => {
        this.#scheduled = false;
        this.#flushNow();
      });
    }
  }

  #flushNow(): void {
    const batch = this.#waiting;
    if (batch.length === 0) return;
    this.#waiting = [];
    this.#flush(batch);
  }
}
