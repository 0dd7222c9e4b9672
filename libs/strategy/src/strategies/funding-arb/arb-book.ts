/**
 * The arb book: the funding-arb strategy's own state (legs with their orders, fills, fees
 * and funding, the entry's expectations, the phase), its codec, and the pure operations
 * on it. It is part of the serialized state; restoring it and continuing gives the same
 * decisions.
 */
import {
  applyFill,
  applyFunding,
  type Decimal,
  FLAT_POSITION,
  maxDec,
  minDec,
  ONE,
  type PositionState,
  type Side,
  ZERO,
} from '@perpmesh/core';
import { z } from 'zod';
import { decimalCodec, msSchema } from '../../codec.js';
import type { StrategyInput } from '../../model.js';
import { type FactResult, type OwnOrder, positionSize, type WorldState } from '../../world.js';
import { marketReadingsCodec } from './funding-history.js';

const positionStateCodec = z.object({
  size: decimalCodec,
  side: z.enum(['long', 'short', 'flat']),
  entryPrice: decimalCodec.optional(),
  tradingPnl: decimalCodec,
  fees: decimalCodec,
  funding: decimalCodec,
  realizedPnl: decimalCodec,
  netRealizedPnl: decimalCodec,
  markPrice: decimalCodec.optional(),
  unrealizedPnl: decimalCodec,
  updatedAtMs: msSchema.optional(),
});

const legOrderCodec = z.object({
  side: z.enum(['buy', 'sell']),
  filled: decimalCodec,
  role: z.string(),
  /** The venue's book mid when the decision placed it: slippage is measured against it. */
  refMid: decimalCodec.optional(),
  /**
   * Set at start for an order the venue no longer listed: the venue position the leg then
   * took holds all it filled, so its size moved into the leg's `adoptedSize` and fills
   * reported later (replayed) do not move the leg again. The value is the part of that size
   * the leg's accounting has no fill for yet (booked as its fills arrive).
   */
  inAdoptedSize: decimalCodec.optional(),
});

const fundingSettlementCodec = z.object({
  fundingTimeMs: msSchema,
  /** Received (positive) or paid (negative). */
  settled: decimalCodec,
  /** What the last reading before the payment predicted (rate x mark x size); absent without a reading. */
  predicted: decimalCodec.optional(),
  rate: decimalCodec.optional(),
  mark: decimalCodec.optional(),
});
export type FundingSettlement = z.output<typeof fundingSettlementCodec>;

/** Settlements kept per leg: an 8 h venue for 60 days, an hourly one for 10 days. */
export const MAX_FUNDING_HISTORY = 240;

const legCodec = z.object({
  venue: z.string(),
  account: z.string(),
  instrument: z.string(),
  /** sell for the short leg, buy for the long leg. */
  entrySide: z.enum(['buy', 'sell']),
  /** Signed size taken from the venue at start: adopted positions, and orders done by then (`inAdoptedSize`). */
  adoptedSize: decimalCodec,
  /** Every order of this leg with its cumulative filled size: the leg's size is their signed sum (but those `inAdoptedSize`) plus `adoptedSize`. */
  orders: z.record(z.string(), legOrderCodec),
  /** Money from our fills and funding payments (core position accounting). */
  position: positionStateCodec,
  /** What fills cost against the mid of the decision that placed them (positive = worse than mid). */
  slippage: decimalCodec.optional(),
  /** What the settled payments were predicted to be (the last funding reading before each): compare with position.funding. */
  fundingPredicted: decimalCodec.optional(),
  /** How many funding payments the leg has settled. */
  settlements: z.int().min(0).optional(),
  /** The leg's funding history: each settled payment next to the reading that predicted it (bounded, oldest first). */
  fundingHistory: z.array(fundingSettlementCodec).optional(),
  lastOrderAtMs: msSchema.optional(),
  /**
   * 1 unit of this leg's settle asset in the arb's report currency, as the entry assumed
   * (exposures.ts); absent when the legs settle in the same asset (rate 1). The leg's own
   * numbers stay in its settle asset; the arb's totals are converted.
   */
  reportRate: decimalCodec.optional(),
});
export type ArbLeg = z.output<typeof legCodec>;

