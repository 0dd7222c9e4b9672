/**
 * The money math of a funding arb, as pure functions: per-hour funding rates, the
 * expected carry of the settlements inside a holding window net of both legs' fees and
 * walked-book slippage (entry and exit), break-even time, settlement payments, the value
 * of staying, and the marked PnL of closing now.
 *
 * Amounts are quote currency; a cost is positive when we pay it.
 */
import {
  type BookWalk,
  type Decimal,
  dec,
  fundingPayment,
  fundingRatePerHour,
  maxDec,
  minDec,
  type Side,
  ZERO,
} from '@perpmesh/core';
import { type BookState, type FundingState, walk } from '../../world.js';

/** Basis points per unit. */
export const BPS = dec(10_000);

/**
 * A venue's funding rate per hour: its rate divided by ITS OWN interval, never an assumed
 * 8 h (a raw 8 h rate next to a raw 1 h rate says nothing).
 */
export function ratePerHourOf(funding: Pick<FundingState, 'rate' | 'intervalMs'>): Decimal {
  return fundingRatePerHour(funding.rate, { intervalMs: funding.intervalMs });
}

/** The pair with the widest per-hour spread: short where the rate is highest, long where it is lowest. */
export function widestSpreadPair<V extends { readonly ratePerHour: Decimal }>(
  views: readonly V[],
): { short: V; long: V; spread: Decimal } | undefined {
  let best: { short: V; long: V; spread: Decimal } | undefined;
  for (const a of views) {
    for (const b of views) {
      if (a === b) continue;
      const spread = a.ratePerHour.minus(b.ratePerHour);
      if (!best || spread.gt(best.spread)) best = { short: a, long: b, spread };
    }
  }
  return best;
}

/** The smallest size that is a whole number of lots on both venues (their least common multiple). */
export function commonLotSize(a: Decimal, b: Decimal): Decimal {
  // Every pair costing asks for the same few lot pairs (speed only; bounded, lots come from markets).
  const key = `${a.toString()}|${b.toString()}`;
  const known = commonLots.get(key);
  if (known !== undefined) return known;
  if (commonLots.size >= 256) commonLots.clear();
  const lot = leastCommonMultiple(a, b);
  commonLots.set(key, lot);
  return lot;
}

const commonLots = new Map<string, Decimal>();

function leastCommonMultiple(a: Decimal, b: Decimal): Decimal {
  const places = Math.max(a.decimalPlaces(), b.decimalPlaces());
  const scale = dec(10).pow(places);
  const ai = BigInt(a.mul(scale).toFixed(0));
  const bi = BigInt(b.mul(scale).toFixed(0));
  let x = ai;
  let y = bi;
  while (y !== 0n) [x, y] = [y, x % y];
  return dec(((ai / x) * bi).toString()).div(scale);
}

/** One venue's book with the prices and fee rate the estimate uses. */
export interface PricedBook {
  readonly book: BookState;
  readonly mid: Decimal;
  readonly feeRate: Decimal;
}

export interface TakeCost {
  /** The fee on the walked notional. */
  readonly fee: Decimal;
  /** How much worse than mid the walked average price is, times the size. */
  readonly slippage: Decimal;
  /** The last (worst) price level the walk reached. */
  readonly worst: Decimal;
}

/**
 * What is known about one book's levels: its walks by side and size, and its two-way
 * depth. One decider step costs every venue pair (and ranks instruments first), walking
 * each book with the same sizes many times, and every input's step sees the same books
 * again (copied, but holding the same Decimal objects: Decimals are immutable and the
 * step's copy shares them). So a book is recognised by its levels' Decimal objects: the
 * same objects in the same places are the same levels, and what was computed from them
 * holds. Speed only: the same results as computing them afresh.
 */
interface KnownBook {
  /** Bid prices and sizes, then ask prices and sizes, as the objects the levels held. */
  readonly refs: readonly Decimal[];
  readonly bidCount: number;
  readonly walks: Map<string, BookWalk>;
  fillable?: Decimal;
}

