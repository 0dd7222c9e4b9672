/**
 * Pre-trade risk, shared by every strategy. `checkOrder` looks at one order against the
 * world the strategy knows and says allowed (possibly with a capped size) or denied with
 * a reason code. It runs before any command exists: a denied order is a `deny` decision
 * and never reaches the execution service.
 *
 * Checks, in order:
 * 1. trading state: HALTED places nothing; REDUCING only reduce-only orders;
 * 2. reduce-only orders must reduce an existing position and are capped to what is left
 *    of it after our other open reduce-only orders, so a close never opens or flips;
 * 3. order rate (token bucket over the inputs' nowMs);
 * 4. for the part that opens or adds: lot, tick and minimums; a fresh balance; margin
 *    (notional / leverage + taker fee) within the AVAILABLE balance after what our open
 *    orders already reserve; notional per instrument and per venue; account leverage.
 */
import {
  type Decimal,
  type MarketRule,
  marketRuleViolation,
  minDec,
  readingAgeMs,
  roundToStep,
  type Side,
  ZERO,
} from '@perpmesh/core';
import { z } from 'zod';
import { configDecimal, configDuration, positiveConfigDecimal } from './codec.js';
import type { OrderIntent } from './model.js';
import {
  accountKey,
  isOpenOrder,
  marketKey,
  markPrice,
  positionSize,
  referencePrice,
  remainingOf,
  type WorldState,
} from './world.js';

export const riskConfigSchema = z.object({
  /** Leverage used to compute an order's margin; the venue's own cap applies if lower. */
  leverage: positiveConfigDecimal,
  /** Cap on (gross position notional + open orders) / equity per venue account. */
  maxLeverage: positiveConfigDecimal,
  /** Cap on |position + same-direction open orders + this order| x price per venue and instrument. */
  maxNotionalPerInstrument: positiveConfigDecimal,
  /** Cap on the gross notional of positions and open orders on one venue. */
  maxNotionalPerVenue: positiveConfigDecimal,
  /** Token bucket: burst size and refill rate (orders per second). */
  orderRateCapacity: z.int().min(1).default(10),
  orderRatePerSecond: z.number().positive().default(2),
  /** A balance older than this (core `readingAgeMs` at the input's nowMs) is stale: no opening orders. */
  maxBalanceAgeMs: configDuration.default(60_000),
  /** Fraction of the available balance orders may use (headroom for price moves and fees). */
  availableBalanceUsage: configDecimal
    .refine((d) => d.gt(0) && d.lte(1), { error: 'must be greater than 0 and at most 1' })
    .prefault('1'),
});
export type RiskConfig = z.output<typeof riskConfigSchema>;

export type RiskReasonCode =
  | 'halted'
  | 'reducing_only'
  | 'no_position_to_reduce'
  | 'rate_limited'
  | 'unknown_market'
  | 'size_not_multiple_of_lot'
  | 'price_not_multiple_of_tick'
  | 'below_min_size'
  | 'below_min_notional'
  | 'no_reference_price'
  | 'unknown_balance'
  | 'stale_balance'
  | 'insufficient_available_balance'
  | 'max_notional_instrument'
  | 'max_notional_venue'
  | 'max_leverage';

/** A broken market rule as a risk reason code (the codes predate the shared check). */
const REASON_OF_RULE: Record<MarketRule, RiskReasonCode> = {
  lot: 'size_not_multiple_of_lot',
  tick: 'price_not_multiple_of_tick',
  min_size: 'below_min_size',
  min_notional: 'below_min_notional',
};

/** An order before it has a client order id. */
export type OrderRequest = Omit<OrderIntent, 'clientOrderId'>;

export type RiskVerdict =
  | {
      readonly allowed: true;
      /** The order to send: the same as asked, or with a reduce-only size capped to the position. */
      readonly order: OrderRequest;
      readonly capped: boolean;
      readonly inputs: Record<string, string>;
    }
  | {
      readonly allowed: false;
      readonly reasonCode: RiskReasonCode;
      readonly message: string;
      readonly inputs: Record<string, string>;
    };

/** Refills the order-rate bucket up to `nowMs`. Mutates the world (it is the step's draft). */
export function refillTokens(world: WorldState, risk: RiskConfig, nowMs: number): void {
  const elapsedMs = Math.max(0, nowMs - world.rateUpdatedAtMs);
  world.rateTokens = Math.min(
    risk.orderRateCapacity,
    world.rateTokens + (elapsedMs * risk.orderRatePerSecond) / 1000,
  );
  world.rateUpdatedAtMs = Math.max(world.rateUpdatedAtMs, nowMs);
}

export function consumeToken(world: WorldState): void {
  world.rateTokens = Math.max(0, world.rateTokens - 1);
}

