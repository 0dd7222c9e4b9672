/**
 * VenuePort domain types ↔ the generated PaperVenueService messages. This file is the one
 * boundary: the server and the client hand domain values in and get domain values out.
 *
 * `*FromWire` parses and validates: a malformed decimal, an UNSPECIFIED enum or a missing
 * required field throws a ValidationError naming the dotted field path (`order.price`,
 * `bids[2].size`), which the server answers with INVALID_ARGUMENT.
 */

import {
  decimalFromWire,
  decimalToWire,
  FILL_ORIGIN,
  fillOriginFromProto,
  LIQUIDITY,
  ORDER_STATUS,
  ORDER_TYPE,
  optionalDecimalFromWire,
  optionalDecimalToWire,
  type PaperVenueServiceCreateOrderRequest,
  type PaperVenueServiceGetCapabilitiesResponse,
  type PaperVenueServiceWatchMarketResponse,
  type PaperVenueServiceWatchUserStreamResponse,
  SIDE,
  TIME_IN_FORCE,
  type VenueBalance as WireBalance,
  type VenueBookDelta as WireBookDelta,
  type BookLevel as WireBookLevel,
  type VenueBookSnapshot as WireBookSnapshot,
  type VenueCapabilities as WireCapabilities,
  type VenueFill as WireFill,
  type VenueFundingInfo as WireFundingInfo,
  type VenueFundingPayment as WireFundingPayment,
  type VenueMarket as WireMarket,
  type VenueOrder as WireOrder,
  type VenueOrderRef as WireOrderRef,
  type VenuePosition as WirePosition,
  type VenueReadinessComponent as WireReadinessComponent,
  type VenueTrade as WireTrade,
} from '@perpmesh/contracts';
import type { BookLevel, InstrumentId } from '@perpmesh/core';
import { parsePositiveDecimal, ValidationError } from '@perpmesh/core';
import type {
  BookDelta,
  BookSnapshot,
  CancelOptions,
  FundingInfo,
  MarketEvent,
  OrderRef,
  PlaceOrderRequest,
  PublicTrade,
  ReadinessComponent,
  UserStreamEvent,
  VenueBalance,
  VenueCapabilities,
  VenueFill,
  VenueFundingPayment,
  VenueMarket,
  VenueOrder,
  VenuePosition,
} from '../port.js';
import { VENUE_COMPONENT, type VenueComponentName } from '../port.js';

/** `a` + `b` → `a.b`; an empty prefix leaves `b`. */
function at(prefix: string, field: string): string {
  return prefix === '' ? field : `${prefix}.${field}`;
}

/** Ids and names that must not be empty (instrument, client order id, ...). */
export function requireText(value: string, field: string): string {
  if (typeof value !== 'string' || value.trim() === '') {
    throw new ValidationError(field, `must not be empty, got ${JSON.stringify(value)}`);
  }
  return value;
}

function requireMessage<T>(value: T | undefined, field: string): T {
  if (value === undefined || value === null) throw new ValidationError(field, 'is required');
  return value;
}

/** Sequence numbers and times must be whole non-negative numbers. */
function wholeNumber(value: number, field: string): number {
  if (!Number.isSafeInteger(value) || value < 0) {
    throw new ValidationError(field, `must be a whole number >= 0, got ${JSON.stringify(value)}`);
  }
  return value;
}

// ---- nonces ------------------------------------------------------------------------------------

const UNSIGNED_INTEGER = /^\d+$/;

/** `bigint` nonce → decimal text ('' = no nonce); nonces can exceed 2^53, so never a number. */
export function nonceToWire(nonce: bigint | undefined): string {
  if (nonce === undefined) return '';
  if (nonce < 0n) throw new ValidationError('nonce', `must be >= 0, got ${nonce}`);
  return nonce.toString();
}

export function nonceFromWire(value: string, field: string): bigint | undefined {
  if (value === '') return undefined;
  if (!UNSIGNED_INTEGER.test(value)) {
    throw new ValidationError(field, `must be an unsigned integer, got ${JSON.stringify(value)}`);
  }
  return BigInt(value);
}

/** A cancel's options from its wire nonce (empty = none). */
export function cancelOptionsFromWire(nonce: string, field = 'nonce'): CancelOptions {
  const value = nonceFromWire(nonce, field);
  return value === undefined ? {} : { nonce: value };
}

// ---- markets -----------------------------------------------------------------------------------

