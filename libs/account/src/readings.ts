/**
 * What the account service reports, as domain values (decimals, string unions), each with
 * its as-of, age and staleness, and the pure functions that build them from venue readings
 * and the projections. No I/O, no clock: time comes in as `nowMs`. The proto mapping is
 * wire.ts.
 */
import type { Decimal, EpochMs, InstrumentId, PositionSide } from '@perpmesh/core';
import { readingAgeMs, ZERO } from '@perpmesh/core';
import type { VenueBalance, VenuePosition } from '@perpmesh/venues';
import type { MergedPosition } from './projection.js';

export type AccountStateSource = 'venue' | 'projection';

/** How fresh a value is, by the service clock (core `readingAgeMs`: the one rule). */
export interface Freshness {
  /** When the value was true (venue time for venue readings). */
  readonly asOfMs: EpochMs;
  /** When we knew it true, on our clock; undefined when not known (the age then counts from `asOfMs`). */
  readonly observedAtMs?: EpochMs | undefined;
  /** Service clock minus `observedAtMs` (else `asOfMs`), never negative: a venue clock's skew does not move it. */
  readonly ageMs: number;
  /** Older than the service's bound for this kind of value. */
  readonly stale: boolean;
}

export interface BalanceReading extends Freshness {
  readonly venue: string;
  readonly account: string;
  readonly currency: string;
  readonly total: Decimal;
  readonly available: Decimal;
  readonly equity: Decimal;
  readonly unrealizedPnl: Decimal;
  readonly source: 'venue';
}

export interface PositionReading extends Freshness {
  readonly venue: string;
  readonly account: string;
  readonly instrument: InstrumentId;
  readonly side: PositionSide;
  /** Signed: > 0 long, < 0 short. */
  readonly size: Decimal;
  readonly entryPrice: Decimal | undefined;
  readonly markPrice: Decimal | undefined;
  readonly unrealizedPnl: Decimal;
  /** Price PnL of reducing and closing, before fees and funding (the proto's `realized_pnl`). */
  readonly tradingPnl: Decimal;
  /** Cumulative fees (positive paid). */
  readonly fees: Decimal;
  /** Cumulative funding (positive received). */
  readonly funding: Decimal;
  /** tradingPnl - fees + funding: what the position has put into or taken out of the account. */
  readonly netRealizedPnl: Decimal;
  readonly leverage: Decimal | undefined;
  readonly liquidationPrice: Decimal | undefined;
  /**
   * `projection`: built from our event log. `venue`: the venue reports a position our
   * projection does not have (a drift is reported for it); shown rather than hidden.
   */
  readonly source: AccountStateSource;
  /** The venue's last reported size, when known (for comparison). */
  readonly venueSize: Decimal | undefined;
}

export interface AccountSummaryReading extends Freshness {
  readonly venue: string;
  readonly account: string;
  /** The settle currency the sums are in. */
  readonly currency: string;
  readonly equity: Decimal;
  readonly available: Decimal;
  readonly unrealizedPnl: Decimal;
  /** Trading PnL realized by the open positions (proto `realized_pnl`). */
  readonly realizedPnl: Decimal;
  /** Fees of every projected position of the account. */
  readonly fees: Decimal;
  /** Funding of every projected position of the account. */
  readonly funding: Decimal;
  readonly openPositions: number;
  /** Open orders at the last poll; undefined when never fetched. */
  readonly openOrders: number | undefined;
}

export interface SummaryTotals {
  readonly currency: string;
  readonly equity: Decimal;
  readonly available: Decimal;
  readonly unrealizedPnl: Decimal;
  readonly realizedPnl: Decimal;
  readonly fees: Decimal;
  readonly funding: Decimal;
  readonly openPositions: number;
  readonly accounts: number;
  /** The oldest as-of among the accounts summed. */
  readonly asOfMs: EpochMs;
  readonly stale: boolean;
}

