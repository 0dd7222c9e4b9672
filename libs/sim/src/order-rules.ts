/**
 * The venue's order rules, as pure checks the exchange runs inside a command (each throws
 * a VenueRejectError naming the field): the request's shape, the instrument's market
 * rules (tick, lot, minimum size and notional: the one core `marketRuleViolation`, mapped
 * to this venue's reject codes), the maximum size, reduce-only direction and capacity,
 * post-only, and the market-order protection band. What needs the exchange's state (the
 * account's margin, duplicate client ids, nonces) stays in exchange.ts.
 */
import {
  Decimal,
  type DecimalInput,
  type MarketRule,
  type MarketRules,
  marketRuleViolation,
  type OrderType,
  parseDecimal,
  roundToStep,
  type Side,
  type TimeInForce,
  ValidationError,
  ZERO,
} from '@perpmesh/core';
import type { InstrumentSpec } from './config.js';
import type { RejectCode } from './events.js';
import { type InstrumentScale, notionalUnits } from './fixed.js';
import { venueReject } from './rejects.js';

const SIDES: readonly Side[] = ['buy', 'sell'];
const ORDER_TYPES: readonly OrderType[] = ['limit', 'market'];
const TIFS: readonly TimeInForce[] = ['gtc', 'ioc', 'fok', 'post_only'];

/** The order fields a place request carries, before they are checked. */
export interface OrderRequestFields {
  readonly side: Side;
  readonly type: OrderType;
  readonly timeInForce?: TimeInForce;
  readonly price?: DecimalInput;
  readonly size: DecimalInput;
  readonly clientOrderId?: string;
}

/** A request that passed the shape checks: known side, type and time in force, positive decimals. */
export interface CheckedOrderRequest {
  readonly timeInForce: TimeInForce;
  /** Set for limit orders, undefined for market orders. */
  readonly price: Decimal | undefined;
  readonly size: Decimal;
}

/**
 * The request's shape: side, type, time in force (default gtc for limit, ioc for market;
 * market orders take ioc or fok), a non-empty client order id when given, a positive
 * price on limit orders only and a positive size.
 */
export function checkOrderRequest(r: OrderRequestFields): CheckedOrderRequest {
  const timeInForce = checkOrderShape(r);
  let price: Decimal | undefined;
  if (r.type === 'limit') {
    if (r.price === undefined) throw venueReject('invalid_argument', 'price', 'is required for limit orders');
    price = decimalOrReject(r.price, 'price');
    if (!price.gt(0)) throw venueReject('invalid_argument', 'price', `must be > 0, got ${price.toFixed()}`);
  } else if (r.price !== undefined) {
    throw venueReject('invalid_argument', 'price', 'market orders take no price');
  }
  const size = decimalOrReject(r.size, 'size');
  if (!size.gt(0)) throw venueReject('invalid_argument', 'size', `must be > 0, got ${size.toFixed()}`);
  return { timeInForce, price, size };
}

/**
 * The request's shape without its quantities: side, type, time in force (returned with its
 * default: gtc for limit, ioc for market) and the client order id.
 */
export function checkOrderShape(r: Omit<OrderRequestFields, 'price' | 'size'>): TimeInForce {
  if (!SIDES.includes(r.side))
    throw venueReject('invalid_argument', 'side', `must be buy or sell, got ${JSON.stringify(r.side)}`);
  if (!ORDER_TYPES.includes(r.type)) {
    throw venueReject('invalid_argument', 'type', `must be limit or market, got ${JSON.stringify(r.type)}`);
  }
  const timeInForce = r.timeInForce ?? (r.type === 'market' ? 'ioc' : 'gtc');
  if (!TIFS.includes(timeInForce)) {
    throw venueReject(
      'invalid_argument',
      'timeInForce',
      `must be one of ${TIFS.join(', ')}, got ${JSON.stringify(timeInForce)}`,
    );
  }
  if (r.type === 'market' && timeInForce !== 'ioc' && timeInForce !== 'fok') {
    throw venueReject('invalid_argument', 'timeInForce', `market orders take ioc or fok, got ${timeInForce}`);
  }
  if (
    r.clientOrderId !== undefined &&
    (typeof r.clientOrderId !== 'string' || r.clientOrderId.length === 0)
  ) {
    throw venueReject('invalid_argument', 'clientOrderId', 'must be a non-empty string when given');
  }
  return timeInForce;
}

/**
 * The quantities of a request in whole ticks and lots (exchange.ts `FixedOrderRequest`): a
 * positive safe integer of ticks on limit orders only, and of lots.
 */
export function checkFixedQuantities(r: {
  readonly type: OrderType;
  readonly priceTicks?: number;
  readonly sizeLots: number;
}): { readonly priceTicks: number | undefined; readonly sizeLots: number } {
  let priceTicks: number | undefined;
  if (r.type === 'limit') {
    if (r.priceTicks === undefined)
      throw venueReject('invalid_argument', 'priceTicks', 'is required for limit orders');
    priceTicks = positiveWhole(r.priceTicks, 'priceTicks');
  } else if (r.priceTicks !== undefined) {
    throw venueReject('invalid_argument', 'priceTicks', 'market orders take no price');
  }
  return { priceTicks, sizeLots: positiveWhole(r.sizeLots, 'sizeLots') };
}

function positiveWhole(value: unknown, field: string): number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value <= 0) {
    throw venueReject('invalid_argument', field, `must be a positive safe integer, got ${String(value)}`);
  }
  return value;
}