/** Keyed by the book's first level price object (weakly: entries go with the Decimals). */
const knownBooks = new WeakMap<Decimal, KnownBook>();

function sameLevels(known: KnownBook, book: BookState): boolean {
  if (known.bidCount !== book.bids.length || known.refs.length !== 2 * (book.bids.length + book.asks.length))
    return false;
  let i = 0;
  for (const levels of [book.bids, book.asks]) {
    for (const level of levels) {
      if (known.refs[i] !== level.price || known.refs[i + 1] !== level.size) return false;
      i += 2;
    }
  }
  return true;
}

function knownBook(book: BookState): KnownBook | undefined {
  const first = book.bids[0]?.price ?? book.asks[0]?.price;
  if (first === undefined) return undefined;
  const known = knownBooks.get(first);
  if (known !== undefined && sameLevels(known, book)) return known;
  const fresh: KnownBook = {
    refs: [...book.bids, ...book.asks].flatMap((l) => [l.price, l.size]),
    bidCount: book.bids.length,
    walks: new Map(),
  };
  knownBooks.set(first, fresh);
  return fresh;
}

/** `walk`, remembered per book levels, side and size. */
export function walkOnce(book: BookState, side: Side, size: Decimal): BookWalk {
  const known = knownBook(book);
  if (known === undefined) return walk(book, side, size);
  const key = `${side}${size.toString()}`;
  let result = known.walks.get(key);
  if (result === undefined) {
    result = walk(book, side, size);
    known.walks.set(key, result);
  }
  return result;
}

/** Fees and slippage of taking `size` on one venue, as cost (positive = we pay); undefined if the book is too thin. */
export function takeCost(v: PricedBook, side: Side, size: Decimal): TakeCost | undefined {
  const w = walkOnce(v.book, side, size);
  if (!w.unfilled.isZero() || !w.vwap || !w.worstPrice) return undefined;
  const slippage = side === 'buy' ? w.vwap.minus(v.mid).mul(size) : v.mid.minus(w.vwap).mul(size);
  return { fee: w.notional.mul(v.feeRate), slippage, worst: w.worstPrice };
}

/** A venue as the carry estimate sees it: its book, fee, rate per hour, mark and funding schedule. */
export interface CarryVenue extends PricedBook {
  readonly ratePerHour: Decimal;
  readonly mark: Decimal;
  readonly funding: Pick<FundingState, 'rate' | 'intervalMs' | 'nextFundingTimeMs'>;
}

/**
 * How many of a venue's settlements fall in (fromMs, toMs]: the next one at
 * `nextFundingTimeMs` (rolled forward by whole intervals if it is already past), then one
 * every `intervalMs`. A position opened just after a settlement on an 8 h venue sees none
 * for eight hours.
 */
export function settlementsWithin(
  schedule: Pick<FundingState, 'intervalMs' | 'nextFundingTimeMs'>,
  fromMs: number,
  toMs: number,
): number {
  if (toMs <= fromMs) return 0;
  const interval = schedule.intervalMs;
  let next = schedule.nextFundingTimeMs;
  if (next <= fromMs) next += (Math.floor((fromMs - next) / interval) + 1) * interval;
  if (next > toMs) return 0;
  return Math.floor((toMs - next) / interval) + 1;
}

/** One leg's funding over a window: its settlements in the window, each paying at the current rate and mark. */
export interface LegFunding {
  readonly settlements: number;
  /** Received (positive) or paid (negative) over the window. */
  readonly amount: Decimal;
}

/** What a leg of `signedSize` receives from the settlements of its venue in (fromMs, fromMs + horizonMs]. */
export function legFundingOver(
  venue: Pick<CarryVenue, 'funding' | 'mark'>,
  signedSize: Decimal,
  fromMs: number,
  horizonMs: number,
): LegFunding {
  const settlements = settlementsWithin(venue.funding, fromMs, fromMs + horizonMs);
  const amount = settlementPayment(signedSize, venue.mark, venue.funding.rate).mul(settlements);
  return { settlements, amount };
}