/** Sums account summaries per currency (different currencies are never added together). */
export function summaryTotals(readings: readonly AccountSummaryReading[]): SummaryTotals[] {
  const byCurrency = new Map<string, SummaryTotals>();
  for (const r of readings) {
    const t = byCurrency.get(r.currency);
    byCurrency.set(
      r.currency,
      t === undefined
        ? {
            currency: r.currency,
            equity: r.equity,
            available: r.available,
            unrealizedPnl: r.unrealizedPnl,
            realizedPnl: r.realizedPnl,
            fees: r.fees,
            funding: r.funding,
            openPositions: r.openPositions,
            accounts: 1,
            asOfMs: r.asOfMs,
            stale: r.stale,
          }
        : {
            currency: r.currency,
            equity: t.equity.plus(r.equity),
            available: t.available.plus(r.available),
            unrealizedPnl: t.unrealizedPnl.plus(r.unrealizedPnl),
            realizedPnl: t.realizedPnl.plus(r.realizedPnl),
            fees: t.fees.plus(r.fees),
            funding: t.funding.plus(r.funding),
            openPositions: t.openPositions + r.openPositions,
            accounts: t.accounts + 1,
            asOfMs: Math.min(t.asOfMs, r.asOfMs),
            stale: t.stale || r.stale,
          },
    );
  }
  return [...byCurrency.values()];
}

// ---- facts published on ACCT ----------------------------------------------------------------

export interface FundingPaymentFact {
  readonly venue: string;
  readonly account: string;
  readonly instrument: InstrumentId;
  readonly amount: Decimal;
  readonly currency: string;
  readonly rate: Decimal;
  /** Signed position size the payment was computed on. */
  readonly positionSize: Decimal;
  readonly markPrice: Decimal | undefined;
  readonly fundingTimeMs: EpochMs;
}

export interface DriftFact {
  readonly venue: string;
  readonly account: string;
  readonly instrument: string;
  readonly currency: string;
  /** `position.size` or `balance.total`. */
  readonly field: string;
  readonly projected: Decimal;
  readonly venueValue: Decimal;
  readonly projectedAsOfMs: EpochMs;
  readonly venueAsOfMs: EpochMs;
}

// ---- building readings ------------------------------------------------------------------------

/** The largest positive value given, or undefined. */
export function latestOf(...values: Array<number | undefined>): number | undefined {
  const defined = values.filter((v): v is number => v !== undefined && v > 0);
  return defined.length === 0 ? undefined : Math.max(...defined);
}

/**
 * As-of, age and staleness past `staleAfterMs`. The age runs on our clock from `observedAtMs`
 * when known (core `readingAgeMs`), so a venue clock behind ours does not age a fresh reading
 * and one ahead does not keep an old one fresh.
 */
export function freshness(
  asOfMs: EpochMs,
  nowMs: EpochMs,
  staleAfterMs: number,
  observedAtMs?: EpochMs,
): Freshness {
  const ageMs = readingAgeMs({ asOfMs, observedAtMs }, nowMs);
  return {
    asOfMs,
    ...(observedAtMs === undefined ? {} : { observedAtMs }),
    ageMs,
    stale: ageMs > staleAfterMs,
  };
}

/** A venue reading with, when known, our clock's time of it (account venue-state stamps it). */
type MaybeObserved<T> = T & { readonly observedAtMs?: EpochMs | undefined };

/** A venue balance as reported (source VENUE, as of the venue's time). */
export function balanceReading(
  venue: string,
  account: string,
  b: MaybeObserved<VenueBalance>,
  nowMs: EpochMs,
  staleAfterMs: number,
): BalanceReading {
  return {
    venue,
    account,
    currency: b.asset,
    total: b.total,
    available: b.available,
    equity: b.equity,
    unrealizedPnl: b.unrealizedPnl,
    ...freshness(b.tsEventMs, nowMs, staleAfterMs, b.observedAtMs),
    source: 'venue',
  };
}

/**
 * A position only the venue reports (our log never told us about it): shown as the venue's,
 * not hidden (drift reports it). Undefined when the venue is flat.
 */
export function venuePositionReading(
  venue: string,
  account: string,
  p: MaybeObserved<VenuePosition>,
  nowMs: EpochMs,
  staleAfterMs: number,
): PositionReading | undefined {
  if (p.size.isZero()) return undefined;
  return {
    venue,
    account,
    instrument: p.instrument,
    side: p.size.isPos() ? 'long' : 'short',
    size: p.size,
    entryPrice: p.entryPrice.gt(0) ? p.entryPrice : undefined,
    markPrice: p.markPrice.gt(0) ? p.markPrice : undefined,
    unrealizedPnl: p.unrealizedPnl,
    tradingPnl: p.realizedPnl,
    fees: ZERO,
    funding: ZERO,
    netRealizedPnl: p.realizedPnl,
    leverage: p.leverage.gt(0) ? p.leverage : undefined,
    liquidationPrice: p.liquidationPrice,
    ...freshness(p.tsEventMs, nowMs, staleAfterMs, p.observedAtMs),
    source: 'venue',
    venueSize: p.size,
  };
}