export function marketToWire(m: VenueMarket): WireMarket {
  return {
    instrument: m.instrument,
    venueSymbol: m.venueSymbol,
    base: m.base,
    quote: m.quote,
    settle: m.settle,
    tickSize: decimalToWire(m.tickSize),
    lotSize: decimalToWire(m.lotSize),
    minSize: decimalToWire(m.minSize),
    minNotional: decimalToWire(m.minNotional),
    maxLeverage: decimalToWire(m.maxLeverage),
    fundingIntervalMs: m.fundingIntervalMs,
    makerFeeRate: decimalToWire(m.makerFeeRate),
    takerFeeRate: decimalToWire(m.takerFeeRate),
  };
}

export function marketFromWire(w: WireMarket, path: string): VenueMarket {
  return {
    instrument: requireText(w.instrument, at(path, 'instrument')),
    venueSymbol: w.venueSymbol,
    base: w.base,
    quote: w.quote,
    settle: w.settle,
    tickSize: decimalFromWire(w.tickSize, at(path, 'tickSize')),
    lotSize: decimalFromWire(w.lotSize, at(path, 'lotSize')),
    minSize: decimalFromWire(w.minSize, at(path, 'minSize')),
    minNotional: decimalFromWire(w.minNotional, at(path, 'minNotional')),
    maxLeverage: decimalFromWire(w.maxLeverage, at(path, 'maxLeverage')),
    fundingIntervalMs: wholeNumber(w.fundingIntervalMs, at(path, 'fundingIntervalMs')),
    makerFeeRate: decimalFromWire(w.makerFeeRate, at(path, 'makerFeeRate')),
    takerFeeRate: decimalFromWire(w.takerFeeRate, at(path, 'takerFeeRate')),
  };
}

// ---- books, trades, funding --------------------------------------------------------------------

function levelsToWire(levels: readonly BookLevel[]): WireBookLevel[] {
  return levels.map((l) => ({ price: decimalToWire(l.price), size: decimalToWire(l.size) }));
}

function levelsFromWire(levels: readonly WireBookLevel[], path: string): BookLevel[] {
  return levels.map((l, i) => ({
    price: decimalFromWire(l.price, `${path}[${i}].price`),
    size: decimalFromWire(l.size, `${path}[${i}].size`),
  }));
}

export function bookSnapshotToWire(b: BookSnapshot): WireBookSnapshot {
  return {
    instrument: b.instrument,
    seq: b.seq,
    bids: levelsToWire(b.bids),
    asks: levelsToWire(b.asks),
    tsEventMs: b.tsEventMs,
  };
}

export function bookSnapshotFromWire(w: WireBookSnapshot, path: string): BookSnapshot {
  return {
    kind: 'snapshot',
    instrument: requireText(w.instrument, at(path, 'instrument')),
    seq: wholeNumber(w.seq, at(path, 'seq')),
    bids: levelsFromWire(w.bids, at(path, 'bids')),
    asks: levelsFromWire(w.asks, at(path, 'asks')),
    tsEventMs: wholeNumber(w.tsEventMs, at(path, 'tsEventMs')),
  };
}

export function bookDeltaToWire(d: BookDelta): WireBookDelta {
  return {
    instrument: d.instrument,
    seq: d.seq,
    prevSeq: d.prevSeq,
    firstSeq: d.firstSeq,
    bids: levelsToWire(d.bids),
    asks: levelsToWire(d.asks),
    tsEventMs: d.tsEventMs,
  };
}

export function bookDeltaFromWire(w: WireBookDelta, path: string): BookDelta {
  const delta: BookDelta = {
    kind: 'delta',
    instrument: requireText(w.instrument, at(path, 'instrument')),
    seq: wholeNumber(w.seq, at(path, 'seq')),
    bids: levelsFromWire(w.bids, at(path, 'bids')),
    asks: levelsFromWire(w.asks, at(path, 'asks')),
    tsEventMs: wholeNumber(w.tsEventMs, at(path, 'tsEventMs')),
  };
  // Absent stays absent (not `prevSeq: undefined`), so the domain value deep-equals the original.
  if (w.prevSeq !== undefined) delta.prevSeq = wholeNumber(w.prevSeq, at(path, 'prevSeq'));
  if (w.firstSeq !== undefined) delta.firstSeq = wholeNumber(w.firstSeq, at(path, 'firstSeq'));
  return delta;
}