/** The window the carry is estimated over: from now, for the horizon (already capped to the max holding time). */
export interface CarryWindow {
  readonly nowMs: number;
  readonly horizonMs: number;
}

export interface CarryEstimate {
  /** Funding both legs receive from the settlements that fall inside the window, at the current rates and marks. */
  readonly grossCarry: Decimal;
  readonly shortFunding: LegFunding;
  readonly longFunding: LegFunding;
  readonly entryFees: Decimal;
  readonly exitFees: Decimal;
  readonly entrySlippage: Decimal;
  readonly exitSlippage: Decimal;
  /** Gross carry minus entry and exit fees and slippage of both legs. */
  readonly netCarry: Decimal;
  /** The walked worst prices of the entry orders (sell on the short venue, buy on the long one). */
  readonly shortWorst: Decimal;
  readonly longWorst: Decimal;
}

/**
 * Expected carry of holding `size` short on `short` and long on `long` over the window,
 * counting each venue's settlements that fall inside it, net of both legs' fees and
 * slippage walked on the live books, entering AND exiting; undefined when a book cannot
 * fill `size` in either direction.
 */
export function estimateCarry(
  short: CarryVenue,
  long: CarryVenue,
  size: Decimal,
  window: CarryWindow,
): CarryEstimate | undefined {
  const shortIn = takeCost(short, 'sell', size);
  const longIn = takeCost(long, 'buy', size);
  const shortOut = takeCost(short, 'buy', size);
  const longOut = takeCost(long, 'sell', size);
  if (!shortIn || !longIn || !shortOut || !longOut) return undefined;
  const shortFunding = legFundingOver(short, size.neg(), window.nowMs, window.horizonMs);
  const longFunding = legFundingOver(long, size, window.nowMs, window.horizonMs);
  const grossCarry = shortFunding.amount.plus(longFunding.amount);
  const entryFees = shortIn.fee.plus(longIn.fee);
  const exitFees = shortOut.fee.plus(longOut.fee);
  const entrySlippage = shortIn.slippage.plus(longIn.slippage);
  const exitSlippage = shortOut.slippage.plus(longOut.slippage);
  const netCarry = grossCarry.minus(entryFees).minus(exitFees).minus(entrySlippage).minus(exitSlippage);
  return {
    grossCarry,
    shortFunding,
    longFunding,
    entryFees,
    exitFees,
    entrySlippage,
    exitSlippage,
    netCarry,
    shortWorst: shortIn.worst,
    longWorst: longIn.worst,
  };
}

/** What a book can fill on both sides: the smaller of its visible bid and ask sizes (an arb enters one way and exits the other). */
export function fillableBothWays(book: BookState): Decimal {
  const known = knownBook(book);
  if (known?.fillable !== undefined) return known.fillable;
  const total = (levels: BookState['bids']) => levels.reduce((sum, l) => sum.plus(l.size), ZERO);
  const fillable = minDec(total(book.bids), total(book.asks));
  if (known !== undefined) known.fillable = fillable;
  return fillable;
}

/** What `size` short on `short` and long on `long` earns per hour at the current per-hour rates and marks. */
export function carryPerHour(
  short: Pick<CarryVenue, 'ratePerHour' | 'mark'>,
  long: Pick<CarryVenue, 'ratePerHour' | 'mark'>,
  size: Decimal,
): Decimal {
  return short.ratePerHour.mul(short.mark).minus(long.ratePerHour.mul(long.mark)).mul(size);
}

/**
 * Hours of funding at the current per-hour rates needed to pay `costs` (fees and slippage,
 * entry and exit); undefined when the pair earns nothing per hour (it never breaks even).
 */
export function breakEvenHours(
  short: Pick<CarryVenue, 'ratePerHour' | 'mark'>,
  long: Pick<CarryVenue, 'ratePerHour' | 'mark'>,
  size: Decimal,
  costs: Decimal,
): Decimal | undefined {
  const perHour = carryPerHour(short, long, size);
  if (!perHour.gt(0)) return undefined;
  return maxDec(costs, ZERO).div(perHour);
}

