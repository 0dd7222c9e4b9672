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
    return {
      venueId: this.venueId,
      accountId: this.accountId,
      instrumentId: this.instrumentId,
      venueOrderId: this.venueOrderId,
      ...(this.clientOrderId === undefined ? {} : { clientOrderId: this.clientOrderId }),
      side: this.side,
      type: this.type,
      timeInForce: this.timeInForce,
      ...(this.price === undefined ? {} : { price: this.price }),
      size: this.size,
      filledSize: this.filledSize,
      unfilledSize: this.unfilledSize,
      ...(this.filledSize.isZero() ? {} : { avgFillPrice: this.filledNotional.div(this.filledSize) }),
      feesPaid: this.feesPaid,
      reduceOnly: this.reduceOnly,
      status: this.status,
      ...(this.endReason === undefined ? {} : { endReason: this.endReason }),
      ...(this.reject === undefined ? {} : { reject: this.reject }),
      createdMs: this.createdMs,
      updatedMs: this.updatedMs,
    };
  }
}