export function tradeToWire(t: PublicTrade): WireTrade {
  return {
    instrument: t.instrument,
    tradeId: t.tradeId,
    price: decimalToWire(t.price),
    size: decimalToWire(t.size),
    takerSide: SIDE.toProto(t.takerSide),
    tsEventMs: t.tsEventMs,
  };
}

export function tradeFromWire(w: WireTrade, path: string): PublicTrade {
  return {
    kind: 'trade',
    instrument: requireText(w.instrument, at(path, 'instrument')),
    tradeId: w.tradeId,
    price: decimalFromWire(w.price, at(path, 'price')),
    size: decimalFromWire(w.size, at(path, 'size')),
    takerSide: SIDE.fromProto(w.takerSide, at(path, 'takerSide')),
    tsEventMs: wholeNumber(w.tsEventMs, at(path, 'tsEventMs')),
  };
}

export function fundingInfoToWire(f: FundingInfo): WireFundingInfo {
  return {
    instrument: f.instrument,
    rate: decimalToWire(f.rate),
    intervalMs: f.intervalMs,
    nextFundingTimeMs: f.nextFundingTimeMs,
    markPrice: decimalToWire(f.markPrice),
    indexPrice: decimalToWire(f.indexPrice),
    tsEventMs: f.tsEventMs,
  };
}

export function fundingInfoFromWire(w: WireFundingInfo, path: string): FundingInfo {
  return {
    kind: 'funding',
    instrument: requireText(w.instrument, at(path, 'instrument')),
    rate: decimalFromWire(w.rate, at(path, 'rate')),
    intervalMs: wholeNumber(w.intervalMs, at(path, 'intervalMs')),
    nextFundingTimeMs: wholeNumber(w.nextFundingTimeMs, at(path, 'nextFundingTimeMs')),
    markPrice: decimalFromWire(w.markPrice, at(path, 'markPrice')),
    indexPrice: decimalFromWire(w.indexPrice, at(path, 'indexPrice')),
    tsEventMs: wholeNumber(w.tsEventMs, at(path, 'tsEventMs')),
  };
}

export function marketEventToWire(e: MarketEvent): PaperVenueServiceWatchMarketResponse {
  switch (e.kind) {
    case 'snapshot':
      return { event: { $case: 'snapshot', value: bookSnapshotToWire(e) } };
    case 'delta':
      return { event: { $case: 'delta', value: bookDeltaToWire(e) } };
    case 'trade':
      return { event: { $case: 'trade', value: tradeToWire(e) } };
    case 'funding':
      return { event: { $case: 'funding', value: fundingInfoToWire(e) } };
  }
}

export function marketEventFromWire(w: PaperVenueServiceWatchMarketResponse): MarketEvent {
  const event = requireMessage(w.event, 'event');
  switch (event.$case) {
    case 'snapshot':
      return bookSnapshotFromWire(event.value, 'snapshot');
    case 'delta':
      return bookDeltaFromWire(event.value, 'delta');
    case 'trade':
      return tradeFromWire(event.value, 'trade');
    case 'funding':
      return fundingInfoFromWire(event.value, 'funding');
  }
}

// ---- account -----------------------------------------------------------------------------------

export function balanceToWire(b: VenueBalance): WireBalance {
  return {
    asset: b.asset,
    total: decimalToWire(b.total),
    available: decimalToWire(b.available),
    equity: decimalToWire(b.equity),
    unrealizedPnl: decimalToWire(b.unrealizedPnl),
    tsEventMs: b.tsEventMs,
  };
}

export function balanceFromWire(w: WireBalance, path: string): VenueBalance {
  return {
    asset: requireText(w.asset, at(path, 'asset')),
    total: decimalFromWire(w.total, at(path, 'total')),
    available: decimalFromWire(w.available, at(path, 'available')),
    equity: decimalFromWire(w.equity, at(path, 'equity')),
    unrealizedPnl: decimalFromWire(w.unrealizedPnl, at(path, 'unrealizedPnl')),
    tsEventMs: wholeNumber(w.tsEventMs, at(path, 'tsEventMs')),
  };
}

export function positionToWire(p: VenuePosition): WirePosition {
  return {
    instrument: p.instrument,
    size: decimalToWire(p.size),
    entryPrice: decimalToWire(p.entryPrice),
    markPrice: decimalToWire(p.markPrice),
    unrealizedPnl: decimalToWire(p.unrealizedPnl),
    realizedPnl: decimalToWire(p.realizedPnl),
    leverage: decimalToWire(p.leverage),
    liquidationPrice: optionalDecimalToWire(p.liquidationPrice),
    tsEventMs: p.tsEventMs,
  };
}