/**
 * What a position of `signedSize` receives at a settlement of `rate` (negative = it pays):
 * longs pay a positive rate. Core's one formula (`fundingPayment`), under the name the
 * carry math reads it by.
 */
export const settlementPayment: (signedSize: Decimal, mark: Decimal, rate: Decimal) => Decimal =
  fundingPayment;

/** A venue whose next settlement may fall within the guard window. */
export interface SettlingVenue {
  readonly venue: string;
  readonly funding: Pick<FundingState, 'rate' | 'nextFundingTimeMs'>;
  readonly mark: Decimal;
}

/** Funding each leg pays or receives at its venue's next settlement if that falls within the guard window. */
export function imminentSettlement(
  legs: ReadonlyArray<{ view: SettlingVenue | undefined; signedSize: Decimal }>,
  nowMs: number,
  guardMs: number,
): { net: Decimal; inputs: Record<string, string> } {
  let net = ZERO;
  const inputs: Record<string, string> = {};
  for (const { view, signedSize } of legs) {
    if (!view) continue;
    const untilMs = view.funding.nextFundingTimeMs - nowMs;
    if (untilMs <= 0 || untilMs > guardMs) continue;
    const payment = settlementPayment(signedSize, view.mark, view.funding.rate);
    inputs[`${view.venue}.next_settlement_in_ms`] = String(untilMs);
    inputs[`${view.venue}.next_settlement_payment`] = payment.toFixed();
    net = net.plus(payment);
  }
  inputs.imminent_settlement_net = net.toFixed();
  return { net, inputs };
}

/** A leg of an open arb as the stay value sees it: its venue's schedule and mark, and its signed size. */
export interface StayingLeg {
  readonly view: Pick<CarryVenue, 'funding' | 'mark'>;
  readonly signedSize: Decimal;
}

/**
 * What staying `remainingMs` longer is expected to earn: per leg, the settlements of its
 * venue that actually fall inside (nowMs, nowMs + remainingMs] at the current rate and
 * mark (as carry counts them for entry), not the per-hour spread times the time left. A
 * leg whose next settlement is `excludeNextWithinMs` away or less leaves that one out: it
 * is the imminent payment the caller weighs against this value. May be negative.
 */
export function stayValue(
  legs: ReadonlyArray<StayingLeg>,
  nowMs: number,
  remainingMs: number,
  excludeNextWithinMs = 0,
): Decimal {
  const endMs = nowMs + Math.max(0, remainingMs);
  let value = ZERO;
  for (const { view, signedSize } of legs) {
    const next = view.funding.nextFundingTimeMs;
    const fromMs = next > nowMs && next - nowMs <= excludeNextWithinMs ? next : nowMs;
    value = value.plus(legFundingOver(view, signedSize, fromMs, endMs - fromMs).amount);
  }
  return value;
}

/** A leg's accounting (core position state) and the venue it is marked on. */
export interface MarkedLeg {
  readonly position: {
    readonly size: Decimal;
    readonly entryPrice?: Decimal | undefined;
    readonly netRealizedPnl: Decimal;
  };
  readonly view: PricedBook;
}

/** Realized + unrealized (at mid) + funding of both legs, minus fees and slippage of closing `size` now. */
export function markedPnlAfterExit(short: MarkedLeg, long: MarkedLeg, size: Decimal): Decimal | undefined {
  const shortOut = takeCost(short.view, 'buy', size);
  const longOut = takeCost(long.view, 'sell', size);
  if (!shortOut || !longOut) return undefined;
  let pnl = ZERO;
  for (const { position: p, view } of [short, long]) {
    const unrealized = p.entryPrice ? view.mid.minus(p.entryPrice).mul(p.size) : ZERO;
    pnl = pnl.plus(p.netRealizedPnl).plus(unrealized);
  }
  return pnl.minus(shortOut.fee).minus(longOut.fee).minus(shortOut.slippage).minus(longOut.slippage);
}