export const ARB_PHASES = ['entering', 'open', 'exiting', 'unwinding', 'closed'] as const;
/** idle (no arb for the instrument) -> entering -> open -> exiting -> closed; entering/open -> unwinding -> open | closed. */
export type ArbPhase = (typeof ARB_PHASES)[number];

const arbCodec = z.object({
  arbId: z.string(),
  /** The arb's key: the instrument, or the exposure id whose legs trade their own instruments (`leg.instrument`). */
  instrument: z.string(),
  phase: z.enum(ARB_PHASES),
  short: legCodec,
  long: legCodec,
  targetSize: decimalCodec,
  lotSize: decimalCodec,
  /** What the entry expected (the numbers of the enter decision). */
  entry: z.record(z.string(), z.string()),
  expectedNetCarry: decimalCodec,
  startedAtMs: msSchema,
  openedAtMs: msSchema.optional(),
  imbalanceUsedNotionalSeconds: decimalCodec,
  imbalanceCheckedAtMs: msSchema.optional(),
  /** The unhedged size as of `imbalanceCheckedAtMs`: what the time until the next check is charged for. */
  imbalanceSize: decimalCodec.optional(),
  /** When the current imbalance began (absent while the legs match). */
  imbalanceSinceMs: msSchema.optional(),
  hedgeAttempts: z.int().min(0),
  lastActionAtMs: msSchema.optional(),
  exitReason: z.string().optional(),
  exitDeferredReason: z.string().optional(),
  /** When that exit was first deferred: it is deferred for one guard window at most. */
  exitDeferredAtMs: msSchema.optional(),
  /** The last `signal` reason emitted by noteOnce (so a wait is reported once, not every input). */
  lastNote: z.string().optional(),
  closedAtMs: msSchema.optional(),
  closeReason: z.string().optional(),
  /** Filled at close: per-leg and total trading PnL, fees, funding, net. */
  result: z.record(z.string(), z.string()).optional(),
});
export type Arb = z.output<typeof arbCodec>;

export const fundingArbStateCodec = z.object({
  /** Active arbs by instrument (at most one per instrument). */
  arbs: z.record(z.string(), arbCodec),
  /** Finished arbs, newest last (bounded). */
  closed: z.array(arbCodec),
  arbSeq: z.int().min(0),
  /** Entry condition currently holding, per instrument: which pair and since when. */
  candidates: z.record(z.string(), z.object({ pair: z.string(), sinceMs: msSchema })),
  lastSkip: z.record(z.string(), z.object({ reasonCode: z.string(), atMs: msSchema })),
  /** The entry circuit breaker (breaker.ts): realized net of closed arbs, its peak, the losing streak, a trip. */
  breaker: z
    .object({
      realizedNet: decimalCodec,
      peakNet: decimalCodec,
      consecutiveLosses: z.int().min(0),
      tripped: z.object({ reasonCode: z.string(), message: z.string(), atMs: msSchema }).optional(),
    })
    .optional(),
  /** Alarms currently raised (alarms.ts), by incident key: one decision when raised, one when cleared. */
  alarms: z
    .record(z.string(), z.object({ name: z.string(), sinceMs: msSchema, message: z.string().optional() }))
    .optional(),
  /** Each configured venue's funding readings per market (funding-history.ts): at each settlement, and now. */
  fundingReadings: z.record(z.string(), marketReadingsCodec).optional(),
  /** Per instrument: after a risk denial, no new entry attempt before `untilMs` (doubling per denial). */
  entryBackoff: z
    .record(z.string(), z.object({ untilMs: msSchema, denials: z.int().min(1), reasonCode: z.string() }))
    .default({}),
});
export type FundingArbState = z.output<typeof fundingArbStateCodec>;

/** Finished arbs kept in the book; older ones are dropped so the state stays bounded. */
export const MAX_CLOSED_ARBS = 50;

