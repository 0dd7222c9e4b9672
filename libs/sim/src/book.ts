/**
 * One instrument's limit order book: price levels best-first, each a FIFO queue
 * (price-time priority). The book only stores and orders resting orders; matching
 * decisions live in the exchange. Changed levels are tracked so a command's net effect
 * goes out as one delta.
 */
import { type Decimal, type InstrumentId, type Side, ZERO } from '@perpmesh/core';
import type { BookLevel } from './events.js';
import type { SimOrder } from './order.js';

export class PriceLevel {
  readonly orders: SimOrder[] = [];
  total: Decimal = ZERO;
  constructor(
    readonly price: Decimal,
    readonly key: string,
  ) {}
}

export class BookSide {
  /** Best first: bids descending, asks ascending. */
  readonly levels: PriceLevel[] = [];
  private readonly byKey = new Map<string, PriceLevel>();
  /** Level keys changed since the last delta, with their price. */
  readonly dirty = new Map<string, Decimal>();

  constructor(private readonly descending: boolean) {}

  /** True when `a` is better than (ahead of) `b` on this side. */
  private ahead(a: Decimal, b: Decimal): boolean {
    return this.descending ? a.gt(b) : a.lt(b);
  }

  level(price: Decimal): PriceLevel {
    const key = price.toFixed();
    let level = this.byKey.get(key);
    if (level !== undefined) return level;
    level = new PriceLevel(price, key);
    // Binary search for the first level this one is ahead of.
    let lo = 0;
    let hi = this.levels.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.ahead(price, (this.levels[mid] as PriceLevel).price)) hi = mid;
      else lo = mid + 1;
    }
    this.levels.splice(lo, 0, level);
    this.byKey.set(key, level);
    return level;
  }

  find(price: Decimal): PriceLevel | undefined {
    return this.byKey.get(price.toFixed());
  }

  dropIfEmpty(level: PriceLevel): void {
    if (level.orders.length > 0) return;
    this.byKey.delete(level.key);
    const index = this.levels.indexOf(level);
    if (index >= 0) this.levels.splice(index, 1);
  }

  touch(level: PriceLevel): void {
    this.dirty.set(level.key, level.price);
  }

  takeDirty(): BookLevel[] {
    const out: BookLevel[] = [];
    for (const [key, price] of this.dirty) out.push({ price, size: this.byKey.get(key)?.total ?? ZERO });
    this.dirty.clear();
    // Best first, like snapshots.
    out.sort((a, b) => (this.ahead(a.price, b.price) ? -1 : this.ahead(b.price, a.price) ? 1 : 0));
    return out;
  }

  top(depth: number): BookLevel[] {
    return this.levels.slice(0, depth).map((l) => ({ price: l.price, size: l.total }));
  }
}

export class OrderBook {
  readonly bids = new BookSide(true);
  readonly asks = new BookSide(false);
  /** Sequence of the last delta published. */
  seq = 0;

  constructor(readonly instrumentId: InstrumentId) {}

  side(side: Side): BookSide {
    return side === 'buy' ? this.bids : this.asks;
  }

  /** The side a taker of `side` trades against. */
  opposite(side: Side): BookSide {
    return side === 'buy' ? this.asks : this.bids;
  }

  bestBid(): Decimal | undefined {
    return this.bids.levels[0]?.price;
  }

  bestAsk(): Decimal | undefined {
    return this.asks.levels[0]?.price;
  }

  /** Appends a resting order at the back of its price level's queue. */
  add(order: SimOrder): void {
    const side = this.side(order.side);
    const level = side.level(order.price as Decimal);
    level.orders.push(order);
    level.total = level.total.plus(order.remainingSize);
    side.touch(level);
  }

  /** Takes `size` off a resting order's level total (after a fill). Removes the order when it is done. */
  reduce(order: SimOrder, size: Decimal): void {
    const side = this.side(order.side);
    const level = side.find(order.price as Decimal);
    if (level === undefined) return;
    level.total = level.total.minus(size);
    side.touch(level);
    if (!order.isOpen || order.remainingSize.isZero()) this.unlink(side, level, order);
  }

  /** Removes a resting order with its whole remaining size (cancel); call before ending the order. */
  remove(order: SimOrder): void {
    const side = this.side(order.side);
    const level = side.find(order.price as Decimal);
    if (level === undefined) return;
    level.total = level.total.minus(order.remainingSize);
    side.touch(level);
    this.unlink(side, level, order);
  }

  private unlink(side: BookSide, level: PriceLevel, order: SimOrder): void {
    const index = level.orders.indexOf(order);
    if (index >= 0) level.orders.splice(index, 1);
    side.dropIfEmpty(level);
  }

  hasChanges(): boolean {
    return this.bids.dirty.size > 0 || this.asks.dirty.size > 0;
  }

  /** The changed levels since the last call, and the sequence they get. */
  takeDelta(): { seq: number; prevSeq: number; bids: BookLevel[]; asks: BookLevel[] } | undefined {
    if (!this.hasChanges()) return undefined;
    const prevSeq = this.seq;
    this.seq += 1;
    return { seq: this.seq, prevSeq, bids: this.bids.takeDirty(), asks: this.asks.takeDirty() };
  }
}
