/**
 * What entry, management and adoption share within one decider step: the step type, a
 * venue's market as the arb reads it, the order request for one leg, and the inputs every
 * arb decision carries.
 */
import { type Decimal, dec, readingAgeMs, roundForReport, roundToStep, type Side } from '@perpmesh/core';
import type { PlaceRequest, Step } from '../../engine.js';
import {
  type BookState,
  type FundingState,
  type MarketState,
  marketKey,
  midOf,
  type OwnOrder,
  type WorldState,
} from '../../world.js';
import { type Arb, type ArbLeg, attachOrder, type FundingArbState, legOpenSize } from './arb-book.js';
import { BPS, type CarryVenue, ratePerHourOf, walkOnce } from './carry.js';
import type { FundingArbConfig } from './config.js';
import { arbExposures, legConversion, marketLegConversion, type SettleConversion } from './exposures.js';

export type ArbStep = Step<FundingArbState, FundingArbConfig>;

/** One configured venue's market, book and funding for an instrument, with the prices the arb uses. */
export interface VenueView extends CarryVenue {
  readonly venue: string;
  readonly account: string;
  readonly market: MarketState;
  readonly book: BookState;
  readonly funding: FundingState;
  /** How this leg's money (in its settle asset) converts into the arb's report currency (exposures.ts). */
  readonly conversion: SettleConversion;
}

/** The venue's view, or undefined when something is missing (or, with `requireFresh`, too old). */
export function venueView(
  step: ArbStep,
  venue: string,
  instrument: string,
  requireFresh: boolean,
): VenueView | undefined {
  const cfg = step.config.venues.find((v) => v.venue === venue);
  if (!cfg) return undefined;
  const key = marketKey(venue, instrument);
  const market = step.world.markets[key];
  const book = step.world.books[key];
  const funding = step.world.funding[key];
  if (!market || !book || !funding) return undefined;
  if (requireFresh) {
    // Age on our clock from when market data received it (core `readingAgeMs`): a reading that
    // sat in a queue is as old as its arrival there, and a venue clock's skew does not move it.
    if (readingAgeMs(book, step.nowMs) > step.config.maxBookAgeMs) return undefined;
    if (readingAgeMs(funding, step.nowMs) > step.config.maxFundingAgeMs) return undefined;
  }
  const mid = midOf(book);
  if (!mid) return undefined;
  return {
    venue,
    account: cfg.account,
    market,
    book,
    funding,
    ratePerHour: ratePerHourOf(funding),
    mid,
    mark: funding.markPrice ?? mid,
    // Every arb order is IOC or market (config.orderType): it takes, so it pays taker whatever feeMode says.
    feeRate: market.takerFeeRate,
    conversion: conversionOf(step.config, venue, instrument, step.world),
  };
}

/**
 * The conversion of a venue's instrument into the report currency of the exposure it is a
 * leg of (identity when none); with `world`, read from the legs' prices where the exposure
 * asks for it (`marketConversion`).
 */
export function conversionOf(
  config: FundingArbConfig,
  venue: string,
  instrument: string,
  world?: WorldState,
): SettleConversion {
  const exposure = arbExposures(config).find((e) => e.legs[venue] === instrument);
  if (!exposure)
    return legConversion({ id: instrument, legs: { [venue]: instrument }, settleConversion: {} }, [], venue);
  if (!world) return legConversion(exposure, config.venues, venue);
  return marketLegConversion(exposure, config.venues, venue, (v, i) => world.funding[marketKey(v, i)]);
}

/**
 * The view with every price in the arb's report currency (book levels, mid, mark, index):
 * money computed from it (notional, fees, slippage, funding) adds up across legs settled in
 * different assets. Orders and balances use the venue's own view.
 */
export function inReportCurrency(v: VenueView): VenueView {
  const rate = v.conversion.rate;
  if (rate.eq(1)) return v;
  const level = (l: { price: Decimal; size: Decimal }) => ({ ...l, price: l.price.mul(rate) });
  return {
    ...v,
    book: { ...v.book, bids: v.book.bids.map(level), asks: v.book.asks.map(level) },
    funding: {
      ...v.funding,
      ...(v.funding.markPrice ? { markPrice: v.funding.markPrice.mul(rate) } : {}),
      ...(v.funding.indexPrice ? { indexPrice: v.funding.indexPrice.mul(rate) } : {}),
    },
    mid: v.mid.mul(rate),
    mark: v.mark.mul(rate),
  };
}

/** A decimal for a message people read: at most REPORT_DECIMAL_PLACES places (state and inputs keep full precision). */
export function human(value: Decimal): string {
  return roundForReport(value).toFixed();
}

