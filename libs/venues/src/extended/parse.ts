/**
 * Extended's payloads -> the port's types, as decimals (the venue sends numbers as text,
 * ids as JSON numbers). Pure: unit-tested against recorded payloads in test_data/.
 *
 * - Markets: `BTC-USD` is our `BTC-USDC-PERP` (the collateral is USDC; the venue names it
 *   USD). Rules from `tradingConfig`; the settlement's asset ids and resolutions from
 *   `l2Config` (what an order is signed over).
 * - Funding: `marketStats.fundingRate` is the rate of the running HOUR (Extended funds
 *   hourly), `nextFundingRate` the next funding time in ms (a timestamp despite its name).
 * - Balance: `user/balance` of the perp account; a 404 is the venue's zero balance, an
 *   explicit zero here with its as-of time (`zeroBalance`).
 * - Funding payments: `fundingFee` > 0 received, < 0 paid (*as read*: the venue's docs do
 *   not state the sign; the emulator follows this reading).
 */
import {
  type BookLevel,
  type ClientOrderId,
  type Decimal,
  type EpochMs,
  type InstrumentId,
  type OrderStatus,
  type TimeInForce,
  ValidationError,
  type VenueOrderId,
  ZERO,
} from '@perpmesh/core';
import type { ExtendedMarketL2Config } from '@perpmesh/signing';
import { type PayloadRow, payloadDecimal, payloadInt, payloadText } from '../ccxt/payload.js';
import type {
  FundingInfo,
  VenueBalance,
  VenueFill,
  VenueFundingPayment,
  VenueMarket,
  VenueOrder,
  VenuePosition,
} from '../port.js';

export type { PayloadRow };

/** Extended's collateral: USDC (its market names say USD). */
export const EXTENDED_SETTLE_ASSET = 'USDC';
/** Extended funds every hour, every market (VENUES.md). */
export const EXTENDED_FUNDING_INTERVAL_MS = 3_600_000;

/** Our instrument (`BTC-USDC-PERP`) -> the venue's market (`BTC-USD`). */
export function extendedMarketName(instrument: InstrumentId): string {
  const [base, quote, kind] = instrument.split('-');
  if (!base || quote !== EXTENDED_SETTLE_ASSET || kind !== 'PERP') {
    throw new ValidationError(
      'instrument',
      `${instrument} is not an Extended perp (expected <BASE>-${EXTENDED_SETTLE_ASSET}-PERP)`,
    );
  }
  return `${base}-USD`;
}

/** The venue's market (`BTC-USD`) -> our instrument (`BTC-USDC-PERP`). */
export function instrumentOfMarket(market: string): InstrumentId {
  const [base, quote] = market.split('-');
  if (!base || quote !== 'USD')
    throw new ValidationError('market', `${market} is not an Extended USD market`);
  return `${base}-${EXTENDED_SETTLE_ASSET}-PERP`;
}

/** What a parser needs: which market names we follow, and our id of a venue external id. */
export interface ExtendedParseContext {
  /** Our instrument for the venue's market name, when we follow it. */
  instrumentOf(market: string): InstrumentId | undefined;
  /** Our client order id for the venue's `externalId`. */
  ourClientId(externalId: string): ClientOrderId;
}

function rowsOf(value: unknown, where: string): PayloadRow[] {
  if (!Array.isArray(value))
    throw new ValidationError(where, `expected a list, got ${JSON.stringify(value)}`);
  return value as PayloadRow[];
}

function objectOf(value: unknown, where: string): PayloadRow {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new ValidationError(where, `expected an object, got ${JSON.stringify(value)}`);
  }
  return value as PayloadRow;
}

/** An id the venue sends as a JSON number (or text), as text. */
function idText(row: PayloadRow, field: string, where: string): string {
  const v = row[field];
  if (typeof v === 'string' && v !== '') return v;
  if (typeof v === 'number' && Number.isSafeInteger(v)) return String(v);
  throw new ValidationError(`${where}.${field}`, `expected an id, got ${JSON.stringify(v)}`);
}

function instrumentField(row: PayloadRow, where: string, ctx: ExtendedParseContext): InstrumentId {
  const market = payloadText(row, 'market', where);
  const instrument = ctx.instrumentOf(market);
  if (instrument === undefined)
    throw new ValidationError(`${where}.market`, `${market} is not a market we follow`);
  return instrument;
}

export interface ExtendedMarketInfo {
  readonly market: VenueMarket;
  readonly l2Config: ExtendedMarketL2Config;
}