export function initialFundingArbState(): FundingArbState {
  return { arbs: {}, closed: [], arbSeq: 0, candidates: {}, lastSkip: {}, entryBackoff: {} };
}

export function emptyLeg(venue: string, account: string, instrument: string, entrySide: Side): ArbLeg {
  return {
    venue,
    account,
    instrument,
    entrySide,
    adoptedSize: ZERO,
    orders: {},
    position: { ...FLAT_POSITION },
  };
}

// ---- reading the book -------------------------------------------------------------------

/** Active arbs in instrument order (a stable order keeps decisions deterministic). */
export function activeArbs(state: FundingArbState): Arb[] {
  return Object.keys(state.arbs)
    .sort()
    .map((k) => state.arbs[k]!);
}

/** The most recently closed arb on `instrument`. */
export function lastClosed(state: FundingArbState, instrument: string): Arb | undefined {
  for (let i = state.closed.length - 1; i >= 0; i--)
    if (state.closed[i]!.instrument === instrument) return state.closed[i];
  return undefined;
}

/** An active or closed arb by id. */
export function findArb(state: FundingArbState, arbId: string): Arb | undefined {
  return (
    Object.values(state.arbs).find((a) => a.arbId === arbId) ?? state.closed.find((a) => a.arbId === arbId)
  );
}

/** Signed size of a leg: what it took from the venue at start plus the signed filled sizes of its other orders. */
export function legSize(leg: ArbLeg): Decimal {
  return Object.values(leg.orders).reduce(
    (sum, o) =>
      o.inAdoptedSize !== undefined ? sum : o.side === 'buy' ? sum.plus(o.filled) : sum.minus(o.filled),
    leg.adoptedSize,
  );
}

/** What the leg still holds in its own direction (never negative). */
export function legOpenSize(leg: ArbLeg): Decimal {
  const signed = legSize(leg);
  const inDirection = leg.entrySide === 'buy' ? signed : signed.neg();
  return inDirection.isNeg() ? ZERO : inDirection;
}

/** What can be closed on the leg: the leg's size, but never more than the venue position in that direction. */
export function legClosable(world: WorldState, leg: ArbLeg): Decimal {
  const venue = positionSize(world, leg.venue, leg.account, leg.instrument);
  const venueInDirection = leg.entrySide === 'buy' ? venue : venue.neg();
  return minDec(legOpenSize(leg), venueInDirection.isNeg() ? ZERO : venueInDirection);
}

/** Marks to value what the legs still hold at (book mids); a closed arb needs none. */
export interface LegMarks {
  readonly short?: Decimal | undefined;
  readonly long?: Decimal | undefined;
}

/** Where an arb's (or a whole book's) money came from, in quote currency. */
export interface Attribution {
  /** Funding received (negative = paid). */
  readonly funding: Decimal;
  /** What the settled payments were predicted to be (the last reading before each). */
  readonly fundingPredicted: Decimal;
  /** Realized trading PnL plus the open size marked at the marks: across both legs, the basis PnL. */
  readonly basisPnl: Decimal;
  readonly fees: Decimal;
  /** Fills against the mids of the decisions that placed them (positive = cost); inside basisPnl. */
  readonly slippage: Decimal;
  /** funding + basisPnl - fees. */
  readonly net: Decimal;
}

export const NO_ATTRIBUTION: Attribution = {
  funding: ZERO,
  fundingPredicted: ZERO,
  basisPnl: ZERO,
  fees: ZERO,
  slippage: ZERO,
  net: ZERO,
};

/** One leg's price PnL: realized trading PnL plus what it holds marked at `mark` (none: nothing unrealized). */
export function legPricePnl(leg: ArbLeg, mark: Decimal | undefined): { price: Decimal; unrealized: Decimal } {
  const p = leg.position;
  const unrealized = mark && p.entryPrice && !p.size.isZero() ? mark.minus(p.entryPrice).mul(p.size) : ZERO;
  return { price: p.tradingPnl.plus(unrealized), unrealized };
}