export function positionFromWire(w: WirePosition, path: string): VenuePosition {
  const position: VenuePosition = {
    instrument: requireText(w.instrument, at(path, 'instrument')),
    size: decimalFromWire(w.size, at(path, 'size')),
    entryPrice: decimalFromWire(w.entryPrice, at(path, 'entryPrice')),
    markPrice: decimalFromWire(w.markPrice, at(path, 'markPrice')),
    unrealizedPnl: decimalFromWire(w.unrealizedPnl, at(path, 'unrealizedPnl')),
    realizedPnl: decimalFromWire(w.realizedPnl, at(path, 'realizedPnl')),
    leverage: decimalFromWire(w.leverage, at(path, 'leverage')),
    tsEventMs: wholeNumber(w.tsEventMs, at(path, 'tsEventMs')),
  };
  const liquidationPrice = optionalDecimalFromWire(w.liquidationPrice, at(path, 'liquidationPrice'));
  if (liquidationPrice !== undefined) position.liquidationPrice = liquidationPrice;
  return position;
}

export function fundingPaymentToWire(p: VenueFundingPayment): WireFundingPayment {
  return {
    instrument: p.instrument,
    amount: decimalToWire(p.amount),
    rate: decimalToWire(p.rate),
    positionSize: decimalToWire(p.positionSize),
    markPrice: decimalToWire(p.markPrice),
    tsEventMs: p.tsEventMs,
    paymentId: p.paymentId ?? '',
  };
}

export function fundingPaymentFromWire(w: WireFundingPayment, path: string): VenueFundingPayment {
  return {
    ...(w.paymentId === '' ? {} : { paymentId: w.paymentId }),
    instrument: requireText(w.instrument, at(path, 'instrument')),
    amount: decimalFromWire(w.amount, at(path, 'amount')),
    rate: decimalFromWire(w.rate, at(path, 'rate')),
    positionSize: decimalFromWire(w.positionSize, at(path, 'positionSize')),
    markPrice: decimalFromWire(w.markPrice, at(path, 'markPrice')),
    tsEventMs: wholeNumber(w.tsEventMs, at(path, 'tsEventMs')),
  };
}

// ---- orders and fills --------------------------------------------------------------------------

export function orderToWire(o: VenueOrder): WireOrder {
  return {
    clientOrderId: o.clientOrderId,
    venueOrderId: o.venueOrderId,
    instrument: o.instrument,
    side: SIDE.toProto(o.side),
    type: ORDER_TYPE.toProto(o.type),
    timeInForce: TIME_IN_FORCE.toProto(o.timeInForce),
    price: optionalDecimalToWire(o.price),
    size: decimalToWire(o.size),
    filled: decimalToWire(o.filled),
    avgFillPrice: optionalDecimalToWire(o.avgFillPrice),
    status: ORDER_STATUS.toProto(o.status),
    reduceOnly: o.reduceOnly,
    reason: o.reason,
    tsEventMs: o.tsEventMs,
  };
}

export function orderFromWire(w: WireOrder, path: string): VenueOrder {
  const order: VenueOrder = {
    clientOrderId: w.clientOrderId,
    venueOrderId: w.venueOrderId,
    instrument: requireText(w.instrument, at(path, 'instrument')),
    side: SIDE.fromProto(w.side, at(path, 'side')),
    type: ORDER_TYPE.fromProto(w.type, at(path, 'type')),
    timeInForce: TIME_IN_FORCE.fromProto(w.timeInForce, at(path, 'timeInForce')),
    size: decimalFromWire(w.size, at(path, 'size')),
    filled: decimalFromWire(w.filled, at(path, 'filled')),
    status: ORDER_STATUS.fromProto(w.status, at(path, 'status')),
    reduceOnly: w.reduceOnly,
    tsEventMs: wholeNumber(w.tsEventMs, at(path, 'tsEventMs')),
  };
  const price = optionalDecimalFromWire(w.price, at(path, 'price'));
  if (price !== undefined) order.price = price;
  const avgFillPrice = optionalDecimalFromWire(w.avgFillPrice, at(path, 'avgFillPrice'));
  if (avgFillPrice !== undefined) order.avgFillPrice = avgFillPrice;
  if (w.reason !== undefined) order.reason = w.reason;
  return order;
}