/** One row of `info/markets`; fees come from `user/fees` (or the venue's base tier). */
export function parseMarket(
  row: PayloadRow,
  fees: { makerFeeRate: Decimal; takerFeeRate: Decimal },
): ExtendedMarketInfo {
  const where = 'info/markets[]';
  const name = payloadText(row, 'name', where);
  const trading = objectOf(row.tradingConfig, `${where}.tradingConfig`);
  const l2 = objectOf(row.l2Config, `${where}.l2Config`);
  const t = `${where}.tradingConfig`;
  const instrument = instrumentOfMarket(name);
  return {
    market: {
      instrument,
      venueSymbol: name,
      base: payloadText(row, 'assetName', where),
      quote: EXTENDED_SETTLE_ASSET,
      settle: EXTENDED_SETTLE_ASSET,
      tickSize: payloadDecimal(trading, 'minPriceChange', t),
      lotSize: payloadDecimal(trading, 'minOrderSizeChange', t),
      minSize: payloadDecimal(trading, 'minOrderSize', t),
      // The venue states a minimum size (minOrderSize), no minimum notional.
      minNotional: ZERO,
      maxLeverage: payloadDecimal(trading, 'maxLeverage', t),
      fundingIntervalMs: EXTENDED_FUNDING_INTERVAL_MS,
      makerFeeRate: fees.makerFeeRate,
      takerFeeRate: fees.takerFeeRate,
    },
    l2Config: {
      collateralId: payloadText(l2, 'collateralId', `${where}.l2Config`),
      syntheticId: payloadText(l2, 'syntheticId', `${where}.l2Config`),
      syntheticResolution: payloadText(l2, 'syntheticResolution', `${where}.l2Config`),
      collateralResolution: payloadText(l2, 'collateralResolution', `${where}.l2Config`),
    },
  };
}

/** `marketStats` of a market: the running hour's rate, with the interval the venue funds on. */
export function parseFunding(instrument: InstrumentId, stats: PayloadRow, nowMs: EpochMs): FundingInfo {
  const where = 'marketStats';
  return {
    kind: 'funding',
    instrument,
    rate: payloadDecimal(stats, 'fundingRate', where),
    intervalMs: EXTENDED_FUNDING_INTERVAL_MS,
    nextFundingTimeMs: payloadInt(stats, 'nextFundingRate', where),
    markPrice: payloadDecimal(stats, 'markPrice', where),
    indexPrice: payloadDecimal(stats, 'indexPrice', where),
    tsEventMs: nowMs,
  };
}

/** Book levels `[{price, qty}]` (REST) or `[{p, c | q}]` (stream; `c` is the level's new size). */
export function parseLevels(value: unknown, where: string): BookLevel[] {
  return rowsOf(value ?? [], where).map((l, i) => {
    const at = `${where}[${i}]`;
    if ('price' in l) return { price: payloadDecimal(l, 'price', at), size: payloadDecimal(l, 'qty', at) };
    return { price: payloadDecimal(l, 'p', at), size: payloadDecimal(l, 'c' in l ? 'c' : 'q', at) };
  });
}

/** `user/balance` data. */
export function parseBalance(data: PayloadRow, nowMs: EpochMs): VenueBalance {
  const where = 'user/balance';
  return {
    asset: EXTENDED_SETTLE_ASSET,
    total: payloadDecimal(data, 'balance', where),
    available: payloadDecimal(data, 'availableForTrade', where),
    equity: payloadDecimal(data, 'equity', where),
    unrealizedPnl: data.unrealisedPnl === undefined ? ZERO : payloadDecimal(data, 'unrealisedPnl', where),
    tsEventMs: typeof data.updatedTime === 'number' ? data.updatedTime : nowMs,
  };
}

/** The venue's 404 on `user/balance`: the account holds nothing. An explicit zero, as of now. */
export function zeroBalance(nowMs: EpochMs): VenueBalance {
  return {
    asset: EXTENDED_SETTLE_ASSET,
    total: ZERO,
    available: ZERO,
    equity: ZERO,
    unrealizedPnl: ZERO,
    tsEventMs: nowMs,
  };
}

/** One `user/positions` row (also the stream's POSITION rows; a CLOSED one is size 0). */
export function parsePosition(row: PayloadRow, ctx: ExtendedParseContext, nowMs: EpochMs): VenuePosition {
  const where = 'user/positions[]';
  const side = payloadText(row, 'side', where);
  if (side !== 'LONG' && side !== 'SHORT') {
    throw new ValidationError(`${where}.side`, `expected LONG or SHORT, got ${JSON.stringify(side)}`);
  }
  const size = payloadDecimal(row, 'size', where).abs();
  const liquidation = row.liquidationPrice;
  return {
    instrument: instrumentField(row, where, ctx),
    size: side === 'LONG' ? size : size.neg(),
    entryPrice: payloadDecimal(row, 'openPrice', where),
    markPrice: payloadDecimal(row, 'markPrice', where),
    unrealizedPnl: row.unrealisedPnl === undefined ? ZERO : payloadDecimal(row, 'unrealisedPnl', where),
    realizedPnl: row.realisedPnl === undefined ? ZERO : payloadDecimal(row, 'realisedPnl', where),
    leverage: payloadDecimal(row, 'leverage', where),
    ...(liquidation === undefined || liquidation === null || liquidation === '' || liquidation === '0'
      ? {}
      : { liquidationPrice: payloadDecimal(row, 'liquidationPrice', where) }),
    tsEventMs: typeof row.updatedAt === 'number' ? row.updatedAt : nowMs,
  };
}