/** An arb's attribution with its open legs marked at `marks`. */
export function attributionOf(arb: Arb, marks: LegMarks = {}): Attribution {
  let out = NO_ATTRIBUTION;
  for (const [leg, mark] of [
    [arb.short, marks.short],
    [arb.long, marks.long],
  ] as const) {
    const p = leg.position;
    // Legs in their settle asset; the totals in the report currency (leg.reportRate).
    const rate = leg.reportRate ?? ONE;
    const basisPnl = out.basisPnl.plus(legPricePnl(leg, mark).price.mul(rate));
    const funding = out.funding.plus(p.funding.mul(rate));
    const fees = out.fees.plus(p.fees.mul(rate));
    out = {
      funding,
      fundingPredicted: out.fundingPredicted.plus((leg.fundingPredicted ?? ZERO).mul(rate)),
      basisPnl,
      fees,
      slippage: out.slippage.plus((leg.slippage ?? ZERO).mul(rate)),
      net: funding.plus(basisPnl).minus(fees),
    };
  }
  return out;
}

/** The sum of attributions (a book's total). */
export function sumAttributions(parts: ReadonlyArray<Attribution>): Attribution {
  return parts.reduce(
    (a, b) => ({
      funding: a.funding.plus(b.funding),
      fundingPredicted: a.fundingPredicted.plus(b.fundingPredicted),
      basisPnl: a.basisPnl.plus(b.basisPnl),
      fees: a.fees.plus(b.fees),
      slippage: a.slippage.plus(b.slippage),
      net: a.net.plus(b.net),
    }),
    NO_ATTRIBUTION,
  );
}

/**
 * Where an arb's money came from, per leg and in total, as decision inputs: funding
 * received (or paid), price PnL (realized trading PnL plus what the leg still holds marked
 * at `marks`; across both legs that is the basis PnL), fees, and slippage against the mids
 * of the decisions that placed the orders (already inside the price PnL; shown apart so
 * the basis move without it is visible). net = funding + price PnL - fees. Predicted
 * funding is the entry's estimate for the holding window.
 */
export function arbAttribution(arb: Arb, marks: LegMarks = {}): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, leg, mark] of [
    ['short', arb.short, marks.short],
    ['long', arb.long, marks.long],
  ] as const) {
    const { price, unrealized } = legPricePnl(leg, mark);
    out[`${name}.funding`] = leg.position.funding.toFixed();
    out[`${name}.funding_predicted`] = (leg.fundingPredicted ?? ZERO).toFixed();
    out[`${name}.settlements`] = String(leg.settlements ?? 0);
    out[`${name}.price_pnl`] = price.toFixed();
    out[`${name}.unrealized_pnl`] = unrealized.toFixed();
    out[`${name}.slippage`] = (leg.slippage ?? ZERO).toFixed();
  }
  Object.assign(out, attributionInputs(attributionOf(arb, marks)));
  out['attribution.predicted_funding'] = arb.entry.gross_carry ?? '';
  return out;
}

/** An attribution as decision inputs (`attribution.*`). */
export function attributionInputs(a: Attribution): Record<string, string> {
  return {
    'attribution.funding': a.funding.toFixed(),
    'attribution.funding_predicted_for_settled': a.fundingPredicted.toFixed(),
    'attribution.basis_pnl': a.basisPnl.toFixed(),
    'attribution.basis_pnl_before_slippage': a.basisPnl.plus(a.slippage).toFixed(),
    'attribution.fees': a.fees.toFixed(),
    'attribution.slippage_vs_decision_mid': a.slippage.toFixed(),
    'attribution.net': a.net.toFixed(),
  };
}

