/**
 * One instrument's limit order book: price levels best-first, each a FIFO queue
 * (price-time priority), in exact fixed point: levels keyed and ordered by whole ticks,
 * their totals in whole lots (fixed.ts); Decimals only in the deltas and snapshots. The book only stores and orders resting orders; matching
 * decisions live in the exchange. Changed levels are tracked so a command's net effect
 * goes out as one delta.
 */
import type { Decimal, InstrumentId, Side } from '@perpmesh/core';
import type { BookLevel } from './events.js';
import type { InstrumentScale } from './fixed.js';
import type { SimOrder } from './order.js';

export class PriceLevel {
  readonly orders: SimOrder[] = [];
  /** Resting size in whole lots. */
  totalLots = 0;
  constructor(
    readonly price: Decimal,
    readonly ticks: number,
  ) {}
}

export class BookSide {
  /** Best first: bids descending, asks ascending. */
  readonly levels: PriceLevel[] = [];
  private readonly byTicks = new Map<number, PriceLevel>();
  /** Levels (by ticks) changed since the last delta, with their price. */
  readonly dirty = new Map<number, Decimal>();
  readonly #dirtyTicks: number[] = [];

  constructor(
    private readonly descending: boolean,
    private readonly scale: InstrumentScale,
  ) {}

  /** True when `a` is better than (ahead of) `b` on this side (prices in ticks). */
  private ahead(a: number, b: number): boolean {
    return this.descending ? a > b : a < b;
  }

  /** The level at the order's price, made when there is none (the order's price Decimal is read only then). */
  level(order: SimOrder): PriceLevel {
    const ticks = order.priceTicks;
    let level = this.byTicks.get(ticks);
    if (level !== undefined) return level;
    level = new PriceLevel(order.price as Decimal, ticks);
    // Binary search for the first level this one is ahead of.
    let lo = 0;
    let hi = this.levels.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.ahead(ticks, (this.levels[mid] as PriceLevel).ticks)) hi = mid;
      else lo = mid + 1;
    }
    this.levels.splice(lo, 0, level);
    this.byTicks.set(ticks, level);
    return level;
  }

  find(ticks: number): PriceLevel | undefined {
    return this.byTicks.get(ticks);
  }

  dropIfEmpty(level: PriceLevel): void {
    if (level.orders.length > 0) return;
    this.byTicks.delete(level.ticks);
    const index = this.levels.indexOf(level);
    if (index >= 0) this.levels.splice(index, 1);
  }

  touch(level: PriceLevel): void {
    this.dirty.set(level.ticks, level.price);
  }

  takeDirty(): BookLevel[] {
    const out: BookLevel[] = [];
    if (this.dirty.size === 0) return out;
    // Best first, like snapshots (the ticks gathered in a scratch array kept between calls).
    const ticks = this.#dirtyTicks;
    for (const t of this.dirty.keys()) ticks.push(t);
    if (ticks.length > 1) ticks.sort(this.descending ? descendingTicks : ascendingTicks);
    for (const t of ticks) {
      out.push({
        price: this.dirty.get(t) as Decimal,
        size: this.scale.size(this.byTicks.get(t)?.totalLots ?? 0),
      });
    }
    while (ticks.length > 0) ticks.pop();
    this.dirty.clear();
    return out;
  }

  top(depth: number): BookLevel[] {
    return this.levels.slice(0, depth).map((l) => ({ price: l.price, size: this.scale.size(l.totalLots) }));
  }
}

const descendingTicks = (a: number, b: number) => b - a;
const ascendingTicks = (a: number, b: number) => a - b;

export class OrderBook {
  readonly bids: BookSide;
  readonly asks: BookSide;
  /** Sequence of the last delta published. */
  seq = 0;

  constructor(
    readonly instrumentId: InstrumentId,
    scale: InstrumentScale,
  ) {
    this.bids = new BookSide(true, scale);
    this.asks = new BookSide(false, scale);
  }

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
    const level = side.level(order);
    level.orders.push(order);
    level.totalLots += order.remainingLots;
    side.touch(level);
  }

  /** Takes `lots` off a resting order's level total (after a fill). Removes the order when it is done. */
  reduce(order: SimOrder, lots: number): void {
    const side = this.side(order.side);
    const level = side.find(order.priceTicks);
    if (level === undefined) return;
    level.totalLots -= lots;
    side.touch(level);
    if (!order.isOpen || order.remainingLots === 0) this.unlink(side, level, order);
  }

  /** Removes a resting order with its whole remaining size (cancel); call before ending the order. */
  remove(order: SimOrder): void {
    const side = this.side(order.side);
    const level = side.find(order.priceTicks);
    if (level === undefined) return;
    level.totalLots -= order.remainingLots;
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
