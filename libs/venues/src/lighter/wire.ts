/**
 * Lighter's REST and websocket payloads -> port types, and our decimals -> the venue's
 * integers. Pure: every reader names the field it could not read.
 *
 * Units (the official API's reading; see README "Lighter"):
 * - Prices and sizes travel as decimal text; in a transaction they are integers scaled by
 *   10^price_decimals / 10^size_decimals of the market (`orderBookDetails`).
 * - `funding-rates` `rate`: a fraction per 8 hours (the endpoint compares venues on one
 *   basis); Lighter settles 1/8 of it every hour, so the port reports rate / 8 per 1 h.
 * - `positionFunding` `rate` (and `fundings`): percent per hour, unsigned; `change` is the
 *   signed USDC amount (> 0 received), `position_side` the side that held the position.
 * - Timestamps: `trades.timestamp` ms; order `timestamp` / `updated_at` and funding
 *   `timestamp` seconds.
 */
import {
  type ClientOrderId,
  Decimal,
  type EpochMs,
  type InstrumentId,
  type OrderStatus,
  type TimeInForce,
  ValidationError,
  ZERO,
} from '@perpmesh/core';
import { type PayloadRow, payloadDecimal, payloadInt, payloadText } from '../ccxt/payload.js';
import {
  InsufficientMarginError,
  RateLimitedError,
  type VenueError,
  VenueOrderNotFoundError,
  VenueRejectedError,
} from '../errors.js';
import type {
  VenueBalance,
  VenueFill,
  VenueFundingPayment,
  VenueMarket,
  VenueOrder,
  VenuePosition,
} from '../port.js';

export const LIGHTER_SETTLE_ASSET = 'USDC';
export const HOUR_MS = 3_600_000;
/** Order indexes are at or above 2^48; a cancel's `Index` below it is a client order index. */
export const LIGHTER_ORDER_INDEX_BASE = 2n ** 48n;

/** Lighter's transaction enums (lighter-go). */
export const LIGHTER_ORDER_TYPE = { limit: 0, market: 1 } as const;
export const LIGHTER_ORDER_TIF = { immediateOrCancel: 0, goodTillTime: 1, postOnly: 2 } as const;
export const LIGHTER_CANCEL_ALL_TIF = { immediate: 0, scheduled: 1, abort: 2 } as const;

export interface LighterMarket {
  readonly marketId: number;
  readonly sizeDecimals: number;
  readonly priceDecimals: number;
  readonly market: VenueMarket;
}

export interface LighterParseContext {
  readonly instrumentOfMarket: (marketId: number) => InstrumentId | undefined;
  /** Our client order id of the venue's client order index (hashed ones the adapter remembers). */
  readonly ourClientId: (clientOrderIndex: string) => ClientOrderId;
}

/** Our instrument id of a Lighter perp symbol (`BTC` -> `BTC-USDC-PERP`). */
export function lighterInstrument(symbol: string): InstrumentId {
  return `${symbol}-${LIGHTER_SETTLE_ASSET}-PERP`;
}

export function parseLighterMarket(row: PayloadRow): LighterMarket {
  const where = 'orderBookDetails';
  const symbol = payloadText(row, 'symbol', where);
  const sizeDecimals = payloadInt(row, 'size_decimals', where);
  const priceDecimals = payloadInt(row, 'price_decimals', where);
  const lot = new Decimal(1).div(new Decimal(10).pow(sizeDecimals));
  const imf = payloadInt(row, 'min_initial_margin_fraction', where);
  return {
    marketId: payloadInt(row, 'market_id', where),
    sizeDecimals,
    priceDecimals,
    market: {
      instrument: lighterInstrument(symbol),
      venueSymbol: String(payloadInt(row, 'market_id', where)),
      base: symbol,
      quote: LIGHTER_SETTLE_ASSET,
      settle: LIGHTER_SETTLE_ASSET,
      tickSize: new Decimal(1).div(new Decimal(10).pow(priceDecimals)),
      lotSize: lot,
      minSize: Decimal.max(lot, payloadDecimal(row, 'min_base_amount', where)),
      minNotional: payloadDecimal(row, 'min_quote_amount', where),
      // Margin fractions are in basis points (100 = 1% = 100x).
      maxLeverage: imf > 0 ? new Decimal(10_000).div(imf).toDecimalPlaces(2) : new Decimal(1),
      fundingIntervalMs: HOUR_MS,
      makerFeeRate: payloadDecimal(row, 'maker_fee', where),
      takerFeeRate: payloadDecimal(row, 'taker_fee', where),
    },
  };
}