/** Per-leg and total trading PnL, fees, funding and net, next to what the entry expected, with the attribution. */
export function arbResult(arb: Arb): Record<string, string> {
  const out: Record<string, string> = {};
  let trading = ZERO;
  let fees = ZERO;
  let funding = ZERO;
  for (const [name, leg] of [
    ['short', arb.short],
    ['long', arb.long],
  ] as const) {
    const p = leg.position;
    out[`${name}.trading_pnl`] = p.tradingPnl.toFixed();
    out[`${name}.fees`] = p.fees.toFixed();
    out[`${name}.funding_received`] = p.funding.toFixed();
    out[`${name}.net_pnl`] = p.netRealizedPnl.toFixed();
    // Totals add legs only in one currency: each leg converted at the rate its entry assumed.
    const rate = leg.reportRate ?? ONE;
    trading = trading.plus(p.tradingPnl.mul(rate));
    fees = fees.plus(p.fees.mul(rate));
    funding = funding.plus(p.funding.mul(rate));
  }
  if (arb.entry.report_currency && (arb.short.reportRate || arb.long.reportRate)) {
    out.report_currency = arb.entry.report_currency;
    out.settle_conversion = arb.entry.settle_conversion ?? '';
  }
  out.trading_pnl = trading.toFixed();
  out.fees = fees.toFixed();
  out.funding_received = funding.toFixed();
  out.carry_net_of_fees = funding.minus(fees).toFixed();
  out.net_pnl = trading.minus(fees).plus(funding).toFixed();
  out.expected_net_carry = arb.expectedNetCarry.toFixed();
  return { ...out, ...arbAttribution(arb) };
}

// ---- changing the book ------------------------------------------------------------------

/** Records a just-placed order on the leg of its venue, with the mid its decision saw (for slippage). */
export function attachOrder(arb: Arb, order: OwnOrder, refMid?: Decimal): void {
  const leg = order.venue === arb.short.venue ? arb.short : arb.long;
  leg.orders[order.clientOrderId] = {
    side: order.side,
    filled: order.filled,
    role: order.role,
    ...(refMid ? { refMid } : {}),
  };
  leg.lastOrderAtMs = order.createdAtMs;
}

/**
 * At start, for a leg order the venue no longer lists: its filled size moves into the leg's
 * `adoptedSize` (the leg size is unchanged; the venue position the leg takes next holds
 * whatever it filled). `pricedSize` is how much of it the leg's fills have booked.
 */
export function foldIntoAdoptedSize(leg: ArbLeg, clientOrderId: string, pricedSize: Decimal): void {
  const entry = leg.orders[clientOrderId];
  if (!entry || entry.inAdoptedSize !== undefined) return;
  leg.adoptedSize = leg.adoptedSize.plus(entry.side === 'buy' ? entry.filled : entry.filled.neg());
  entry.inAdoptedSize = maxDec(ZERO, entry.filled.minus(pricedSize));
}

/**
 * A fill of an order folded into `adoptedSize`: the part the accounting has no fill for yet
 * is booked as a fill; the rest the accounting already holds (at the adoption price), so it
 * is re-priced at the fill's price (taken out at the entry price, booked again at the
 * fill's), the size unchanged. The fee is booked either way.
 */
function bookFoldedFill(
  position: PositionState,
  entry: ArbLeg['orders'][string],
  fill: NonNullable<FactResult['newFill']>,
): PositionState {
  const unpriced = minDec(fill.size, entry.inAdoptedSize ?? ZERO);
  entry.inAdoptedSize = (entry.inAdoptedSize ?? ZERO).minus(unpriced);
  const held = fill.side === 'buy' ? position.size : position.size.neg();
  const reprice = minDec(fill.size.minus(unpriced), maxDec(held, ZERO));
  const booked = unpriced.plus(reprice);
  // Nothing held to re-price (the venue position was closed elsewhere): book it as a fill.
  if (booked.isZero()) return applyFill(position, fill);
  const takenOut =
    reprice.gt(0) && position.entryPrice
      ? applyFill(position, {
          side: fill.side === 'buy' ? 'sell' : 'buy',
          price: position.entryPrice,
          size: reprice,
        })
      : position;
  return applyFill(takenOut, { side: fill.side, price: fill.price, size: booked, fee: fill.fee });
}