/**
 * True when an order of whole lots (and, for a limit order, whole ticks) surely meets the
 * minimum size and notional, i.e. `checkMarketRules` with `minimumsOnly` passes: the same
 * comparisons in lots and tick x lot units (`InstrumentScale.minSizeLots`/`minNotionalUnits`),
 * exact. False: ask the Decimal check, which names the value. A market order is valued at the
 * mark (`markTicks`; with no mark at all the notional is not checked, as in core).
 */
export function meetsMinimums(
  scale: InstrumentScale,
  order: {
    readonly type: OrderType;
    readonly sizeLots: number;
    readonly priceTicks: number;
    readonly reduceOnly: boolean;
  },
  markTicks: number,
  hasMark: boolean,
): boolean {
  if (order.reduceOnly) return true;
  const { minSizeLots, minNotionalUnits } = scale;
  if (minSizeLots === undefined || minNotionalUnits === undefined) return false;
  if (order.sizeLots < minSizeLots) return false;
  if (minNotionalUnits === 0n || (order.type !== 'limit' && !hasMark)) return true;
  const ticks = order.type === 'limit' ? order.priceTicks : markTicks;
  return Number.isSafeInteger(ticks) && notionalUnits(order.sizeLots, ticks) >= minNotionalUnits;
}

/** A decimal from a request field (Decimal, numeric string or finite number), or an invalid_argument reject. */
export function decimalOrReject(value: unknown, field: string): Decimal {
  if (typeof value === 'bigint') throw venueReject('invalid_argument', field, 'not a decimal number');
  try {
    // Core's one strict grammar and limits (no spaces, no "+", no 1e9000000000000000).
    return parseDecimal(value, field);
  } catch (err) {
    const message =
      err instanceof ValidationError ? err.message.slice(field.length + 2) : 'not a decimal number';
    throw venueReject('invalid_argument', field, message);
  }
}

/** This venue's reject code for each core market rule. */
export const MARKET_RULE_REJECT: Readonly<Record<MarketRule, RejectCode>> = {
  tick: 'invalid_tick',
  lot: 'invalid_lot',
  min_size: 'below_min_size',
  min_notional: 'below_min_notional',
};

/**
 * Tick, lot, minimum size and minimum notional (size x limit price, or x `referencePrice`
 * (the mark) for a market order). Reduce-only orders are exempt from the minimums: they
 * may close a position smaller than the minimum.
 */
export function checkMarketRules(
  order: { readonly size: Decimal; readonly price: Decimal | undefined; readonly reduceOnly: boolean },
  spec: MarketRules,
  referencePrice: Decimal | undefined,
): void {
  const violation = marketRuleViolation({ size: order.size, price: order.price, referencePrice }, spec, {
    skipMinimums: order.reduceOnly,
  });
  if (violation) throw venueReject(MARKET_RULE_REJECT[violation.rule], violation.field, violation.message);
}

/**
 * The instrument's rules without the tick and lot checks (a zero step is not checked), for
 * an order already proven on the grid: its size is whole lots and its price whole ticks
 * (fixed.ts converts exactly, or not at all). The minimums are the same.
 */
export function minimumsOnly(spec: MarketRules): MarketRules {
  return { tickSize: ZERO, lotSize: ZERO, minSize: spec.minSize, minNotional: spec.minNotional };
}

export function checkMaxSize(size: Decimal, spec: InstrumentSpec): void {
  if (size.gt(spec.maxOrderSize)) {
    throw venueReject(
      'above_max_size',
      'size',
      `${size.toFixed()} is above max order size ${spec.maxOrderSize.toFixed()}`,
    );
  }
}

/** A reduce-only order must trade against the position: refused when flat or when it would increase it. */
export function checkReduceOnlyDirection(side: Side, position: Decimal): void {
  if (position.isZero() || position.isPos() === (side === 'buy')) {
    throw venueReject(
      'reduce_only_would_increase',
      'reduceOnly',
      `a reduce-only ${side} would ${position.isZero() ? 'open a position from flat' : 'increase the position'} (position ${position.toFixed()})`,
    );
  }
}

/** How much a reduce-only order of `side` may still fill against the signed `position` (0 when it cannot reduce). */
export function reduceOnlyCapacity(position: Decimal, side: Side): Decimal {
  if (position.isZero() || position.isPos() === (side === 'buy')) return ZERO;
  return position.abs();
}

/** A post-only limit order must not cross the best opposite price (`bestOpposite`, undefined when that side is empty). */
export function checkPostOnly(side: Side, price: Decimal, bestOpposite: Decimal | undefined): void {
  if (bestOpposite !== undefined && (side === 'buy' ? price.gte(bestOpposite) : price.lte(bestOpposite))) {
    throw venueReject(
      'post_only_would_cross',
      'price',
      `post-only ${side} at ${price.toFixed()} would cross the best ${side === 'buy' ? 'ask' : 'bid'} ${bestOpposite.toFixed()}`,
    );
  }
}

/** Worst price a market order may reach: mark x (1 ± band), rounded inward to the tick. */
export function protectionBandLimit(mark: Decimal, band: Decimal, tickSize: Decimal, side: Side): Decimal {
  return side === 'buy'
    ? roundToStep(mark.mul(band.plus(1)), tickSize, 'down')
    : roundToStep(mark.mul(new Decimal(1).minus(band)), tickSize, 'up');
}
