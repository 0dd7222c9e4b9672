/**
 * The one mapping from libs/sim to the venue port: sim views and events → port types
 * (rejects → errors is errors.ts). Decimals pass through as they are (no rounding
 * invented here); nothing becomes a float.
 */
import { Decimal, ZERO } from '@perpmesh/core';
import type {
  BalanceView,
  BookDeltaEvent,
  FillEvent,
  FundingPaymentEvent,
  FundingRateEvent,
  InstrumentSpec,
  OrderView,
  PositionView,
  BookSnapshot as SimBookSnapshot,
  TradeEvent,
  UserEvent,
  VenueConfig,
} from '@perpmesh/sim';
import type {
  BookDelta,
  BookSnapshot,
  FundingInfo,
  PublicTrade,
  UserStreamEvent,
  VenueBalance,
  VenueCapabilities,
  VenueFill,
  VenueFundingPayment,
  VenueMarket,
  VenueOrder,
  VenuePosition,
} from '../port.js';

// ---- markets and market data -------------------------------------------------------------

export function marketFromSim(spec: InstrumentSpec, config: VenueConfig): VenueMarket {
  return {
    instrument: spec.instrumentId,
    // The simulated venue names its markets with our ids.
    venueSymbol: spec.instrumentId,
    base: spec.baseAsset,
    quote: spec.quoteAsset,
    settle: config.settleAsset,
    tickSize: spec.tickSize,
    lotSize: spec.lotSize,
    minSize: spec.minSize,
    minNotional: spec.minNotional,
    maxLeverage: new Decimal(spec.maxLeverage),
    fundingIntervalMs: config.funding.intervalMs,
    makerFeeRate: config.makerFeeRate,
    takerFeeRate: config.takerFeeRate,
  };
}

/**
 * Orders one `createOrders` call of a paper venue takes (Lighter's `sendTxBatch` limit, which
 * paper-lighter models).
 */
export const PAPER_MAX_BATCH_ORDERS = 50;

export function capabilitiesFromSim(config: VenueConfig): VenueCapabilities {
  return {
    nonces: config.requireIncreasingNonce,
    nonceFloorIsTimeMs: false,
    rejectsDuplicateClientOrderId: config.rejectDuplicateClientOrderId,
    cancelAllOrders: true,
    postOnly: true,
    fok: true,
    fundingHistory: true,
    setLeverage: true,
    scheduleCancelAll: true,
    venueFills: true,
    // The sim refuses a nonce not above the key's last one.
    strictNonceOrder: config.requireIncreasingNonce,
    maxBatchOrders: PAPER_MAX_BATCH_ORDERS,
  };
}

export function bookSnapshotFromSim(book: SimBookSnapshot): BookSnapshot {
  return {
    kind: 'snapshot',
    instrument: book.instrumentId,
    seq: book.seq,
    bids: book.bids,
    asks: book.asks,
    tsEventMs: book.tsEventMs,
  };
}

export function bookDeltaFromSim(delta: BookDeltaEvent): BookDelta {
  return {
    kind: 'delta',
    instrument: delta.instrumentId,
    seq: delta.seq,
    prevSeq: delta.prevSeq,
    bids: delta.bids,
    asks: delta.asks,
    tsEventMs: delta.tsEventMs,
  };
}

export function tradeFromSim(trade: TradeEvent): PublicTrade {
  return {
    kind: 'trade',
    instrument: trade.instrumentId,
    tradeId: trade.tradeId,
    price: trade.price,
    size: trade.size,
    takerSide: trade.takerSide,
    tsEventMs: trade.tsEventMs,
  };
}

/** The predicted rate of the running interval: what the venue would settle if it ended now. */
export function fundingFromSim(funding: FundingRateEvent): FundingInfo {
  return {
    kind: 'funding',
    instrument: funding.instrumentId,
    rate: funding.predictedRate,
    intervalMs: funding.fundingIntervalMs,
    nextFundingTimeMs: funding.nextFundingTimeMs,
    markPrice: funding.markPrice,
    indexPrice: funding.indexPrice,
    tsEventMs: funding.tsEventMs,
  };
}

// ---- account ------------------------------------------------------------------------------

export function balanceFromSim(balance: BalanceView): VenueBalance {
  return {
    asset: balance.asset,
    total: balance.walletBalance,
    available: balance.available,
    equity: balance.equity,
    unrealizedPnl: balance.unrealizedPnl,
    tsEventMs: balance.asOfMs,
  };
}

export function positionFromSim(position: PositionView): VenuePosition {
  return {
    instrument: position.instrumentId,
    size: position.size,
    entryPrice: position.entryPrice ?? ZERO,
    markPrice: position.markPrice,
    unrealizedPnl: position.unrealizedPnl,
    realizedPnl: position.realizedPnl,
    leverage: new Decimal(position.leverage),
    ...(position.liquidationPrice === undefined ? {} : { liquidationPrice: position.liquidationPrice }),
    tsEventMs: position.asOfMs,
  };
}

export function orderFromSim(order: OrderView): VenueOrder {
  const reason = order.reject?.code ?? order.endReason;
  return {
    // Every order placed through the port has one; only venue-made orders (liquidation) lack it.
    clientOrderId: order.clientOrderId ?? '',
    venueOrderId: order.venueOrderId,
    instrument: order.instrumentId,
    side: order.side,
    type: order.type,
    timeInForce: order.timeInForce,
    ...(order.price === undefined ? {} : { price: order.price }),
    size: order.size,
    filled: order.filledSize,
    ...(order.avgFillPrice === undefined ? {} : { avgFillPrice: order.avgFillPrice }),
    status: order.status,
    reduceOnly: order.reduceOnly,
    ...(reason === undefined ? {} : { reason }),
    tsEventMs: order.updatedMs,
  };
}

export function fillFromSim(fill: FillEvent): VenueFill {
  return {
    tradeId: fill.tradeId,
    venueOrderId: fill.venueOrderId,
    clientOrderId: fill.clientOrderId ?? '',
    instrument: fill.instrumentId,
    side: fill.side,
    price: fill.price,
    size: fill.size,
    fee: fill.fee,
    feeCurrency: fill.feeAsset,
    liquidity: fill.liquidity,
    tsEventMs: fill.tsEventMs,
    origin: fill.isLiquidation ? 'liquidation' : 'order',
  };
}

export function fundingPaymentFromSim(payment: FundingPaymentEvent): VenueFundingPayment {
  return {
    instrument: payment.instrumentId,
    amount: payment.amount,
    rate: payment.rate,
    positionSize: payment.positionSize,
    markPrice: payment.markPrice,
    tsEventMs: payment.tsEventMs,
  };
}

/**
 * A sim user event as the port's user stream carries it; undefined for `liquidation`,
 * which the port has no kind for: its effects arrive as order updates (reason
 * `liquidation`), fills, positions and balances.
 */
export function userEventFromSim(event: UserEvent): UserStreamEvent | undefined {
  switch (event.type) {
    case 'order_update':
      return { kind: 'order', order: orderFromSim(event.order) };
    case 'fill':
      return { kind: 'fill', fill: fillFromSim(event) };
    case 'balance':
      return { kind: 'balance', balance: balanceFromSim(event.balance) };
    case 'position':
      return { kind: 'position', position: positionFromSim(event.position) };
    case 'funding_payment':
      return { kind: 'funding_payment', payment: fundingPaymentFromSim(event) };
    case 'liquidation':
      return undefined;
  }
}