/** venueInputs per view: a view takes part in every pair of its instrument (speed only). */
const inputsByView = new WeakMap<VenueView, Readonly<Record<string, string>>>();

/** A venue's numbers as decision inputs, prefixed with the venue (`paper.rate_per_hour`). */
export function venueInputs(v: VenueView): Readonly<Record<string, string>> {
  const known = inputsByView.get(v);
  if (known !== undefined) return known;
  const p = `${v.venue}.`;
  const inputs = {
    [`${p}rate`]: v.funding.rate.toFixed(),
    [`${p}interval_ms`]: String(v.funding.intervalMs),
    [`${p}rate_per_hour`]: v.ratePerHour.toFixed(),
    [`${p}next_funding_time_ms`]: String(v.funding.nextFundingTimeMs),
    [`${p}mark`]: v.mark.toFixed(),
    [`${p}mid`]: v.mid.toFixed(),
    [`${p}fee_rate`]: v.feeRate.toFixed(),
    [`${p}instrument`]: v.market.instrument,
    [`${p}settle`]: v.conversion.from,
  };
  inputsByView.set(v, inputs);
  return inputs;
}

/** What an order on an existing leg needs: its market, and its book when there is one. */
export function legView(step: ArbStep, leg: ArbLeg) {
  const key = marketKey(leg.venue, leg.instrument);
  const market = step.world.markets[key];
  const book = step.world.books[key];
  return market ? { venue: leg.venue, account: leg.account, market, ...(book ? { book } : {}) } : undefined;
}

/** An order for one leg: market, or an IOC limit past the walked worst price by maxSlippageBps. */
export function legRequest(
  step: ArbStep,
  view: Pick<VenueView, 'venue' | 'account' | 'market'> & { book?: BookState },
  side: Side,
  size: Decimal,
  reduceOnly: boolean,
  role: string,
  arbId: string | undefined,
  worstPrice: Decimal | undefined,
): PlaceRequest {
  const base = {
    venue: view.venue,
    account: view.account,
    instrument: view.market.instrument,
    side,
    size,
    reduceOnly,
    role,
    group: arbId,
  };
  const worst = worstPrice ?? (view.book ? walkOnce(view.book, side, size).worstPrice : undefined);
  if (step.config.orderType === 'market' || !worst) {
    return { ...base, type: 'market', timeInForce: 'ioc', price: undefined };
  }
  const slip = step.config.maxSlippageBps.div(BPS);
  const price =
    side === 'buy'
      ? roundToStep(worst.mul(dec(1).plus(slip)), view.market.tickSize, 'up')
      : roundToStep(worst.mul(dec(1).minus(slip)), view.market.tickSize, 'down');
  return { ...base, type: 'limit', timeInForce: 'ioc', price };
}

/** Records placed orders on the arb, each with the mid of its venue's book now (the decision's mid). */
export function attachPlaced(step: ArbStep, arb: Arb, orders: ReadonlyArray<OwnOrder>): void {
  for (const o of orders) attachOrder(arb, o, midOf(step.world.books[marketKey(o.venue, o.instrument)]));
}

/** The inputs every decision about an arb carries: its legs, sizes and imbalance budget. */
export function arbInputs(step: ArbStep, arb: Arb): Record<string, string> {
  const shortSize = legOpenSize(arb.short);
  const longSize = legOpenSize(arb.long);
  return {
    arb_id: arb.arbId,
    instrument: arb.instrument,
    phase: arb.phase,
    short_venue: arb.short.venue,
    long_venue: arb.long.venue,
    target_size: arb.targetSize.toFixed(),
    short_size: shortSize.toFixed(),
    long_size: longSize.toFixed(),
    imbalance: shortSize.minus(longSize).toFixed(),
    imbalance_used_notional_seconds: arb.imbalanceUsedNotionalSeconds.toFixed(),
    imbalance_budget_notional_seconds: step.config.legImbalanceBudgetNotionalSeconds.toFixed(),
    imbalance_since_ms: arb.imbalanceSinceMs === undefined ? '' : String(arb.imbalanceSinceMs),
    hedge_attempts: String(arb.hedgeAttempts),
  };
}

/** A `signal` decision reported once per wait, not on every input while the wait lasts. */
export function noteOnce(
  step: ArbStep,
  arb: Arb,
  reasonCode: string,
  message: string,
  inputs: Record<string, string>,
): void {
  if (arb.lastNote === reasonCode) return;
  arb.lastNote = reasonCode;
  step.decide({ kind: 'signal', reasonCode, message, inputs });
}