export interface ProjectedPositionInputs {
  /** The projections' position, marked (projection.ts `mergedPosition`). */
  readonly merged: MergedPosition;
  /** Venue time when the venue last agreed with our size. */
  readonly confirmedAsOfMs: EpochMs | undefined;
  /** Our clock when the venue's reading that last agreed was taken (its age counts from it). */
  readonly confirmedObservedAtMs?: EpochMs | undefined;
  /** The venue's report of the same position, for leverage, liquidation price and its size. */
  readonly venuePosition: VenuePosition | undefined;
  /** The venue's positions were read at least once (else its size is unknown, not 0). */
  readonly venuePositionsFetched: boolean;
}

/**
 * A position from our projections (source PROJECTION). As of its latest fill or the venue's
 * confirmation of its size, whichever is newest: the time up to which the size is known to
 * hold every fill (a funding-only position: its funding time). Never a mark's or a funding
 * payment's time: one read after a fill the projection has not applied yet would date the
 * older size past that fill, and a consumer holding the fill (the strategy's world) would
 * take it as newer (a false account_drift).
 */
export function projectedPositionReading(
  inputs: ProjectedPositionInputs,
  nowMs: EpochMs,
  staleAfterMs: number,
): PositionReading {
  const { merged, venuePosition } = inputs;
  const asOfMs = latestOf(merged.fillsAsOfMs, inputs.confirmedAsOfMs) ?? merged.eventAsOfMs ?? nowMs;
  const s = merged.state;
  return {
    venue: merged.venue,
    account: merged.account,
    instrument: merged.instrument,
    side: s.side,
    size: s.size,
    entryPrice: s.entryPrice,
    markPrice: s.markPrice,
    unrealizedPnl: s.unrealizedPnl,
    tradingPnl: s.tradingPnl,
    fees: s.fees,
    funding: s.funding,
    netRealizedPnl: s.netRealizedPnl,
    leverage: venuePosition?.leverage.gt(0) && !s.size.isZero() ? venuePosition.leverage : undefined,
    liquidationPrice: s.size.isZero() ? undefined : venuePosition?.liquidationPrice,
    ...freshness(asOfMs, nowMs, staleAfterMs, inputs.confirmedObservedAtMs),
    source: 'projection',
    venueSize: inputs.venuePositionsFetched ? (venuePosition?.size ?? ZERO) : undefined,
  };
}

export interface AccountSummaryInputs {
  readonly venue: string;
  readonly account: string;
  /** The settle currency (used when no balance is known). */
  readonly currency: string;
  /** The balance in the settle currency (or the account's only one). */
  readonly balance: MaybeObserved<VenueBalance> | undefined;
  /** The account's positions from the projections (flat ones included: their fees and funding count). */
  readonly positions: readonly PositionReading[];
  readonly openOrders: number | undefined;
}

/** One account's summary: the venue balance with the projected positions' PnL; as old as its oldest part. */
export function accountSummaryReading(
  inputs: AccountSummaryInputs,
  nowMs: EpochMs,
  balanceStaleAfterMs: number,
): AccountSummaryReading {
  const { balance, positions } = inputs;
  const open = positions.filter((p) => !p.size.isZero());
  const sum = (list: readonly PositionReading[], f: (p: PositionReading) => Decimal) =>
    list.reduce((acc, p) => acc.plus(f(p)), ZERO);
  const asOfMs = Math.min(balance?.tsEventMs ?? nowMs, ...open.map((p) => p.asOfMs));
  const balanceFreshness =
    balance === undefined
      ? undefined
      : freshness(balance.tsEventMs, nowMs, balanceStaleAfterMs, balance.observedAtMs);
  const ages = [balanceFreshness?.ageMs ?? 0, ...open.map((p) => readingAgeMs(p, nowMs))];
  return {
    venue: inputs.venue,
    account: inputs.account,
    currency: balance?.asset ?? inputs.currency,
    equity: balance?.equity ?? ZERO,
    available: balance?.available ?? ZERO,
    unrealizedPnl: sum(open, (p) => p.unrealizedPnl),
    realizedPnl: sum(open, (p) => p.tradingPnl),
    fees: sum(positions, (p) => p.fees),
    funding: sum(positions, (p) => p.funding),
    openPositions: open.length,
    openOrders: inputs.openOrders,
    asOfMs,
    ageMs: Math.max(...ages),
    stale: (balanceFreshness?.stale ?? true) || open.some((p) => p.stale),
  };
}