/** Folds an update of an arb order (its filled size, and a new fill's price and fee) into its leg. */
export function recordLegOrder(state: FundingArbState, order: OwnOrder, fill: FactResult['newFill']): void {
  const arb = findArb(state, order.group!);
  if (!arb) return;
  const leg =
    order.venue === arb.short.venue ? arb.short : order.venue === arb.long.venue ? arb.long : undefined;
  if (!leg) return;
  const entry = leg.orders[order.clientOrderId];
  if (entry) entry.filled = order.filled;
  else leg.orders[order.clientOrderId] = { side: order.side, filled: order.filled, role: order.role };
  if (fill) {
    // A leg adopted without an entry price (saved before adoption priced it): the fill's price stands in.
    if (!leg.position.size.isZero() && leg.position.entryPrice === undefined) {
      leg.position = { ...leg.position, entryPrice: fill.price };
    }
    const folded = leg.orders[order.clientOrderId]!;
    leg.position = (
      folded.inAdoptedSize === undefined
        ? applyFill(leg.position as PositionState, fill)
        : bookFoldedFill(leg.position as PositionState, folded, fill)
    ) as ArbLeg['position'];
    const refMid = leg.orders[order.clientOrderId]?.refMid;
    if (refMid) {
      const worse = fill.side === 'buy' ? fill.price.minus(refMid) : refMid.minus(fill.price);
      leg.slippage = (leg.slippage ?? ZERO).plus(worse.mul(fill.size));
    }
    if (arb.phase === 'closed') arb.result = arbResult(arb);
  }
}

/** What the last funding reading before a payment predicted for a leg: rate x mark x size. */
export interface FundingPrediction {
  readonly amount: Decimal;
  readonly rate: Decimal;
  readonly mark: Decimal;
}

/**
 * Books a funding payment on the leg it belongs to, also on an arb closed after the
 * settlement it pays for; returns that arb and leg (none: the payment is no arb's).
 */
export function recordFunding(
  state: FundingArbState,
  p: Extract<StrategyInput, { kind: 'funding_payment' }>,
  predict?: (leg: ArbLeg) => FundingPrediction | undefined,
): { arb: Arb; leg: ArbLeg } | undefined {
  const matches = (leg: ArbLeg) =>
    leg.venue === p.venue && leg.account === p.account && leg.instrument === p.instrument;
  // Found by its leg: an exposure's legs trade instruments other than the arb's key.
  let arb = Object.values(state.arbs).find((a) => matches(a.short) || matches(a.long));
  // A payment for a settlement while the arb was open can arrive after it closed.
  if (!arb) {
    arb = [...state.closed]
      .reverse()
      .find(
        (a) =>
          (matches(a.short) || matches(a.long)) &&
          a.closedAtMs !== undefined &&
          p.fundingTimeMs <= a.closedAtMs,
      );
  }
  if (!arb) return undefined;
  const leg = matches(arb.short) ? arb.short : arb.long;
  const predicted = predict?.(leg);
  if (predicted) leg.fundingPredicted = (leg.fundingPredicted ?? ZERO).plus(predicted.amount);
  leg.settlements = (leg.settlements ?? 0) + 1;
  const history = leg.fundingHistory ?? [];
  history.push({
    fundingTimeMs: p.fundingTimeMs,
    settled: p.amount,
    ...(predicted ? { predicted: predicted.amount, rate: predicted.rate, mark: predicted.mark } : {}),
  });
  if (history.length > MAX_FUNDING_HISTORY) history.splice(0, history.length - MAX_FUNDING_HISTORY);
  leg.fundingHistory = history;
  leg.position = applyFunding(leg.position as PositionState, {
    amount: p.amount,
    tsEventMs: p.fundingTimeMs,
  }) as ArbLeg['position'];
  if (arb.phase === 'closed' && arb.result) arb.result = arbResult(arb);
  return { arb, leg };
}

/** Moves a closed arb from the active book to the bounded list of closed arbs. */
export function archiveArb(state: FundingArbState, arb: Arb): void {
  delete state.arbs[arb.instrument];
  state.closed.push(arb);
  if (state.closed.length > MAX_CLOSED_ARBS) state.closed.shift();
}