/** `value` x 10^decimals as an integer; a value off the grid is a ValidationError on `field`. */
export function lighterScaled(value: Decimal, decimals: number, field: string): bigint {
  const scaled = value.mul(new Decimal(10).pow(decimals));
  if (!scaled.isInteger()) {
    throw new ValidationError(
      field,
      `${value.toFixed()} is not a multiple of ${new Decimal(10).pow(-decimals).toFixed()}`,
    );
  }
  return BigInt(scaled.toFixed(0));
}

const TIF_OF: Readonly<Record<string, TimeInForce>> = {
  'good-till-time': 'gtc',
  'immediate-or-cancel': 'ioc',
  'post-only': 'post_only',
};

/** The venue's order status -> ours; cancellations the venue made for liquidity count as expired. */
export function lighterOrderStatus(status: string, filled: Decimal): OrderStatus {
  if (status === 'open' || status === 'in-progress' || status === 'pending') {
    return filled.gt(0) ? 'partially_filled' : 'accepted';
  }
  if (status === 'filled') return 'filled';
  if (
    status === 'canceled-not-enough-liquidity' ||
    status === 'canceled-too-much-slippage' ||
    status === 'canceled-expired'
  ) {
    return 'expired';
  }
  if (
    status === 'canceled-post-only' ||
    status === 'canceled-margin-not-allowed' ||
    status === 'canceled-invalid-balance'
  ) {
    return filled.gt(0) ? 'canceled' : 'rejected';
  }
  if (status.startsWith('canceled')) return 'canceled';
  throw new ValidationError('order.status', `unknown Lighter order status ${JSON.stringify(status)}`);
}

export function parseLighterOrder(row: PayloadRow, ctx: LighterParseContext): VenueOrder {
  const where = 'order';
  const marketId = payloadInt(row, 'market_index', where);
  const instrument = ctx.instrumentOfMarket(marketId);
  if (instrument === undefined)
    throw new ValidationError(`${where}.market_index`, `${marketId} is not a market we follow`);
  const size = payloadDecimal(row, 'initial_base_amount', where);
  const filled = payloadDecimal(row, 'filled_base_amount', where);
  const filledQuote = payloadDecimal(row, 'filled_quote_amount', where);
  const status = payloadText(row, 'status', where);
  const type = payloadText(row, 'type', where) === 'market' ? 'market' : 'limit';
  const price = payloadDecimal(row, 'price', where);
  const updatedS = payloadInt(row, 'updated_at', where);
  return {
    clientOrderId: ctx.ourClientId(payloadText(row, 'client_order_index', where)),
    venueOrderId: payloadText(row, 'order_index', where),
    instrument,
    side: row.is_ask === true ? 'sell' : 'buy',
    type,
    timeInForce: TIF_OF[payloadText(row, 'time_in_force', where)] ?? 'gtc',
    ...(type === 'limit' ? { price } : {}),
    size,
    filled,
    ...(filled.gt(0) ? { avgFillPrice: filledQuote.div(filled).toDecimalPlaces(12) } : {}),
    status: lighterOrderStatus(status, filled),
    reduceOnly: row.reduce_only === true,
    ...(status.startsWith('canceled') && status !== 'canceled' ? { reason: status } : {}),
    tsEventMs: updatedS * 1000,
  };
}

/**
 * One of our fills from a trade: the side whose account is ours. Liquidations and
 * deleverages are venue-made (no client order id of ours).
 */