/**
 * Checks one order. `pending` are orders of the same batch already allowed but not yet in
 * the world (two arb legs are checked together): they count against tokens, balance and
 * notional as if placed. Call `refillTokens` first. Pure: reads `world`, changes nothing.
 */
export function checkOrder(
  world: WorldState,
  request: OrderRequest,
  risk: RiskConfig,
  pending: ReadonlyArray<OrderRequest> = [],
): RiskVerdict {
  const inputs: Record<string, string> = {
    venue: request.venue,
    account: request.account,
    instrument: request.instrument,
    side: request.side,
    type: request.type,
    size: request.size.toFixed(),
    price: request.price?.toFixed() ?? '',
    reduce_only: String(request.reduceOnly),
    trading_state: world.tradingState,
  };
  const deny = (reasonCode: RiskReasonCode, message: string): RiskVerdict => ({
    allowed: false,
    reasonCode,
    message,
    inputs,
  });

  if (world.tradingState === 'halted') return deny('halted', 'trading is HALTED: no orders');
  if (world.tradingState === 'reducing' && !request.reduceOnly) {
    return deny('reducing_only', 'trading is REDUCING: only reduce-only orders');
  }

  const key = marketKey(request.venue, request.instrument);
  const market = world.markets[key];
  if (!market) return deny('unknown_market', `no market info for ${request.venue} ${request.instrument}`);

  const position = positionSize(world, request.venue, request.account, request.instrument);
  inputs.position_size = position.toFixed();
  const signed = request.side === 'buy' ? request.size : request.size.neg();
  const reduces = !position.isZero() && position.isPos() !== signed.isPos();

  let order = request;
  let capped = false;
  let openingSize: Decimal;
  if (request.reduceOnly) {
    if (!reduces) {
      return deny(
        'no_position_to_reduce',
        `reduce-only ${request.side} but the position is ${position.toFixed()}`,
      );
    }
    // Other open reduce-only orders on the same position already claim part of it.
    const claimed = sameKeyOrders(world, pending, request)
      .filter((o) => o.reduceOnly && o.side === request.side)
      .reduce((sum, o) => sum.plus(o.remaining), ZERO);
    const left = position.abs().minus(claimed);
    const size = roundToStep(minDec(request.size, left), market.lotSize, 'down');
    inputs.claimed_by_open_reduce_only = claimed.toFixed();
    if (!size.gt(0)) {
      return deny(
        'no_position_to_reduce',
        `nothing left to reduce: position ${position.abs().toFixed()}, open reduce-only ${claimed.toFixed()}`,
      );
    }
    capped = size.lt(request.size);
    if (capped) {
      order = { ...request, size };
      inputs.capped_size = size.toFixed();
    }
    openingSize = ZERO;
  } else {
    openingSize = reduces ? request.size.minus(minDec(request.size, position.abs())) : request.size;
  }

  inputs.rate_tokens = world.rateTokens.toFixed(3);
  if (world.rateTokens < pending.length + 1) {
    return deny('rate_limited', `order rate limit: ${world.rateTokens.toFixed(3)} tokens left`);
  }

  if (openingSize.gt(0)) {
    const price = referencePrice(world, order);
    if (price) inputs.reference_price = price.toFixed();
    // The venue's rules, checked by the one core function execution and the sim exchange call too.
    const violation = marketRuleViolation(
      { size: order.size, price: order.price, referencePrice: price },
      market,
    );
    if (violation) return deny(REASON_OF_RULE[violation.rule], violation.message);
    if (!price) return deny('no_reference_price', 'no limit price, book or mark to value the order');

    const balance = world.balances[accountKey(order.venue, order.account)];
    if (!balance) return deny('unknown_balance', `no balance known for ${order.venue}/${order.account}`);
    const ageMs = readingAgeMs(balance, world.nowMs);
    inputs.balance_available = balance.available.toFixed();
    inputs.balance_equity = balance.equity.toFixed();
    inputs.balance_age_ms = String(ageMs);
    if (balance.stale || ageMs > risk.maxBalanceAgeMs) {
      return deny('stale_balance', `balance is stale (age ${ageMs} ms, flagged ${balance.stale})`);
    }

    const leverage = minDec(risk.leverage, market.maxLeverage);
    const openingNotional = openingSize.mul(price);
    const required = openingNotional.div(leverage).plus(openingNotional.mul(market.takerFeeRate.abs()));
    const reserved = accountOrders(world, pending, order.venue, order.account)
      .filter((o) => !o.reduceOnly)
      .reduce((sum, o) => {
        const m = world.markets[marketKey(o.venue, o.instrument)];
        const lev = m ? minDec(risk.leverage, m.maxLeverage) : risk.leverage;
        return sum.plus(o.remaining.mul(o.price ?? price).div(lev));
      }, ZERO);
    const usable = balance.available.mul(risk.availableBalanceUsage).minus(reserved);
    inputs.leverage = leverage.toFixed();
    inputs.required_margin = required.toFixed();
    inputs.reserved_by_open_orders = reserved.toFixed();
    inputs.usable_available = usable.toFixed();
    if (required.gt(usable)) {
      return deny(
        'insufficient_available_balance',
        `needs ${required.toFixed()} margin+fee, available ${balance.available.toFixed()} (usable ${usable.toFixed()})`,
      );
    }

    const sameDirection = sameKeyOrders(world, pending, order)
      .filter((o) => !o.reduceOnly && o.side === order.side)
      .reduce((sum, o) => sum.plus(o.remaining), ZERO);
    const exposure = position.plus(signed).plus(order.side === 'buy' ? sameDirection : sameDirection.neg());
    const instrumentNotional = exposure.abs().mul(price);
    inputs.instrument_notional_after = instrumentNotional.toFixed();
    if (instrumentNotional.gt(risk.maxNotionalPerInstrument)) {
      return deny(
        'max_notional_instrument',
        `${order.instrument} notional ${instrumentNotional.toFixed()} > limit ${risk.maxNotionalPerInstrument.toFixed()}`,
      );
    }

    const venueGross = venueGrossNotional(world, pending, order.venue, order.account, price, order).plus(
      openingNotional,
    );
    inputs.venue_notional_after = venueGross.toFixed();
    if (venueGross.gt(risk.maxNotionalPerVenue)) {
      return deny(
        'max_notional_venue',
        `${order.venue} notional ${venueGross.toFixed()} > limit ${risk.maxNotionalPerVenue.toFixed()}`,
      );
    }
    const accountLeverage = balance.equity.gt(0) ? venueGross.div(balance.equity) : undefined;
    inputs.account_leverage_after = accountLeverage?.toFixed(6) ?? 'infinite';
    if (accountLeverage === undefined || accountLeverage.gt(risk.maxLeverage)) {
      return deny(
        'max_leverage',
        `account leverage ${accountLeverage?.toFixed(4) ?? 'infinite'} > limit ${risk.maxLeverage.toFixed()}`,
      );
    }
  }
  return { allowed: true, order, capped, inputs };
}

