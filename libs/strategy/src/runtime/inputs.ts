/**
 * The ONE place wire data becomes strategy inputs: bus envelopes (md.book, md.funding,
 * acct.balance, acct.position, acct.funding, exec.order, exec.fill), the execution
 * service's `Order`, the account service's `Position` / `BalanceView`, a venue's markets.
 *
 * Every function is pure: the runtime passes `nowMs` (when it processes the input) and
 * the balance freshness bound. Envelopes that are not strategy inputs (trades, venue
 * status, drift, book deltas: the market-data feed publishes conflated snapshots) map
 * to undefined. Decimal fields are parsed naming the field, so a bad event fails loudly.
 */
import {
  type Balance,
  BookUpdateKind,
  decimalFromWire,
  type Envelope,
  type Fill,
  type FundingPayment,
  type FundingRate,
  liquidityFromProto,
  type Order,
  type OrderBook,
  type OrderEvent,
  optionalDecimalFromWire,
  orderStatusFromProto,
  orderTypeFromProto,
  type Position,
  PositionSide,
  sideFromProto,
  timeInForceFromProto,
} from '@perpmesh/contracts';
import { type EpochMs, readingIsStale } from '@perpmesh/core';
import type {
  BalanceInput,
  BookInput,
  FillInput,
  FundingInput,
  FundingPaymentInput,
  MarketInfo,
  OrderSnapshot,
  OrderUpdateInput,
  PositionInput,
  PositionSnapshot,
  StrategyInput,
} from '../model.js';

export interface InputContext {
  readonly nowMs: EpochMs;
  /** A balance whose as-of is older than this (vs nowMs) is flagged stale (the account service's bound). */
  readonly balanceStaleAfterMs: number;
}

/** An envelope from MD / ACCT / EXEC as a strategy input, or undefined when it is not one. */
export function inputFromEnvelope(envelope: Envelope, ctx: InputContext): StrategyInput | undefined {
  const payload = envelope.payload;
  if (!payload) return undefined;
  switch (payload.$case) {
    case 'orderBook':
      return bookInput(payload.value, ctx.nowMs);
    case 'fundingRate':
      return fundingInput(payload.value, ctx.nowMs);
    case 'balance':
      return balanceInput(payload.value, ctx);
    case 'position':
      return { kind: 'position', nowMs: ctx.nowMs, ...positionSnapshot(payload.value) } as PositionInput;
    case 'fundingPayment':
      return fundingPaymentInput(payload.value, ctx.nowMs);
    case 'orderEvent':
      return orderEventInput(payload.value, envelope.tsEvent, ctx.nowMs);
    case 'fill':
      return fillInput(payload.value, ctx.nowMs);
    default:
      return undefined;
  }
}

export function bookInput(book: OrderBook, nowMs: EpochMs): BookInput | undefined {
  if (book.kind !== BookUpdateKind.BOOK_UPDATE_KIND_SNAPSHOT) return undefined;
  const level = (side: string) => (l: { price: string; size: string }, i: number) => ({
    price: decimalFromWire(l.price, `orderBook.${side}[${i}].price`),
    size: decimalFromWire(l.size, `orderBook.${side}[${i}].size`),
  });
  return {
    kind: 'book',
    nowMs,
    venue: book.venue,
    instrument: book.instrument,
    bids: book.bids.map(level('bids')),
    asks: book.asks.map(level('asks')),
    asOfMs: book.asOfMs || nowMs,
    ...observedAtFromWire(book),
  };
}

export function fundingInput(f: FundingRate, nowMs: EpochMs): FundingInput {
  return {
    kind: 'funding',
    nowMs,
    venue: f.venue,
    instrument: f.instrument,
    rate: decimalFromWire(f.rate, 'fundingRate.rate'),
    intervalMs: f.intervalMs,
    nextFundingTimeMs: f.nextFundingTimeMs,
    markPrice: optionalDecimalFromWire(f.markPrice, 'fundingRate.markPrice'),
    indexPrice: optionalDecimalFromWire(f.indexPrice, 'fundingRate.indexPrice'),
    asOfMs: f.asOfMs || nowMs,
    ...observedAtFromWire(f),
  };
}

/** `observedAtMs` when the producer stamped it (0 / absent: an older producer; ages then count from `asOfMs`). */
function observedAtFromWire(m: { readonly observedAtMs?: number | undefined }): { observedAtMs?: EpochMs } {
  return m.observedAtMs ? { observedAtMs: m.observedAtMs } : {};
}

/**
 * `stale` from the balance's age on our clock (core `readingAgeMs`: from when the account
 * service observed it, so a venue clock's skew does not move it): a balance the account
 * service could not refresh must make risk deny.
 */
