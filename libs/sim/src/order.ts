/**
 * The venue's own mutable order record; the outside world sees `OrderView` snapshots.
 * Quantities are whole ticks and lots; their Decimals are built when first read (an order
 * placed in ticks and lots, e.g. a market maker's quote canceled unseen, never builds them).
 */
import {
  type AccountId,
  type ClientOrderId,
  type Decimal,
  type EpochMs,
  type InstrumentId,
  type OrderStatus,
  type OrderType,
  type Side,
  type TimeInForce,
  type VenueId,
  type VenueOrderId,
  ZERO,
} from '@perpmesh/core';
import type { OrderEndReason, OrderView, Reject } from './events.js';
import { type CostScale, costDecimal, type InstrumentScale } from './fixed.js';

/**
 * An order's price and size: Decimals (a request; converted to ticks and lots, NaN when
 * off the grid) or whole ticks and lots (Decimals built when read).
 */
export type OrderQuantities =
  | { readonly price: Decimal | undefined; readonly size: Decimal }
  | { readonly priceTicks: number | undefined; readonly sizeLots: number };

/**
 * Closed orders' fields in columns (exchange.ts keeps its bounded closed-order history here):
 * numbers in one typed array, references in one array, no object per order. A retained order
 * object would outlive the young generation (the history holds thousands), and copying every
 * order out of it was the largest cost of matching; an order saved here dies young.
 */
export class ClosedOrderColumns {
  static readonly NUMBERS = 10;
  static readonly REFS = 17;
  numbers: Float64Array;
  readonly refs: unknown[] = [];

  constructor(public capacity: number) {
    this.numbers = new Float64Array(capacity * ClosedOrderColumns.NUMBERS);
  }

  /** Room for `capacity` orders (slots kept). */
  grow(capacity: number): void {
    const numbers = new Float64Array(capacity * ClosedOrderColumns.NUMBERS);
    numbers.set(this.numbers);
    this.numbers = numbers;
    this.capacity = capacity;
  }

  seqAt(slot: number): number {
    return this.numbers[slot * ClosedOrderColumns.NUMBERS] as number;
  }

  accountIdAt(slot: number): AccountId {
    return this.refs[slot * ClosedOrderColumns.REFS + 2] as AccountId;
  }

  clientOrderIdAt(slot: number): ClientOrderId | undefined {
    return this.refs[slot * ClosedOrderColumns.REFS + 4] as ClientOrderId | undefined;
  }
}

/** A bigint as a number when that is exact (NaN: keep the bigint). */
function exactNumber(value: bigint): number {
  return value >= -MAX_SAFE && value <= MAX_SAFE ? Number(value) : Number.NaN;
}

const MAX_SAFE = BigInt(Number.MAX_SAFE_INTEGER);

export class SimOrder {
  /** Exact quantities in whole lots (fixed-point, fixed.ts); Decimals below are views of them. */
  #sizeLots: number;
  #filledLots = 0;
  #unfilledLots = 0;
  /** size - filled - unfilled, kept on every change of the three (it is read far more often than they change). */
  #remainingLots: number;
  /** Sum of fill lots x ticks (units of tick x lot), for the average fill price. */
  #filledNotional = 0n;
  /** Notional of fills at prices off the tick grid (a liquidation at such a mark). */
  #offGridNotional: Decimal | undefined;
  /** Views of the lots above, built when first read after a change (undefined: not built yet). */
  #size: Decimal | undefined;
  #filledSize: Decimal | undefined = ZERO;
  #unfilledSize: Decimal | undefined = ZERO;
  /** The limit price (undefined for a market order, or not built yet from `priceTicks`). */
  #price: Decimal | undefined;
  /** Fees in money units (`#feeScale`'s), and what was charged as Decimals (off that grid). */
  #feeUnits = 0n;
  #feeScale: CostScale | undefined;
  #feeDecimal: Decimal = ZERO;
  /** Their sum as a Decimal, built when read (undefined: not built yet). */
  #feesPaid: Decimal | undefined = ZERO;
  /** The limit price in whole ticks (NaN for a market order or a price off the tick grid). */
  readonly priceTicks: number;
  status: OrderStatus = 'accepted';
  endReason: OrderEndReason | undefined;
  reject: Reject | undefined;
  updatedMs: EpochMs;
  /** Its neighbours in its price level's queue (book.ts `PriceLevel`), while it rests. */
  prevInLevel: SimOrder | undefined;
  nextInLevel: SimOrder | undefined;
  /** In the venue's open-order maps (it rested on the book). */
  resting = false;
  /** In the venue's bounded closed-order history. */
  retained = false;
  /** Saved into that history when it closes (false for an account whose orders nobody looks up). */
  keptWhenClosed = true;
  #venueOrderId: VenueOrderId | undefined;

