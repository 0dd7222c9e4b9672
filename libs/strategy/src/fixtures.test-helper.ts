/** Inputs for strategy tests: markets, books, funding, balances, fills, built from small numbers. */
import { type Decimal, dec } from '@perpmesh/core';
import type {
  BalanceInput,
  BookInput,
  FillInput,
  FundingInput,
  MarketInfo,
  OrderIntent,
  OrderUpdateInput,
  StrategyCommand,
  StrategyInput,
} from './model.js';

export const T0 = 1_700_000_000_000;
export const HOUR_MS = 3_600_000;
export const BTC = 'BTC-USDC-PERP';

export function market(venue: string, overrides: Partial<Record<keyof MarketInfo, string>> = {}): MarketInfo {
  const d = (k: keyof MarketInfo, v: string) => dec(overrides[k] ?? v);
  return {
    venue,
    instrument: (overrides.instrument as string | undefined) ?? BTC,
    tickSize: d('tickSize', '0.1'),
    lotSize: d('lotSize', '0.001'),
    minSize: d('minSize', '0.001'),
    minNotional: d('minNotional', '10'),
    makerFeeRate: d('makerFeeRate', '0.0002'),
    takerFeeRate: d('takerFeeRate', '0.0005'),
    maxLeverage: d('maxLeverage', '20'),
  };
}

export function marketsInput(nowMs: number, markets: MarketInfo[]): StrategyInput {
  return { kind: 'markets', nowMs, markets };
}

/** A book around `mid`: `levels` levels each side, `step` apart, `size` each, best at mid +/- halfSpread. */
export function book(
  venue: string,
  nowMs: number,
  mid: string,
  opts: { halfSpread?: string; step?: string; levels?: number; size?: string; instrument?: string } = {},
): BookInput {
  const m = dec(mid);
  const half = dec(opts.halfSpread ?? '0.5');
  const stepSize = dec(opts.step ?? '0.5');
  const size = dec(opts.size ?? '1');
  const levels = opts.levels ?? 10;
  const bids = [];
  const asks = [];
  for (let i = 0; i < levels; i++) {
    bids.push({ price: m.minus(half).minus(stepSize.mul(i)), size });
    asks.push({ price: m.plus(half).plus(stepSize.mul(i)), size });
  }
  return { kind: 'book', nowMs, venue, instrument: opts.instrument ?? BTC, bids, asks, asOfMs: nowMs };
}

export function funding(
  venue: string,
  nowMs: number,
  rate: string,
  intervalHours: number,
  opts: { nextFundingTimeMs?: number; mark?: string; instrument?: string } = {},
): FundingInput {
  return {
    kind: 'funding',
    nowMs,
    venue,
    instrument: opts.instrument ?? BTC,
    rate: dec(rate),
    intervalMs: intervalHours * HOUR_MS,
    nextFundingTimeMs: opts.nextFundingTimeMs ?? nowMs + intervalHours * HOUR_MS - 1,
    markPrice: dec(opts.mark ?? '50000'),
    asOfMs: nowMs,
  };
}

export function balance(
  venue: string,
  account: string,
  nowMs: number,
  available: string,
  total = available,
): BalanceInput {
  return {
    kind: 'balance',
    nowMs,
    venue,
    account,
    total: dec(total),
    available: dec(available),
    equity: dec(total),
    asOfMs: nowMs,
    stale: false,
  };
}

export function tick(nowMs: number): StrategyInput {
  return { kind: 'tick', nowMs };
}

export function start(
  nowMs: number,
  extra: Partial<Extract<StrategyInput, { kind: 'start' }>> = {},
): StrategyInput {
  return { kind: 'start', nowMs, openOrders: [], positions: [], ...extra };
}

/** An order as the tests hand it around: an intent, or an own order from the state. */
export type OrderLike = Omit<OrderIntent, 'price'> & { readonly price?: Decimal | undefined };

export function placed(commands: ReadonlyArray<StrategyCommand>): OrderIntent[] {
  return commands.flatMap((c) => (c.kind === 'place' ? [c.order] : []));
}

/** The order update the execution service would send for an intent. */
export function orderUpdate(
  order: OrderLike,
  nowMs: number,
  status: OrderUpdateInput['status'],
  filled: string | Decimal = '0',
  extra: { avgFillPrice?: string; reason?: string } = {},
): OrderUpdateInput {
  return {
    kind: 'order',
    nowMs,
    clientOrderId: order.clientOrderId,
    venue: order.venue,
    account: order.account,
    instrument: order.instrument,
    side: order.side,
    type: order.type,
    timeInForce: order.timeInForce,
    price: order.price,
    size: order.size,
    reduceOnly: order.reduceOnly,
    status,
    filled: dec(filled),
    avgFillPrice: extra.avgFillPrice ? dec(extra.avgFillPrice) : undefined,
    reason: extra.reason,
    tsEventMs: nowMs,
  };
}

let tradeSeq = 0;
export function fill(
  order: OrderLike,
  nowMs: number,
  price: string,
  size: string | Decimal,
  fee: string,
): FillInput {
  tradeSeq += 1;
  return {
    kind: 'fill',
    nowMs,
    clientOrderId: order.clientOrderId,
    venue: order.venue,
    account: order.account,
    instrument: order.instrument,
    side: order.side,
    tradeId: `t${tradeSeq}`,
    price: dec(price),
    size: dec(size),
    fee: dec(fee),
    liquidity: 'taker',
    tsEventMs: nowMs,
  };
}

/** A full fill of an intent: the fill and the `filled` order update. */
export function fullyFilled(order: OrderLike, nowMs: number, price: string, fee: string): StrategyInput[] {
  return [
    fill(order, nowMs, price, order.size, fee),
    orderUpdate(order, nowMs, 'filled', order.size, { avgFillPrice: price }),
  ];
}
