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

/**
 * One price level: a FIFO queue of resting orders linked through the orders themselves
 * (`SimOrder.prevInLevel` / `nextInLevel`: no array per level, an order leaves in O(1)).
 */
export class PriceLevel {
  /** The oldest resting order (first to fill) and the newest. */
  head: SimOrder | undefined;
  tail: SimOrder | undefined;
  /** Resting size in whole lots. */
  totalLots = 0;
  /** Listed among its side's changed levels since the last delta. */
  dirty = false;
  constructor(
    readonly price: Decimal,
    readonly ticks: number,
  ) {}

  /** Appends at the back of the queue. */
  push(order: SimOrder): void {
    order.prevInLevel = this.tail;
    order.nextInLevel = undefined;
    if (this.tail === undefined) this.head = order;
    else this.tail.nextInLevel = order;
    this.tail = order;
  }

  /** Takes the order out of the queue (nothing when it is not in it). */
  unlink(order: SimOrder): void {
    const prev = order.prevInLevel;
    const next = order.nextInLevel;
    if (prev === undefined && this.head !== order) return;
    if (prev === undefined) this.head = next;
    else prev.nextInLevel = next;
    if (next === undefined) this.tail = prev;
    else next.prevInLevel = prev;
    order.prevInLevel = undefined;
    order.nextInLevel = undefined;
  }
}

export class BookSide {
  /** Best first: bids descending, asks ascending. */
  readonly levels: PriceLevel[] = [];
  private readonly byTicks = new Map<number, PriceLevel>();
  /** Levels changed since the last delta (a level dropped and made again at one price is listed twice). */
  readonly #dirty: PriceLevel[] = [];

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
    // push/unshift at the ends: splice returns a new array of what it removed, even when nothing.
    if (lo === this.levels.length) this.levels.push(level);
    else if (lo === 0) this.levels.unshift(level);
    else this.levels.splice(lo, 0, level);
    this.byTicks.set(ticks, level);
    return level;
  }

  find(ticks: number): PriceLevel | undefined {
    return this.byTicks.get(ticks);
  }

  dropIfEmpty(level: PriceLevel): void {
    if (level.head !== undefined) return;
    this.byTicks.delete(level.ticks);
    // The best level is the one that empties most (a taker's fills): shift, no array made.
    const index = this.levels.indexOf(level);
    if (index === 0) this.levels.shift();
    else if (index > 0) this.levels.splice(index, 1);
  }

  touch(level: PriceLevel): void {
    if (level.dirty) return;
    level.dirty = true;
    this.#dirty.push(level);
  }

  hasChanges(): boolean {
    return this.#dirty.length > 0;
  }

  /** The changed levels, best first as in snapshots, each price once with its size now. */
  takeDirty(): BookLevel[] {
    const out: BookLevel[] = [];
    const dirty = this.#dirty;
    if (dirty.length === 0) return out;
    if (dirty.length > 1) dirty.sort(this.descending ? descendingTicks : ascendingTicks);
    let last = Number.NaN;
    for (const level of dirty) {
      level.dirty = false;
      if (level.ticks === last) continue;
      last = level.ticks;
      out.push({ price: level.price, size: this.scale.size(this.byTicks.get(last)?.totalLots ?? 0) });
    }
    while (dirty.length > 0) dirty.pop();
    return out;
  }

  top(depth: number): BookLevel[] {
    return this.levels.slice(0, depth).map((l) => ({ price: l.price, size: this.scale.size(l.totalLots) }));
  }
}

const descendingTicks = (a: PriceLevel, b: PriceLevel) => b.ticks - a.ticks;
const ascendingTicks = (a: PriceLevel, b: PriceLevel) => a.ticks - b.ticks;

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
    level.push(order);
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
    level.unlink(order);
    side.dropIfEmpty(level);
  }

  hasChanges(): boolean {
    return this.bids.hasChanges() || this.asks.hasChanges();
  }

  /** The changed levels since the last call, and the sequence they get. */
  takeDelta(): { seq: number; prevSeq: number; bids: BookLevel[]; asks: BookLevel[] } | undefined {
    if (!this.hasChanges()) return undefined;
    const prevSeq = this.seq;
    this.seq += 1;
    return { seq: this.seq, prevSeq, bids: this.bids.takeDirty(), asks: this.asks.takeDirty() };
  }
}