const ORDER_STATUS: Readonly<Record<string, OrderStatus>> = {
  NEW: 'accepted',
  UNTRIGGERED: 'accepted',
  TRIGGERED: 'accepted',
  PARTIALLY_FILLED: 'partially_filled',
  FILLED: 'filled',
  CANCELLED: 'canceled',
  EXPIRED: 'expired',
  REJECTED: 'rejected',
};

/** One order (`user/orders`, `user/orders/{id}`, the stream's ORDER rows). */
export function parseOrder(row: PayloadRow, ctx: ExtendedParseContext): VenueOrder {
  const where = 'order';
  const status = ORDER_STATUS[payloadText(row, 'status', where)];
  if (status === undefined)
    throw new ValidationError(`${where}.status`, `unknown status ${String(row.status)}`);
  const type = row.type === 'MARKET' ? 'market' : 'limit';
  const tif = String(row.timeInForce ?? 'GTT');
  const timeInForce: TimeInForce =
    row.postOnly === true ? 'post_only' : tif === 'IOC' ? 'ioc' : tif === 'FOK' ? 'fok' : 'gtc';
  const filled = payloadDecimal(row, 'filledQty', where);
  const average = row.averagePrice === undefined ? ZERO : payloadDecimal(row, 'averagePrice', where);
  const reason = row.statusReason;
  return {
    clientOrderId: ctx.ourClientId(payloadText(row, 'externalId', where)),
    venueOrderId: idText(row, 'id', where) as VenueOrderId,
    instrument: instrumentField(row, where, ctx),
    side: payloadText(row, 'side', where) === 'BUY' ? 'buy' : 'sell',
    type,
    timeInForce,
    ...(type === 'limit' ? { price: payloadDecimal(row, 'price', where) } : {}),
    size: payloadDecimal(row, 'qty', where),
    filled,
    ...(filled.gt(0) && average.gt(0) ? { avgFillPrice: average } : {}),
    status,
    reduceOnly: row.reduceOnly === true,
    ...(typeof reason === 'string' && reason !== '' ? { reason: reason.toLowerCase() } : {}),
    tsEventMs: payloadInt(row, 'updatedTime', where),
  };
}

/** One trade of the account (`user/trades`, the stream's TRADE rows). */
export function parseFill(
  row: PayloadRow,
  ctx: ExtendedParseContext,
): Omit<VenueFill, 'clientOrderId'> & { externalOrderId: string; tradeType: string } {
  const where = 'trade';
  const tradeType = String(row.tradeType ?? 'TRADE');
  return {
    tradeId: idText(row, 'id', where),
    venueOrderId: idText(row, 'orderId', where) as VenueOrderId,
    externalOrderId: typeof row.externalOrderId === 'string' ? row.externalOrderId : '',
    tradeType,
    ...(tradeType === 'LIQUIDATION' ? { origin: 'liquidation' as const } : {}),
    ...(tradeType === 'DELEVERAGE' ? { origin: 'adl' as const } : {}),
    instrument: instrumentField(row, where, ctx),
    side: payloadText(row, 'side', where) === 'BUY' ? 'buy' : 'sell',
    price: payloadDecimal(row, 'price', where),
    size: payloadDecimal(row, 'qty', where),
    fee: payloadDecimal(row, 'fee', where),
    feeCurrency: EXTENDED_SETTLE_ASSET,
    liquidity: row.isTaker === true ? 'taker' : 'maker',
    tsEventMs: payloadInt(row, 'createdTime', where),
  };
}

/** One row of `user/funding/history`. */
export function parseFundingPayment(row: PayloadRow, ctx: ExtendedParseContext): VenueFundingPayment {
  const where = 'user/funding/history[]';
  const size = payloadDecimal(row, 'size', where).abs();
  return {
    paymentId: idText(row, 'id', where),
    instrument: instrumentField(row, where, ctx),
    amount: payloadDecimal(row, 'fundingFee', where),
    rate: payloadDecimal(row, 'fundingRate', where),
    positionSize: row.side === 'SHORT' ? size.neg() : size,
    markPrice: payloadDecimal(row, 'markPrice', where),
    tsEventMs: payloadInt(row, 'paidTime', where),
  };
}

/** The `data` of a `{status: "OK", data}` answer. */
export function okData(body: unknown, where: string): unknown {
  const row = objectOf(body, where);
  if (row.status !== 'OK')
    throw new ValidationError(`${where}.status`, `expected OK, got ${JSON.stringify(row.status)}`);
  return row.data;
}

export { objectOf as payloadObject, rowsOf as payloadRows };
