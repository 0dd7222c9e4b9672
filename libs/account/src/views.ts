/**
 * What the account service reports, as domain values (decimals, string unions), and their
 * one mapping to the generated proto messages. Generated messages stop here.
 */
import {
  type AccountDrift,
  type AccountSummary,
  type AccountTotals,
  type Balance,
  type BalanceView,
  decimalToWire,
  type FundingPayment,
  optionalDecimalToWire,
  type Position,
  type PositionView,
  positionSideToProto,
  StateSource,
} from '@perpmesh/contracts';
import {
  type Decimal,
  type EpochMs,
  type InstrumentId,
  type PositionSide,
  roundForReport,
} from '@perpmesh/core';

export type AccountStateSource = 'venue' | 'projection';

/** How fresh a value is, by the service clock. */
export interface Freshness {
  /** When the value was true (venue time for venue readings). */
  readonly asOfMs: EpochMs;
  /** Service clock minus `asOfMs`, never negative (a venue clock ahead of ours counts as 0). */
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

// ---- proto ---------------------------------------------------------------------------------

const SOURCE: Readonly<Record<AccountStateSource, StateSource>> = {
  venue: StateSource.STATE_SOURCE_VENUE,
  projection: StateSource.STATE_SOURCE_PROJECTION,
};

export function balanceToProto(r: BalanceReading): Balance {
  return {
    venue: r.venue,
    account: r.account,
    currency: r.currency,
    total: decimalToWire(r.total),
    available: decimalToWire(r.available),
    equity: decimalToWire(r.equity),
    unrealizedPnl: decimalToWire(r.unrealizedPnl),
    asOfMs: r.asOfMs,
    source: SOURCE[r.source],
  };
}

export function balanceViewToProto(r: BalanceReading): BalanceView {
  return { balance: balanceToProto(r), stale: r.stale, ageMs: r.ageMs };
}

export function positionToProto(r: PositionReading): Position {
  return {
    venue: r.venue,
    account: r.account,
    instrument: r.instrument,
    side: positionSideToProto(r.side),
    size: decimalToWire(r.size.abs()),
    entryPrice: optionalDecimalToWire(r.entryPrice && roundForReport(r.entryPrice)),
    markPrice: optionalDecimalToWire(r.markPrice),
    unrealizedPnl: decimalToWire(roundForReport(r.unrealizedPnl)),
    realizedPnl: decimalToWire(roundForReport(r.tradingPnl)),
    leverage: optionalDecimalToWire(r.leverage),
    liquidationPrice: optionalDecimalToWire(r.liquidationPrice),
    asOfMs: r.asOfMs,
    source: SOURCE[r.source],
  };
}

export function positionViewToProto(r: PositionReading): PositionView {
  return { position: positionToProto(r), stale: r.stale, ageMs: r.ageMs };
}

export function summaryToProto(r: AccountSummaryReading): AccountSummary {
  return {
    venue: r.venue,
    account: r.account,
    currency: r.currency,
    equity: decimalToWire(r.equity),
    available: decimalToWire(r.available),
    unrealizedPnl: decimalToWire(roundForReport(r.unrealizedPnl)),
    realizedPnl: decimalToWire(roundForReport(r.realizedPnl)),
    openPositions: r.openPositions,
    openOrders: r.openOrders ?? 0,
    asOfMs: r.asOfMs,
    stale: r.stale,
    ageMs: r.ageMs,
    fees: decimalToWire(r.fees),
    funding: decimalToWire(r.funding),
  };
}

export function totalsToProto(t: SummaryTotals): AccountTotals {
  return {
    currency: t.currency,
    equity: decimalToWire(t.equity),
    available: decimalToWire(t.available),
    unrealizedPnl: decimalToWire(t.unrealizedPnl),
    realizedPnl: decimalToWire(t.realizedPnl),
    fees: decimalToWire(t.fees),
    funding: decimalToWire(t.funding),
  };
}

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

export function fundingPaymentToProto(f: FundingPaymentFact): FundingPayment {
  const side: PositionSide = f.positionSize.isZero() ? 'flat' : f.positionSize.isPos() ? 'long' : 'short';
  return {
    venue: f.venue,
    account: f.account,
    instrument: f.instrument,
    amount: decimalToWire(f.amount),
    currency: f.currency,
    rate: decimalToWire(f.rate),
    positionSide: positionSideToProto(side),
    positionSize: decimalToWire(f.positionSize.abs()),
    markPrice: optionalDecimalToWire(f.markPrice),
    fundingTimeMs: f.fundingTimeMs,
    paymentId: '',
  };
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

export function driftToProto(d: DriftFact): AccountDrift {
  return {
    venue: d.venue,
    account: d.account,
    instrument: d.instrument,
    currency: d.currency,
    field: d.field,
    projectedValue: decimalToWire(d.projected),
    venueValue: decimalToWire(d.venueValue),
    projectedAsOfMs: d.projectedAsOfMs,
    venueAsOfMs: d.venueAsOfMs,
  };
}
