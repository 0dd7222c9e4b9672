/** The venue's own mutable order record; the outside world sees `OrderView` snapshots. */
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

export class SimOrder {
  filledSize: Decimal = ZERO;
  /** Sum of fill size x price, for the average fill price. */
  filledNotional: Decimal = ZERO;
  feesPaid: Decimal = ZERO;
  unfilledSize: Decimal = ZERO;
  /** size - filled - unfilled, kept on every change of the three (it is read far more often than they change). */
  #remaining: Decimal;
  #size: Decimal;
  status: OrderStatus = 'accepted';
  endReason: OrderEndReason | undefined;
  reject: Reject | undefined;
  updatedMs: EpochMs;

  constructor(
    readonly venueId: VenueId,
    readonly accountId: AccountId,
    readonly instrumentId: InstrumentId,
    readonly venueOrderId: VenueOrderId,
    readonly clientOrderId: ClientOrderId | undefined,
    readonly side: Side,
    readonly type: OrderType,
    readonly timeInForce: TimeInForce,
    readonly price: Decimal | undefined,
    size: Decimal,
    readonly reduceOnly: boolean,
    readonly createdMs: EpochMs,
  ) {
    this.updatedMs = createdMs;
    this.#size = size;
    this.#remaining = size;
  }

  get size(): Decimal {
    return this.#size;
  }

  /** Capped before acceptance (reduce-only to the position). */
  set size(size: Decimal) {
    this.#size = size;
    this.#remaining = this.#size.minus(this.filledSize).minus(this.unfilledSize);
  }

  get remainingSize(): Decimal {
    return this.#remaining;
  }

  get isOpen(): boolean {
    return this.status === 'accepted' || this.status === 'partially_filled';
  }

  /** +1 for buy, -1 for sell. */
  get sign(): 1 | -1 {
    return this.side === 'buy' ? 1 : -1;
  }

  recordFill(size: Decimal, price: Decimal, fee: Decimal, nowMs: EpochMs): void {
    this.filledSize = this.filledSize.plus(size);
    this.filledNotional = this.filledNotional.plus(size.mul(price));
    this.feesPaid = this.feesPaid.plus(fee);
    this.#remaining = this.#size.minus(this.filledSize).minus(this.unfilledSize);
    this.status = this.filledSize.eq(this.size) ? 'filled' : 'partially_filled';
    this.updatedMs = nowMs;
  }

  /** Ends the order with whatever is left unfilled. */
  end(status: 'canceled' | 'expired', reason: OrderEndReason, nowMs: EpochMs): void {
    this.unfilledSize = this.unfilledSize.plus(this.remainingSize);
    this.#remaining = this.#size.minus(this.filledSize).minus(this.unfilledSize);
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
    if (!this.filledSize.isZero()) view.avgFillPrice = this.filledNotional.div(this.filledSize);
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
