/**
 * The account projections, pure: positions built from fills (EXEC stream) and funding
 * totals built from funding payments (ACCT stream), per (venue, account, instrument).
 *
 * Two projections rather than one because `runProjector` stores one applied sequence per
 * stream for one durable consumer: fills and funding payments live in different streams,
 * so each gets its own consumer and its own snapshot, and a query merges them
 * (`mergedPosition`). The accounting itself is core's (`applyFill`, `applyFunding`,
 * `markTo`); this module only keeps its inputs as JSON (decimals as strings) so a
 * snapshot can be stored beside its applied sequence.
 *
 * Duplicates: the projector applies each stream sequence at most once. A fact stored twice
 * under two ids (a publisher resending after the log's duplicate window) is dropped here:
 * by trade id for fills, by funding time for funding payments.
 */
import {
  applyFill,
  applyFunding,
  type Decimal,
  type EpochMs,
  FLAT_POSITION,
  type InstrumentId,
  markTo,
  type PositionState,
  parseDecimal,
  positionSideOf,
  type Side,
  toWire,
  ZERO,
} from '@perpmesh/core';

/** How many recent trade ids / funding times each position remembers to drop duplicates. */
export const RECENT_FACTS_KEPT = 256;

/** One position of the fills projection, as stored (decimal text). */
export interface StoredPosition {
  readonly venue: string;
  readonly account: string;
  readonly instrument: InstrumentId;
  /** Signed size: > 0 long, < 0 short. */
  readonly size: string;
  /** Empty when flat. */
  readonly entryPrice: string;
  /** Price PnL realized by reducing and closing, before fees. */
  readonly tradingPnl: string;
  /** Cumulative fees: positive paid. */
  readonly fees: string;
  readonly fills: number;
  /** Venue time of the last fill applied. */
  readonly updatedAtMs: EpochMs;
  /** Trade ids of the last fills applied, oldest first. */
  readonly recentTradeIds: readonly string[];
}

export interface PositionsProjection {
  readonly version: 1;
  /** By `positionKey`. */
  readonly positions: Readonly<Record<string, StoredPosition>>;
}

/** Funding received (+) or paid (-) by one position, as stored. */
export interface StoredFunding {
  readonly venue: string;
  readonly account: string;
  readonly instrument: InstrumentId;
  readonly total: string;
  readonly payments: number;
  readonly lastFundingTimeMs: EpochMs;
  /** Funding times already applied, oldest first. */
  readonly recentFundingTimes: readonly EpochMs[];
}

export interface FundingProjection {
  readonly version: 1;
  readonly funding: Readonly<Record<string, StoredFunding>>;
}

/** A fill as the projection needs it (mapped from an exec.fill event at the boundary). */
export interface ProjectedFill {
  readonly venue: string;
  readonly account: string;
  readonly instrument: InstrumentId;
  readonly tradeId: string;
  readonly side: Side;
  readonly price: Decimal;
  readonly size: Decimal;
  /** Positive paid, negative rebate. */
  readonly fee: Decimal;
  readonly tsEventMs: EpochMs;
}

/** A funding payment as the projection needs it (from an acct.funding event). */
export interface ProjectedFunding {
  readonly venue: string;
  readonly account: string;
  readonly instrument: InstrumentId;
  /** Positive received, negative paid. */
  readonly amount: Decimal;
  readonly fundingTimeMs: EpochMs;
}

export function emptyPositionsProjection(): PositionsProjection {
  return { version: 1, positions: {} };
}

export function emptyFundingProjection(): FundingProjection {
  return { version: 1, funding: {} };
}

/** `venue|account|instrument`; ids are subject tokens, so they contain no `|`... nor `.`. */
export function positionKey(venue: string, account: string, instrument: string): string {
  return `${venue}|${account}|${instrument}`;
}

export function accountKey(venue: string, account: string): string {
  return `${venue}|${account}`;
}

function remember<T>(list: readonly T[], item: T): T[] {
  const next = [...list, item];
  return next.length > RECENT_FACTS_KEPT ? next.slice(next.length - RECENT_FACTS_KEPT) : next;
}