interface OpenExposure {
  readonly venue: string;
  readonly account: string;
  readonly instrument: string;
  readonly side: Side;
  readonly reduceOnly: boolean;
  readonly remaining: Decimal;
  readonly price: Decimal | undefined;
}

function exposuresOf(world: WorldState, pending: ReadonlyArray<OrderRequest>): OpenExposure[] {
  const open = Object.values(world.orders)
    .filter(isOpenOrder)
    .map((o) => ({ ...o, remaining: remainingOf(o), price: o.price }));
  return [...open, ...pending.map((p) => ({ ...p, remaining: p.size }))];
}

function sameKeyOrders(
  world: WorldState,
  pending: ReadonlyArray<OrderRequest>,
  order: Pick<OrderRequest, 'venue' | 'account' | 'instrument'>,
): OpenExposure[] {
  return exposuresOf(world, pending).filter(
    (o) => o.venue === order.venue && o.account === order.account && o.instrument === order.instrument,
  );
}

function accountOrders(
  world: WorldState,
  pending: ReadonlyArray<OrderRequest>,
  venue: string,
  account: string,
) {
  return exposuresOf(world, pending).filter((o) => o.venue === venue && o.account === account);
}

/** Gross notional of positions and opening orders on a venue account, marked at the best price we know. */
function venueGrossNotional(
  world: WorldState,
  pending: ReadonlyArray<OrderRequest>,
  venue: string,
  account: string,
  fallbackPrice: Decimal,
  order: OrderRequest,
): Decimal {
  let total = ZERO;
  const prefix = `${venue}|${account}|`;
  for (const [key, p] of Object.entries(world.positions)) {
    if (!key.startsWith(prefix) || p.size.isZero()) continue;
    const instrument = key.slice(prefix.length);
    const mark =
      markPrice(world, venue, account, instrument) ??
      (instrument === order.instrument ? fallbackPrice : p.entryPrice);
    if (mark) total = total.plus(p.size.abs().mul(mark));
  }
  for (const o of accountOrders(world, pending, venue, account)) {
    if (o.reduceOnly) continue;
    const price = o.price ?? referencePrice(world, o) ?? fallbackPrice;
    total = total.plus(o.remaining.mul(price));
  }
  return total;
}

/** The key used in decision inputs for a market; exported so strategies name inputs the same way. */
export const inputKey = (venue: string, instrument: string, name: string): string =>
  `${venue}.${instrument}.${name}`;