export function parseLighterTrade(
  row: PayloadRow,
  accountIndex: number,
  ctx: LighterParseContext,
): VenueFill {
  const where = 'trade';
  const marketId = payloadInt(row, 'market_id', where);
  const instrument = ctx.instrumentOfMarket(marketId);
  if (instrument === undefined)
    throw new ValidationError(`${where}.market_id`, `${marketId} is not a market we follow`);
  const isAsk = Number(row.ask_account_id) === accountIndex;
  const makerIsAsk = row.is_maker_ask === true;
  const maker = isAsk === makerIsAsk;
  const type = payloadText(row, 'type', where);
  const origin = type === 'liquidation' ? 'liquidation' : type === 'deleverage' ? 'adl' : undefined;
  const clientIndex = String(row[isAsk ? 'ask_client_id' : 'bid_client_id'] ?? '0');
  return {
    tradeId: payloadText(row, 'trade_id', where),
    venueOrderId: payloadText(row, isAsk ? 'ask_id' : 'bid_id', where),
    clientOrderId: origin !== undefined || clientIndex === '0' ? '' : ctx.ourClientId(clientIndex),
    ...(origin === undefined ? {} : { origin }),
    instrument,
    side: isAsk ? 'sell' : 'buy',
    price: payloadDecimal(row, 'price', where),
    size: payloadDecimal(row, 'size', where),
    fee: readOptionalDecimal(row, maker ? 'maker_fee' : 'taker_fee'),
    feeCurrency: LIGHTER_SETTLE_ASSET,
    liquidity: maker ? 'maker' : 'taker',
    tsEventMs: payloadInt(row, 'timestamp', where),
  };
}

function readOptionalDecimal(row: PayloadRow, field: string): Decimal {
  const v = row[field];
  return v === undefined || v === null || v === '' ? ZERO : new Decimal(String(v));
}

/** The perp account of `/api/v1/account`: the USDC balance and the positions. */
export function parseLighterAccount(
  row: PayloadRow,
  ctx: LighterParseContext,
  nowMs: EpochMs,
): { balance: VenueBalance; positions: VenuePosition[] } {
  const where = 'account';
  const rawPositions = Array.isArray(row.positions) ? (row.positions as PayloadRow[]) : [];
  const positions: VenuePosition[] = [];
  let unrealized = ZERO;
  for (const p of rawPositions) {
    const instrument = ctx.instrumentOfMarket(payloadInt(p, 'market_id', 'position'));
    const abs = payloadDecimal(p, 'position', 'position');
    const pnl = payloadDecimal(p, 'unrealized_pnl', 'position');
    unrealized = unrealized.plus(pnl);
    if (instrument === undefined) continue;
    const sign = payloadInt(p, 'sign', 'position');
    const size = sign < 0 ? abs.neg() : abs;
    const imf = payloadDecimal(p, 'initial_margin_fraction', 'position');
    const liq = readOptionalDecimal(p, 'liquidation_price');
    positions.push({
      instrument,
      size,
      entryPrice: payloadDecimal(p, 'avg_entry_price', 'position'),
      markPrice: abs.isZero()
        ? ZERO
        : payloadDecimal(p, 'position_value', 'position').div(abs).toDecimalPlaces(8),
      unrealizedPnl: pnl,
      realizedPnl: readOptionalDecimal(p, 'realized_pnl'),
      // initial_margin_fraction is in percent (5.00 = 20x).
      leverage: imf.gt(0) ? new Decimal(100).div(imf).toDecimalPlaces(2) : new Decimal(1),
      ...(liq.gt(0) ? { liquidationPrice: liq } : {}),
      tsEventMs: nowMs,
    });
  }
  return {
    balance: {
      asset: LIGHTER_SETTLE_ASSET,
      total: payloadDecimal(row, 'collateral', where),
      available: payloadDecimal(row, 'available_balance', where),
      equity: payloadDecimal(row, 'total_asset_value', where),
      unrealizedPnl: unrealized,
      tsEventMs: nowMs,
    },
    positions,
  };
}

/** `funding-rates` `rate` (fraction per 8 h) -> the hourly rate Lighter settles. */
export function lighterHourlyRate(rate8h: Decimal): Decimal {
  return rate8h.div(8);
}