export function balanceInput(b: Balance, ctx: InputContext, staleFlag = false): BalanceInput {
  const observed = observedAtFromWire(b);
  return {
    kind: 'balance',
    nowMs: ctx.nowMs,
    venue: b.venue,
    account: b.account,
    total: decimalFromWire(b.total, 'balance.total'),
    available: decimalFromWire(b.available, 'balance.available'),
    equity: decimalFromWire(b.equity, 'balance.equity'),
    asOfMs: b.asOfMs,
    ...observed,
    stale: staleFlag || readingIsStale({ asOfMs: b.asOfMs, ...observed }, ctx.nowMs, ctx.balanceStaleAfterMs),
  };
}

export function positionSnapshot(p: Position): PositionSnapshot {
  const size = decimalFromWire(p.size, 'position.size');
  return {
    venue: p.venue,
    account: p.account,
    instrument: p.instrument,
    size: p.side === PositionSide.POSITION_SIDE_SHORT ? size.abs().neg() : size.abs(),
    entryPrice: optionalDecimalFromWire(p.entryPrice, 'position.entryPrice'),
    markPrice: optionalDecimalFromWire(p.markPrice, 'position.markPrice'),
    asOfMs: p.asOfMs,
  };
}

export function fundingPaymentInput(p: FundingPayment, nowMs: EpochMs): FundingPaymentInput {
  return {
    kind: 'funding_payment',
    nowMs,
    venue: p.venue,
    account: p.account,
    instrument: p.instrument,
    amount: decimalFromWire(p.amount, 'fundingPayment.amount'),
    fundingTimeMs: p.fundingTimeMs,
    ...(p.paymentId ? { paymentId: p.paymentId } : {}),
  };
}

/** The execution service's view of an order as the strategy's snapshot of it. */
export function orderSnapshot(o: Order, tsEventMs: EpochMs, reason?: string): OrderSnapshot {
  return {
    clientOrderId: o.clientOrderId,
    venue: o.venue,
    account: o.account,
    instrument: o.instrument,
    side: sideFromProto(o.side, 'order.side'),
    type: orderTypeFromProto(o.type, 'order.type'),
    timeInForce: timeInForceFromProto(o.timeInForce, 'order.timeInForce'),
    price: optionalDecimalFromWire(o.price, 'order.price'),
    size: decimalFromWire(o.size, 'order.size'),
    reduceOnly: o.reduceOnly,
    status: orderStatusFromProto(o.status, 'order.status'),
    filled: o.filledSize ? decimalFromWire(o.filledSize, 'order.filledSize') : decimalFromWire('0', 'order'),
    avgFillPrice: optionalDecimalFromWire(o.averageFillPrice, 'order.averageFillPrice'),
    reason: reason || o.reason || undefined,
    tsEventMs: o.updatedAtMs || tsEventMs,
  };
}

export function orderEventInput(
  e: OrderEvent,
  tsEventMs: EpochMs,
  nowMs: EpochMs,
): OrderUpdateInput | undefined {
  if (!e.order) return undefined;
  return { kind: 'order', nowMs, ...orderSnapshot(e.order, tsEventMs, e.reason) };
}

export function fillInput(f: Fill, nowMs: EpochMs): FillInput {
  return {
    kind: 'fill',
    nowMs,
    clientOrderId: f.clientOrderId,
    venue: f.venue,
    account: f.account,
    instrument: f.instrument,
    side: sideFromProto(f.side, 'fill.side'),
    tradeId: f.tradeId,
    price: decimalFromWire(f.price, 'fill.price'),
    size: decimalFromWire(f.size, 'fill.size'),
    fee: f.fee ? decimalFromWire(f.fee, 'fill.fee') : decimalFromWire('0', 'fill.fee'),
    liquidity: liquidityFromProto(f.liquidity, 'fill.liquidity'),
    tsEventMs: f.filledAtMs,
  };
}

/** A venue market (libs/venues VenueMarket, structurally) as the strategy's MarketInfo. */
export function marketInfo(
  venue: string,
  m: {
    instrument: string;
    tickSize: MarketInfo['tickSize'];
    lotSize: MarketInfo['lotSize'];
    minSize: MarketInfo['minSize'];
    minNotional: MarketInfo['minNotional'];
    makerFeeRate: MarketInfo['makerFeeRate'];
    takerFeeRate: MarketInfo['takerFeeRate'];
    maxLeverage: MarketInfo['maxLeverage'];
  },
): MarketInfo {
  return {
    venue,
    instrument: m.instrument,
    tickSize: m.tickSize,
    lotSize: m.lotSize,
    minSize: m.minSize,
    minNotional: m.minNotional,
    makerFeeRate: m.makerFeeRate,
    takerFeeRate: m.takerFeeRate,
    maxLeverage: m.maxLeverage,
  };
}
