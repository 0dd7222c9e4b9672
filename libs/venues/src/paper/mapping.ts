/**
 * The one mapping between libs/sim and the venue port: sim views and events → port
 * types, and sim rejects → the named VenueError classes. Decimals pass through as they
 * are (no rounding invented here); nothing becomes a float.
 */
import { Decimal, ValidationError, type VenueId, ZERO } from '@perpmesh/core';
import type {
  BalanceView,
  BookDeltaEvent,
  FillEvent,
  FundingPaymentEvent,
  FundingRateEvent,
  InstrumentSpec,
  OrderView,
  PositionView,
  Reject,
  RejectCode,
  BookSnapshot as SimBookSnapshot,
  TradeEvent,
  UserEvent,
  VenueConfig,
} from '@perpmesh/sim';
import { InsufficientMarginError, VenueOrderNotFoundError, VenueRejectedError } from '../errors.js';
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

export function capabilitiesFromSim(config: VenueConfig): VenueCapabilities {
  return {
    nonces: config.requireIncreasingNonce,
    nonceFloorIsTimeMs: false,
    rejectsDuplicateClientOrderId: config.rejectDuplicateClientOrderId,
    cancelAllOrders: true,
    postOnly: true,
    fok: true,
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

// ---- rejects → errors ------------------------------------------------------------------------

/** Stable port reasons (`VenueRejectedError.reason`) of the sim's reject codes that stay rejects. */
export const REJECT_REASONS: Readonly<
  Record<
    Exclude<
      RejectCode,
      'insufficient_margin' | 'insufficient_balance' | 'order_not_found' | 'invalid_argument'
    >,
    string
  >
> = {
  unknown_account: 'unknown_account',
  unknown_instrument: 'unknown_instrument',
  invalid_tick: 'tick_size',
  invalid_lot: 'lot_size',
  below_min_size: 'min_size',
  above_max_size: 'max_size',
  below_min_notional: 'min_notional',
  post_only_would_cross: 'post_only_would_cross',
  reduce_only_would_increase: 'reduce_only_would_increase',
  duplicate_client_order_id: 'duplicate_client_order_id',
  // The adapter checks presence and range first, so the sim only refuses a nonce not above the last.
  invalid_nonce: 'nonce_too_low',
  no_reference_price: 'no_reference_price',
  invalid_leverage: 'invalid_leverage',
};

/** The named error for a sim reject; `venueMessage` keeps the sim's words (they name field and value). */
export function errorFromReject(venue: VenueId, reject: Reject): Error {
  const venueMessage = reject.message;
  switch (reject.code) {
    case 'insufficient_margin':
    case 'insufficient_balance':
      return new InsufficientMarginError(venue, reject.message, { venueMessage });
    case 'order_not_found':
      return new VenueOrderNotFoundError(venue, reject.message);
    case 'invalid_argument': {
      const field = reject.field ?? 'request';
      const prefix = `${field}: `;
      const message = reject.message.startsWith(prefix)
        ? reject.message.slice(prefix.length)
        : reject.message;
      return new ValidationError(field, message);
    }
    default:
      return new VenueRejectedError(venue, REJECT_REASONS[reject.code], reject.message, { venueMessage });
  }
}
