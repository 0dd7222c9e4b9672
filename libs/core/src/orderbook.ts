/**
 * L2 order book kept in step with a venue's sequence numbers.
 *
 * A snapshot replaces the book and sets its sequence. A delta changes levels (size 0
 * deletes) and must continue the sequence; venues say "continues" in one of three ways,
 * chosen by the fields the delta carries:
 * - `prevSeq` (OKX `prevSeqId`, Binance USD-M `pu`): must equal the book's seq.
 * - `firstSeq` (Binance `U`, the first update id in the event): the delta covers
 *   `firstSeq..seq` and must contain `bookSeq + 1`. Used for the first event after a
 *   REST snapshot, whose range straddles the snapshot's id.
 * - neither: `seq` must be `bookSeq + 1`.
 * A delta with `seq <= bookSeq` is stale (already in the snapshot) and ignored.
 * A gap is never applied: the book is marked `needsResync` and refuses deltas until the
 * next snapshot. Results are returned, not thrown (deltas are the hot path); the gap
 * result carries a `BookSequenceGapError` the caller may throw or log.
 *
 * The book is a mutable object for speed; the levels it hands out are immutable values.
 * Each side is a sorted array (bids descending, asks ascending) updated by binary search,
 * so a delta costs O(log n) to find a level plus an array splice, never a re-sort.
 */
import { Decimal, ZERO } from './decimal.js';
import { PerpmeshError, ValidationError } from './errors.js';
import type { Side } from './types.js';

export interface BookLevel {
  readonly price: Decimal;
  readonly size: Decimal;
}

export interface OrderBookSnapshot {
  readonly seq: number;
  readonly bids: ReadonlyArray<BookLevel>;
  readonly asks: ReadonlyArray<BookLevel>;
}

export interface OrderBookDelta {
  /** The venue sequence after this delta (its last update id). */
  readonly seq: number;
  /** The venue sequence this delta follows; when present it must equal the book's seq. */
  readonly prevSeq?: number;
  /** The first update id this delta covers; when present the delta must cover `bookSeq + 1`. */
  readonly firstSeq?: number;
  readonly bids: ReadonlyArray<BookLevel>;
  readonly asks: ReadonlyArray<BookLevel>;
}

/** A delta that does not continue the book's sequence. `expected`/`got` compare like with like. */
export class BookSequenceGapError extends PerpmeshError {
  /** Which delta field broke the sequence: `prevSeq`, `firstSeq` or `seq`. */
  readonly seqField: 'prevSeq' | 'firstSeq' | 'seq';
  readonly expected: number;
  readonly got: number;
  constructor(seqField: 'prevSeq' | 'firstSeq' | 'seq', expected: number, got: number, bookName?: string) {
    const where = bookName ? ` in ${bookName}` : '';
    const relation = seqField === 'firstSeq' ? `<= ${expected}` : String(expected);
    super('BOOK_SEQUENCE_GAP', `book sequence gap${where}: expected ${seqField} ${relation}, got ${got}`);
    this.seqField = seqField;
    this.expected = expected;
    this.got = got;
  }
}

export type DeltaResult =
  /** Applied. `crossed` says the book is now crossed (best bid >= best ask). */
  | { readonly status: 'applied'; readonly seq: number; readonly crossed: boolean }
  /** Ignored: the book already contains it (`seq <= bookSeq`). */
  | { readonly status: 'stale'; readonly seq: number; readonly bookSeq: number }
  /** Not applied: the sequence broke; the book now needs a snapshot. */
  | { readonly status: 'gap'; readonly error: BookSequenceGapError }
  /** Not applied: no snapshot yet, or waiting for one after a gap. */
  | { readonly status: 'unsynced'; readonly seq: number };

export interface BookWalk {
  /** Size that the visible book can fill, <= requested. */
  readonly filledSize: Decimal;
  /** Volume-weighted average price of the filled part; undefined when nothing fills. */
  readonly vwap: Decimal | undefined;
  /** Price of the last level touched; undefined when nothing fills. */
  readonly worstPrice: Decimal | undefined;
  /** Sum of price * size over the filled part. */
  readonly notional: Decimal;
  /** Requested size the book could not fill. */
  readonly unfilled: Decimal;
}

export interface BookTop {
  readonly seq: number;
  readonly bids: BookLevel[];
  readonly asks: BookLevel[];
}