export function fillToWire(f: VenueFill): WireFill {
  return {
    tradeId: f.tradeId,
    venueOrderId: f.venueOrderId,
    clientOrderId: f.clientOrderId,
    instrument: f.instrument,
    side: SIDE.toProto(f.side),
    price: decimalToWire(f.price),
    size: decimalToWire(f.size),
    fee: decimalToWire(f.fee),
    feeCurrency: f.feeCurrency,
    liquidity: LIQUIDITY.toProto(f.liquidity),
    tsEventMs: f.tsEventMs,
    origin: FILL_ORIGIN.toProto(f.origin ?? 'order'),
  };
}

export function fillFromWire(w: WireFill, path: string): VenueFill {
  return {
    tradeId: requireText(w.tradeId, at(path, 'tradeId')),
    venueOrderId: w.venueOrderId,
    clientOrderId: w.clientOrderId,
    instrument: requireText(w.instrument, at(path, 'instrument')),
    side: SIDE.fromProto(w.side, at(path, 'side')),
    price: decimalFromWire(w.price, at(path, 'price')),
    size: decimalFromWire(w.size, at(path, 'size')),
    fee: decimalFromWire(w.fee, at(path, 'fee')),
    feeCurrency: w.feeCurrency,
    liquidity: LIQUIDITY.fromProto(w.liquidity, at(path, 'liquidity')),
    tsEventMs: wholeNumber(w.tsEventMs, at(path, 'tsEventMs')),
    origin: fillOriginFromProto(w.origin, at(path, 'origin')),
  };
}

export function userStreamEventToWire(e: UserStreamEvent): PaperVenueServiceWatchUserStreamResponse {
  switch (e.kind) {
    case 'order':
      return { event: { $case: 'order', value: orderToWire(e.order) } };
    case 'fill':
      return { event: { $case: 'fill', value: fillToWire(e.fill) } };
    case 'balance':
      return { event: { $case: 'balance', value: balanceToWire(e.balance) } };
    case 'position':
      return { event: { $case: 'position', value: positionToWire(e.position) } };
    case 'funding_payment':
      return { event: { $case: 'fundingPayment', value: fundingPaymentToWire(e.payment) } };
  }
}

export function userStreamEventFromWire(w: PaperVenueServiceWatchUserStreamResponse): UserStreamEvent {
  const event = requireMessage(w.event, 'event');
  switch (event.$case) {
    case 'order':
      return { kind: 'order', order: orderFromWire(event.value, 'order') };
    case 'fill':
      return { kind: 'fill', fill: fillFromWire(event.value, 'fill') };
    case 'balance':
      return { kind: 'balance', balance: balanceFromWire(event.value, 'balance') };
    case 'position':
      return { kind: 'position', position: positionFromWire(event.value, 'position') };
    case 'fundingPayment':
      return { kind: 'funding_payment', payment: fundingPaymentFromWire(event.value, 'fundingPayment') };
  }
}

// ---- requests ----------------------------------------------------------------------------------

export function orderRefToWire(ref: OrderRef): WireOrderRef {
  return { instrument: ref.instrument, clientOrderId: ref.clientOrderId, venueOrderId: ref.venueOrderId };
}

/** An order ref needs its instrument and at least one of the two ids. */
export function orderRefFromWire(w: WireOrderRef | undefined, path: string): OrderRef {
  const wire = requireMessage(w, path);
  const ref: OrderRef = { instrument: requireText(wire.instrument, at(path, 'instrument')) };
  if (wire.clientOrderId !== undefined)
    ref.clientOrderId = requireText(wire.clientOrderId, at(path, 'clientOrderId'));
  if (wire.venueOrderId !== undefined)
    ref.venueOrderId = requireText(wire.venueOrderId, at(path, 'venueOrderId'));
  if (ref.clientOrderId === undefined && ref.venueOrderId === undefined) {
    throw new ValidationError(path, 'needs clientOrderId or venueOrderId (or both)');
  }
  return ref;
}

/** The order fields of CreateOrder (the venue/account/api key fields are the caller's). */
export type WirePlaceOrder = Omit<PaperVenueServiceCreateOrderRequest, 'venue' | 'account' | 'apiKeyId'>;