/** The core position of a stored one (funding zero, not marked). */
export function positionStateOf(stored: StoredPosition | undefined): PositionState {
  if (stored === undefined) return FLAT_POSITION;
  const size = parseDecimal(stored.size, 'position.size');
  const base: PositionState = {
    ...FLAT_POSITION,
    size,
    side: positionSideOf(size),
    entryPrice: stored.entryPrice === '' ? undefined : parseDecimal(stored.entryPrice, 'position.entryPrice'),
    tradingPnl: parseDecimal(stored.tradingPnl, 'position.tradingPnl'),
    fees: parseDecimal(stored.fees, 'position.fees'),
    updatedAtMs: stored.updatedAtMs,
  };
  // A zero funding payment makes core recompute the derived fields (realized, net, side).
  return applyFunding(base, { amount: ZERO });
}

/**
 * Applies one fill. Returns the same object when the fill was already applied (its trade
 * id is among the position's recent ones), so callers can tell "nothing changed".
 */
export function applyFillToProjection(state: PositionsProjection, fill: ProjectedFill): PositionsProjection {
  const key = positionKey(fill.venue, fill.account, fill.instrument);
  const stored = state.positions[key];
  if (stored?.recentTradeIds.includes(fill.tradeId)) return state;
  const next = applyFill(positionStateOf(stored), {
    side: fill.side,
    price: fill.price,
    size: fill.size,
    fee: fill.fee,
    tsEventMs: fill.tsEventMs,
  });
  const position: StoredPosition = {
    venue: fill.venue,
    account: fill.account,
    instrument: fill.instrument,
    size: toWire(next.size),
    entryPrice: next.entryPrice === undefined ? '' : toWire(next.entryPrice),
    tradingPnl: toWire(next.tradingPnl),
    fees: toWire(next.fees),
    fills: (stored?.fills ?? 0) + 1,
    updatedAtMs: Math.max(stored?.updatedAtMs ?? 0, fill.tsEventMs),
    recentTradeIds: remember(stored?.recentTradeIds ?? [], fill.tradeId),
  };
  return { version: 1, positions: { ...state.positions, [key]: position } };
}

/** Applies one funding payment; the same object back when its funding time was already applied. */
export function applyFundingToProjection(
  state: FundingProjection,
  payment: ProjectedFunding,
): FundingProjection {
  const key = positionKey(payment.venue, payment.account, payment.instrument);
  const stored = state.funding[key];
  if (stored?.recentFundingTimes.includes(payment.fundingTimeMs)) return state;
  const total = stored === undefined ? ZERO : parseDecimal(stored.total, 'funding.total');
  const entry: StoredFunding = {
    venue: payment.venue,
    account: payment.account,
    instrument: payment.instrument,
    total: toWire(total.plus(payment.amount)),
    payments: (stored?.payments ?? 0) + 1,
    lastFundingTimeMs: Math.max(stored?.lastFundingTimeMs ?? 0, payment.fundingTimeMs),
    recentFundingTimes: remember(stored?.recentFundingTimes ?? [], payment.fundingTimeMs),
  };
  return { version: 1, funding: { ...state.funding, [key]: entry } };
}

export interface MergedPosition {
  readonly venue: string;
  readonly account: string;
  readonly instrument: InstrumentId;
  /** Core accounting: size, entry, trading PnL, fees, funding, realized, unrealized at mark. */
  readonly state: PositionState;
  /** Latest event time of the fills and funding behind it; undefined when none. */
  readonly eventAsOfMs: EpochMs | undefined;
  /** Event time of the latest fill behind its size; undefined when none. */
  readonly fillsAsOfMs: EpochMs | undefined;
}

/** The fills position with its funding total and, when known, marked to `markPrice`. */
export function mergedPosition(
  venue: string,
  account: string,
  instrument: InstrumentId,
  stored: StoredPosition | undefined,
  funding: StoredFunding | undefined,
  markPrice: Decimal | undefined,
): MergedPosition {
  let state = positionStateOf(stored);
  if (funding !== undefined) {
    state = applyFunding(state, {
      amount: parseDecimal(funding.total, 'funding.total'),
      tsEventMs: funding.lastFundingTimeMs,
    });
  }
  if (markPrice?.gt(0)) state = markTo(state, markPrice);
  const times = [stored?.updatedAtMs, funding?.lastFundingTimeMs].filter((t): t is number => t !== undefined);
  return {
    venue,
    account,
    instrument,
    state,
    eventAsOfMs: times.length === 0 ? undefined : Math.max(...times),
    fillsAsOfMs: stored?.updatedAtMs,
  };
}

/** Every position key of either projection. */
export function projectedKeys(positions: PositionsProjection, funding: FundingProjection): string[] {
  return [...new Set([...Object.keys(positions.positions), ...Object.keys(funding.funding)])].sort();
}