/** Direction of a side's sort: asks ascend (+1), bids descend (-1). */
type SideOrder = 1 | -1;

function validateSeq(value: unknown, field: string): number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 0) {
    throw new ValidationError(field, `must be a non-negative safe integer, got ${String(value)}`);
  }
  return value;
}

function validateLevels(levels: ReadonlyArray<BookLevel>, field: string): void {
  for (let i = 0; i < levels.length; i++) {
    const level = levels[i]!;
    if (!(level.price instanceof Decimal) || !level.price.isFinite() || !level.price.gt(0)) {
      throw new ValidationError(`${field}[${i}].price`, `must be a decimal > 0, got ${String(level.price)}`);
    }
    if (!(level.size instanceof Decimal) || !level.size.isFinite() || level.size.isNeg()) {
      throw new ValidationError(`${field}[${i}].size`, `must be a decimal >= 0, got ${String(level.size)}`);
    }
  }
}

/** Index of `price` in `levels`, or of where it would be inserted. */
function search(levels: BookLevel[], price: Decimal, order: SideOrder): number {
  let lo = 0;
  let hi = levels.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (levels[mid]!.price.cmp(price) * order < 0) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

function upsert(levels: BookLevel[], level: BookLevel, order: SideOrder): void {
  const i = search(levels, level.price, order);
  const found = i < levels.length && levels[i]!.price.eq(level.price);
  if (level.size.isZero()) {
    // Deleting a level we do not have is normal: venues send deletes for levels
    // outside the depth we were given.
    if (found) levels.splice(i, 1);
  } else if (found) {
    levels[i] = { price: level.price, size: level.size };
  } else {
    levels.splice(i, 0, { price: level.price, size: level.size });
  }
}

export class OrderBook {
  /** A label for errors and logs, e.g. `okx BTC-USDT-PERP`. */
  readonly name: string | undefined;
  #bids: BookLevel[] = [];
  #asks: BookLevel[] = [];
  #seq = -1;
  #synced = false;

  constructor(options: { name?: string } = {}) {
    this.name = options.name;
  }

  /** The venue sequence of the last applied snapshot or delta; -1 before the first snapshot. */
  get seq(): number {
    return this.#seq;
  }

  /** True before the first snapshot and after a gap, until the next snapshot. */
  get needsResync(): boolean {
    return !this.#synced;
  }

  /** Replaces the whole book. Levels with size 0 are dropped; a repeated price keeps the last size. */
  applySnapshot(snapshot: OrderBookSnapshot): { seq: number; crossed: boolean } {
    const seq = validateSeq(snapshot.seq, 'snapshot.seq');
    validateLevels(snapshot.bids, 'snapshot.bids');
    validateLevels(snapshot.asks, 'snapshot.asks');
    this.#bids = buildSide(snapshot.bids, -1);
    this.#asks = buildSide(snapshot.asks, 1);
    this.#seq = seq;
    this.#synced = true;
    return { seq, crossed: this.isCrossed() };
  }

  /** Applies a delta if it continues the sequence; see the module comment for the rules. */
  applyDelta(delta: OrderBookDelta): DeltaResult {
    const seq = validateSeq(delta.seq, 'delta.seq');
    if (!this.#synced) return { status: 'unsynced', seq };
    const bookSeq = this.#seq;
    if (seq <= bookSeq) return { status: 'stale', seq, bookSeq };
    const gap = this.#checkContinuity(delta, seq, bookSeq);
    if (gap) {
      this.#synced = false;
      return { status: 'gap', error: gap };
    }
    // Validate before touching the book so a bad delta never half-applies. The venue's
    // update is lost to us either way, so the book needs a snapshot before it is trusted.
    try {
      validateLevels(delta.bids, 'delta.bids');
      validateLevels(delta.asks, 'delta.asks');
    } catch (error) {
      this.#synced = false;
      throw error;
    }
    for (const level of delta.bids) upsert(this.#bids, level, -1);
    for (const level of delta.asks) upsert(this.#asks, level, 1);
    this.#seq = seq;
    return { status: 'applied', seq, crossed: this.isCrossed() };
  }

  #checkContinuity(delta: OrderBookDelta, seq: number, bookSeq: number): BookSequenceGapError | undefined {
    if (delta.prevSeq !== undefined) {
      const prevSeq = validateSeq(delta.prevSeq, 'delta.prevSeq');
      return prevSeq === bookSeq
        ? undefined
        : new BookSequenceGapError('prevSeq', bookSeq, prevSeq, this.name);
    }
    if (delta.firstSeq !== undefined) {
      const firstSeq = validateSeq(delta.firstSeq, 'delta.firstSeq');
      // seq > bookSeq already holds, so the range covers bookSeq + 1 iff it starts at or before it.
      return firstSeq <= bookSeq + 1
        ? undefined
        : new BookSequenceGapError('firstSeq', bookSeq + 1, firstSeq, this.name);
    }
    return seq === bookSeq + 1 ? undefined : new BookSequenceGapError('seq', bookSeq + 1, seq, this.name);
  }

  /** Forces a resync (e.g. the stream reconnected). Levels stay readable but are not trusted. */
  invalidate(): void {
    this.#synced = false;
  }

  bestBid(): BookLevel | undefined {
    return this.#bids[0];
  }

  bestAsk(): BookLevel | undefined {
    return this.#asks[0];
  }

  /** Best bid >= best ask. Venues' books should never be; a crossed book means missed updates or a bad feed. */
  isCrossed(): boolean {
    const bid = this.#bids[0];
    const ask = this.#asks[0];
    return bid !== undefined && ask !== undefined && bid.price.gte(ask.price);
  }

  mid(): Decimal | undefined {
    const bid = this.#bids[0];
    const ask = this.#asks[0];
    return bid && ask ? bid.price.plus(ask.price).div(2) : undefined;
  }

  /** Best ask - best bid (negative when crossed). */
  spread(): Decimal | undefined {
    const bid = this.#bids[0];
    const ask = this.#asks[0];
    return bid && ask ? ask.price.minus(bid.price) : undefined;
  }

  /** Number of levels on a side. */
  depth(side: 'bids' | 'asks'): number {
    return side === 'bids' ? this.#bids.length : this.#asks.length;
  }

  /** The best `n` levels of a side, best first (all when `n` is omitted). */
  levels(side: 'bids' | 'asks', n?: number): BookLevel[] {
    const levels = side === 'bids' ? this.#bids : this.#asks;
    return n === undefined ? levels.slice() : levels.slice(0, Math.max(0, n));
  }

  /** The best `n` levels each side with the sequence, as published on `md.book`. */
  top(n: number): BookTop {
    return { seq: this.#seq, bids: this.levels('bids', n), asks: this.levels('asks', n) };
  }

  /** The whole book as a snapshot (for resync of downstream consumers and tests). */
  toSnapshot(): OrderBookSnapshot {
    return { seq: this.#seq, bids: this.#bids.slice(), asks: this.#asks.slice() };
  }

  /**
   * What a taker order of `size` would get from the visible book: a buy walks the asks,
   * a sell walks the bids. For slippage estimates; hidden liquidity and fees not included.
   */
  walkBook(side: Side, size: Decimal): BookWalk {
    if (!(size instanceof Decimal) || !size.isFinite() || size.isNeg()) {
      throw new ValidationError('size', `must be a decimal >= 0, got ${String(size)}`);
    }
    const levels = side === 'buy' ? this.#asks : this.#bids;
    let remaining = size;
    let notional = ZERO;
    let worstPrice: Decimal | undefined;
    for (const level of levels) {
      if (remaining.isZero()) break;
      const take = level.size.lt(remaining) ? level.size : remaining;
      notional = notional.plus(take.mul(level.price));
      remaining = remaining.minus(take);
      worstPrice = level.price;
    }
    const filledSize = size.minus(remaining);
    return {
      filledSize,
      vwap: filledSize.isZero() ? undefined : notional.div(filledSize),
      worstPrice,
      notional,
      unfilled: remaining,
    };
  }
}

function buildSide(input: ReadonlyArray<BookLevel>, order: SideOrder): BookLevel[] {
  const levels = input
    .map((level, index) => ({ price: level.price, size: level.size, index }))
    // Stable on equal prices by input position, so "last one wins" below is well defined.
    .sort((a, b) => a.price.cmp(b.price) * order || a.index - b.index);
  const out: BookLevel[] = [];
  for (const level of levels) {
    const last = out[out.length - 1];
    if (last?.price.eq(level.price)) out.pop();
    out.push({ price: level.price, size: level.size });
  }
  return out.filter((level) => !level.size.isZero());
}