export function placeOrderToWire(r: PlaceOrderRequest): WirePlaceOrder {
  return {
    clientOrderId: r.clientOrderId,
    instrument: r.instrument,
    side: SIDE.toProto(r.side),
    type: ORDER_TYPE.toProto(r.type),
    timeInForce: TIME_IN_FORCE.toProto(r.timeInForce),
    price: optionalDecimalToWire(r.price),
    size: decimalToWire(r.size),
    reduceOnly: r.reduceOnly,
    nonce: nonceToWire(r.nonce),
  };
}

/** Checks what the proto promises (size > 0, a price on limit orders); the venue checks the rest. */
export function placeOrderFromWire(w: WirePlaceOrder): PlaceOrderRequest {
  const request: PlaceOrderRequest = {
    clientOrderId: requireText(w.clientOrderId, 'clientOrderId'),
    instrument: requireText(w.instrument, 'instrument'),
    side: SIDE.fromProto(w.side, 'side'),
    type: ORDER_TYPE.fromProto(w.type, 'type'),
    timeInForce: TIME_IN_FORCE.fromProto(w.timeInForce, 'timeInForce'),
    size: parsePositiveDecimal(w.size, 'size'),
    reduceOnly: w.reduceOnly,
  };
  if (w.price !== '') request.price = parsePositiveDecimal(w.price, 'price');
  else if (request.type === 'limit') throw new ValidationError('price', 'is required for a limit order');
  const nonce = nonceFromWire(w.nonce, 'nonce');
  if (nonce !== undefined) request.nonce = nonce;
  return request;
}

/** Instrument lists (FetchFunding, WatchMarket): each id non-empty. */
export function instrumentsFromWire(instruments: readonly string[], field: string): InstrumentId[] {
  return instruments.map((id, i) => requireText(id, `${field}[${i}]`));
}

// ---- readiness and capabilities ----------------------------------------------------------------

export function readinessToWire(c: ReadinessComponent): WireReadinessComponent {
  return { component: c.component, ready: c.ready, reason: c.reason };
}

const COMPONENT_NAMES: ReadonlySet<string> = new Set(Object.values(VENUE_COMPONENT));

export function readinessFromWire(w: WireReadinessComponent, field = 'readiness'): ReadinessComponent {
  if (!COMPONENT_NAMES.has(w.component)) {
    throw new ValidationError(
      `${field}.component`,
      `${JSON.stringify(w.component)} is not a venue component (${[...COMPONENT_NAMES].join(', ')})`,
    );
  }
  return { component: w.component as VenueComponentName, ready: w.ready, reason: w.reason };
}

export function capabilitiesToWire(c: VenueCapabilities): WireCapabilities {
  return {
    nonces: c.nonces,
    nonceFloorIsTimeMs: c.nonceFloorIsTimeMs,
    rejectsDuplicateClientOrderId: c.rejectsDuplicateClientOrderId,
    cancelAllOrders: c.cancelAllOrders,
    postOnly: c.postOnly,
    fok: c.fok,
    fundingHistory: c.fundingHistory ?? false,
    setLeverage: c.setLeverage ?? false,
    scheduleCancelAll: c.scheduleCancelAll ?? false,
    scheduleCancelAllMinMs: c.scheduleCancelAllMinMs ?? 0,
    venueFills: c.venueFills ?? false,
    strictNonceOrder: c.strictNonceOrder ?? false,
    maxBatchOrders: c.maxBatchOrders ?? 0,
  };
}

export function capabilitiesFromWire(w: PaperVenueServiceGetCapabilitiesResponse): VenueCapabilities {
  const c = requireMessage(w.capabilities, 'capabilities');
  return {
    nonces: c.nonces,
    nonceFloorIsTimeMs: c.nonceFloorIsTimeMs,
    rejectsDuplicateClientOrderId: c.rejectsDuplicateClientOrderId,
    cancelAllOrders: c.cancelAllOrders,
    postOnly: c.postOnly,
    fok: c.fok,
    fundingHistory: c.fundingHistory,
    setLeverage: c.setLeverage,
    scheduleCancelAll: c.scheduleCancelAll,
    scheduleCancelAllMinMs: c.scheduleCancelAllMinMs,
    venueFills: c.venueFills,
    strictNonceOrder: c.strictNonceOrder,
    // 0 on the wire: no batch call (absent on the port).
    ...(c.maxBatchOrders > 0 ? { maxBatchOrders: c.maxBatchOrders } : {}),
  };
}