/** A `positionFunding` row: percent per hour -> fraction, signed as longs pay on a positive rate. */
export function parseLighterFundingPayment(
  row: PayloadRow,
  ctx: LighterParseContext,
): VenueFundingPayment | undefined {
  const where = 'position_funding';
  const instrument = ctx.instrumentOfMarket(payloadInt(row, 'market_id', where));
  if (instrument === undefined) return undefined;
  const amount = payloadDecimal(row, 'change', where);
  const side = payloadText(row, 'position_side', where);
  const size = payloadDecimal(row, 'position_size', where);
  const ratePercent = payloadDecimal(row, 'rate', where).abs();
  // Longs pay on a positive rate: a long that paid (or a short that received) saw rate > 0.
  const paidByLong = (side === 'long') === amount.isNeg();
  return {
    paymentId: `${payloadText(row, 'funding_id', where)}:${instrument}`,
    instrument,
    amount,
    rate: (paidByLong ? ratePercent : ratePercent.neg()).div(100),
    positionSize: side === 'short' ? size.neg() : size,
    markPrice:
      amount.isZero() || size.isZero() || ratePercent.isZero()
        ? ZERO
        : amount.abs().div(size.mul(ratePercent).div(100)).toDecimalPlaces(8),
    tsEventMs: payloadInt(row, 'timestamp', where) * 1000,
  };
}

/**
 * An order the venue canceled at once for a reason that is a refusal (post-only would cross,
 * no margin, reduce-only would grow the position), as the error a placement throws.
 */
export function lighterOrderRejection(venue: string, order: VenueOrder): VenueError | undefined {
  if (order.status !== 'rejected') return undefined;
  const status = order.reason ?? 'canceled';
  const text = `order ${order.clientOrderId} canceled by the venue at once: ${status}`;
  if (status === 'canceled-margin-not-allowed' || status === 'canceled-invalid-balance') {
    return new InsufficientMarginError(venue, text, { venueMessage: status });
  }
  const reason =
    status === 'canceled-post-only'
      ? 'post_only_would_cross'
      : status === 'canceled-reduce-only'
        ? 'reduce_only_would_increase'
        : 'venue_error';
  return new VenueRejectedError(venue, reason, text, { venueMessage: status });
}

/** What the venue's error codes mean for us (codes from the venue's API reference). */
const REASON_BY_CODE: Readonly<Record<number, string>> = {
  21104: 'invalid_nonce',
  21120: 'invalid_signature',
  21602: 'invalid_market',
  21701: 'invalid_size',
  21702: 'invalid_price',
  21705: 'invalid_time_in_force',
  21706: 'invalid_size',
  21711: 'invalid_expiry',
  21713: 'invalid_cancel_all',
  21714: 'invalid_cancel_all',
  21728: 'duplicate_client_order_id',
  21732: 'reduce_only_would_increase',
  21733: 'price_too_far',
  21734: 'price_too_far',
};
const NOT_FOUND_CODES = new Set([21600, 21708, 21709, 21715]);
const MARGIN_CODES = new Set([21507, 21508, 21739]);
const RATE_LIMIT_CODES = new Set([23000, 23001, 23002, 23003, 21506]);

/** A `{ code, message }` refusal as our VenueError. */
export function lighterReplyError(venue: string, code: number, message: string): VenueError {
  const text = `${message} (code ${code})`;
  if (RATE_LIMIT_CODES.has(code)) return new RateLimitedError(venue, `rate-limited: ${text}`);
  if (NOT_FOUND_CODES.has(code)) return new VenueOrderNotFoundError(venue, text);
  if (MARGIN_CODES.has(code)) return new InsufficientMarginError(venue, text, { venueMessage: message });
  const reason =
    REASON_BY_CODE[code] ??
    (/nonce/i.test(message) ? 'invalid_nonce' : /auth/i.test(message) ? 'authentication' : 'venue_error');
  return new VenueRejectedError(venue, reason, text, { venueMessage: message });
}