  constructor(
    readonly scale: InstrumentScale,
    readonly venueId: VenueId,
    readonly accountId: AccountId,
    readonly instrumentId: InstrumentId,
    /** The venue's order sequence number: the venue order id is its decimal text (built when read). */
    readonly seq: number,
    readonly clientOrderId: ClientOrderId | undefined,
    readonly side: Side,
    readonly type: OrderType,
    readonly timeInForce: TimeInForce,
    quantities: OrderQuantities,
    readonly reduceOnly: boolean,
    readonly createdMs: EpochMs,
  ) {
    this.updatedMs = createdMs;
    if ('sizeLots' in quantities) {
      this.#sizeLots = quantities.sizeLots;
      this.priceTicks = quantities.priceTicks ?? Number.NaN;
    } else {
      const { price, size } = quantities;
      this.#size = size;
      this.#price = price;
      // NaN until validated when off the lot grid; the venue rules refuse such an order first.
      this.#sizeLots = scale.lotsOf(size);
      this.priceTicks = price === undefined ? Number.NaN : scale.ticksOf(price);
    }
    this.#remainingLots = this.#sizeLots;
  }

  /** Writes the order, as it is now, into `slot` of the columns (`load` makes it again). */
  save(columns: ClosedOrderColumns, slot: number): void {
    const n = columns.numbers;
    let i = slot * ClosedOrderColumns.NUMBERS;
    const filledNotional = exactNumber(this.#filledNotional);
    const feeUnits = exactNumber(this.#feeUnits);
    n[i++] = this.seq;
    n[i++] = this.priceTicks;
    n[i++] = this.#sizeLots;
    n[i++] = this.#filledLots;
    n[i++] = this.#unfilledLots;
    n[i++] = filledNotional;
    n[i++] = feeUnits;
    n[i++] = this.createdMs;
    n[i++] = this.updatedMs;
    n[i] = this.reduceOnly ? 1 : 0;
    const r = columns.refs;
    let j = slot * ClosedOrderColumns.REFS;
    r[j++] = this.scale;
    r[j++] = this.venueId;
    r[j++] = this.accountId;
    r[j++] = this.instrumentId;
    r[j++] = this.clientOrderId;
    r[j++] = this.side;
    r[j++] = this.type;
    r[j++] = this.timeInForce;
    r[j++] = this.status;
    r[j++] = this.endReason;
    r[j++] = this.reject;
    r[j++] = this.#price;
    r[j++] = this.#size;
    r[j++] = this.#feeScale;
    r[j++] = this.#feeDecimal;
    r[j++] = this.#offGridNotional;
    // The rare notional or fee beyond 2^53 units stays a bigint.
    r[j] =
      Number.isNaN(filledNotional) || Number.isNaN(feeUnits)
        ? [this.#filledNotional, this.#feeUnits]
        : undefined;
  }

  /** The order `save` wrote into `slot`, as it was (its views are the same). */
  static load(columns: ClosedOrderColumns, slot: number): SimOrder {
    const n = columns.numbers;
    const i = slot * ClosedOrderColumns.NUMBERS;
    const r = columns.refs;
    const j = slot * ClosedOrderColumns.REFS;
    const priceTicks = n[i + 1] as number;
    const order = new SimOrder(
      r[j] as InstrumentScale,
      r[j + 1] as VenueId,
      r[j + 2] as AccountId,
      r[j + 3] as InstrumentId,
      n[i] as number,
      r[j + 4] as ClientOrderId | undefined,
      r[j + 5] as Side,
      r[j + 6] as OrderType,
      r[j + 7] as TimeInForce,
      { priceTicks: Number.isNaN(priceTicks) ? undefined : priceTicks, sizeLots: n[i + 2] as number },
      n[i + 9] === 1,
      n[i + 7] as number,
    );
    order.updatedMs = n[i + 8] as number;
    order.status = r[j + 8] as OrderStatus;
    order.endReason = r[j + 9] as OrderEndReason | undefined;
    order.reject = r[j + 10] as Reject | undefined;
    order.#price = r[j + 11] as Decimal | undefined;
    order.#size = r[j + 12] as Decimal | undefined;
    order.#feeScale = r[j + 13] as CostScale | undefined;
    order.#feeDecimal = r[j + 14] as Decimal;
    order.#offGridNotional = r[j + 15] as Decimal | undefined;
    const big = r[j + 16] as [bigint, bigint] | undefined;
    order.#filledLots = n[i + 3] as number;
    order.#unfilledLots = n[i + 4] as number;
    order.#remainingLots = order.#sizeLots - order.#filledLots - order.#unfilledLots;
    order.#filledNotional = big?.[0] ?? BigInt(n[i + 5] as number);
    order.#feeUnits = big?.[1] ?? BigInt(n[i + 6] as number);
    order.#filledSize = undefined;
    order.#unfilledSize = undefined;
    order.#feesPaid = undefined;
    order.retained = true;
    return order;
  }

  get venueOrderId(): VenueOrderId {
    this.#venueOrderId ??= String(this.seq);
    return this.#venueOrderId;
  }

  /** The limit price; undefined for a market order. */
  get price(): Decimal | undefined {
    if (this.#price === undefined && this.type === 'limit') this.#price = this.scale.price(this.priceTicks);
    return this.#price;
  }

  get size(): Decimal {
    this.#size ??= this.scale.size(this.#sizeLots);
    return this.#size;
  }

  /** Capped before acceptance (reduce-only to the position). */
  set size(size: Decimal) {
    this.#size = size;
    this.#sizeLots = this.scale.lotsOf(size);
    this.#remainingLots = this.#sizeLots - this.#filledLots - this.#unfilledLots;
  }

  get sizeLots(): number {
    return this.#sizeLots;
  }

  get filledSize(): Decimal {
    this.#filledSize ??= this.scale.size(this.#filledLots);
    return this.#filledSize;
  }

  get unfilledSize(): Decimal {
    this.#unfilledSize ??= this.scale.size(this.#unfilledLots);
    return this.#unfilledSize;
  }

  get remainingLots(): number {
    return this.#remainingLots;
  }

  get remainingSize(): Decimal {
    return this.scale.size(this.#remainingLots);
  }

  get isOpen(): boolean {
    return this.status === 'accepted' || this.status === 'partially_filled';
  }

  /** +1 for buy, -1 for sell. */
  get sign(): 1 | -1 {
    return this.side === 'buy' ? 1 : -1;
  }

  /** The fees of its fills (exact: the units' Decimal plus the Decimal fees, summed when read). */
  get feesPaid(): Decimal {
    if (this.#feesPaid === undefined) {
      const units = this.#feeUnits === 0n ? ZERO : costDecimal(this.#feeUnits, this.#feeScale as CostScale);
      this.#feesPaid = this.#feeDecimal.isZero() ? units : units.plus(this.#feeDecimal);
    }
    return this.#feesPaid;
  }

  /** Adds a fill's fee in money units of `scale` (the instrument's cost scale: always the same one). */
  addFeeUnits(units: bigint, scale: CostScale): void {
    if (units === 0n) return;
    this.#feeUnits += units;
    this.#feeScale = scale;
    this.#feesPaid = undefined;
  }

  /** Adds a fill's fee as a Decimal (a trade off the fixed grid). */
  addFee(fee: Decimal): void {
    if (fee.isZero()) return;
    this.#feeDecimal = this.#feeDecimal.plus(fee);
    this.#feesPaid = undefined;
  }

  /**
   * A fill of `lots` at `price` (its fee is added on its own); `notional` is lots x ticks
   * (`notionalUnits`), undefined for a price off the tick grid. Trades are at resting prices,
   * on the grid; only a liquidation at a mark set off the grid is not. `lots` is whole
   * (positions are sums of fills of whole lots), so the filled size is its view.
   */
  recordFill(lots: number, price: Decimal, notional: bigint | undefined, nowMs: EpochMs): void {
    this.#filledLots += lots;
    this.#filledSize = undefined;
    if (notional !== undefined) this.#filledNotional += notional;
    else this.#offGridNotional = (this.#offGridNotional ?? ZERO).plus(this.scale.size(lots).mul(price));
    this.#remainingLots = this.#sizeLots - this.#filledLots - this.#unfilledLots;
    this.status = this.#filledLots === this.#sizeLots ? 'filled' : 'partially_filled';
    this.updatedMs = nowMs;
  }

  /** Ends the order with whatever is left unfilled. */
  end(status: 'canceled' | 'expired', reason: OrderEndReason, nowMs: EpochMs): void {
    if (this.#remainingLots !== 0) {
      this.#unfilledLots += this.#remainingLots;
      this.#unfilledSize = undefined;
      this.#remainingLots = 0;
    }
    this.status = status;
    this.endReason = reason;
    this.updatedMs = nowMs;
  }

  view(): OrderView {
    // Built field by field in the interface's order (no conditional spreads: one of these
    // is made for every order event, and the spread temporaries were a visible share).
    const view: { -readonly [K in keyof OrderView]: OrderView[K] } = {
      venueId: this.venueId,
      accountId: this.accountId,
      instrumentId: this.instrumentId,
      venueOrderId: this.venueOrderId,
    } as OrderView;
    if (this.clientOrderId !== undefined) view.clientOrderId = this.clientOrderId;
    view.side = this.side;
    view.type = this.type;
    view.timeInForce = this.timeInForce;
    if (this.price !== undefined) view.price = this.price;
    view.size = this.size;
    view.filledSize = this.filledSize;
    view.unfilledSize = this.unfilledSize;
    // The exact notional over the exact size: the same quotient as Decimal sums gave.
    if (this.#filledLots !== 0) {
      const notional = this.scale.notional(this.#filledNotional);
      view.avgFillPrice = (
        this.#offGridNotional === undefined ? notional : notional.plus(this.#offGridNotional)
      ).div(this.filledSize);
    }
    view.feesPaid = this.feesPaid;
    view.reduceOnly = this.reduceOnly;
    view.status = this.status;
    if (this.endReason !== undefined) view.endReason = this.endReason;
    if (this.reject !== undefined) view.reject = this.reject;
    view.createdMs = this.createdMs;
    view.updatedMs = this.updatedMs;
    return view;
  }
}
