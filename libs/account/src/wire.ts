/**
 * The account service's one proto boundary: exec.fill / acct.funding payloads in (to the
 * projections' inputs; errors name the field), readings and facts out (to the generated
 * messages). Pure; usable without an AccountService (a replay tool rebuilds projections
 * and views with it).
 */
import {
  type AccountDrift,
  type AccountSummary,
  type AccountTotals,
  type Balance,
  type BalanceView,
  decimalFromWire,
  decimalToWire,
  type Fill,
  type FundingPayment,
  optionalDecimalFromWire,
  optionalDecimalToWire,
  type Position,
  type PositionView,
  positionSideToProto,
  StateSource,
  sideFromProto,
} from '@perpmesh/contracts';
import { type EpochMs, type PositionSide, roundForReport, ValidationError, ZERO } from '@perpmesh/core';
import type { ProjectedFill, ProjectedFunding } from './projection.js';
import type {
  AccountStateSource,
  AccountSummaryReading,
  BalanceReading,
  DriftFact,
  Freshness,
  FundingPaymentFact,
  PositionReading,
  SummaryTotals,
} from './readings.js';

// ---- in: log payloads → projection inputs ------------------------------------------------------

/** An exec.fill payload → the projection's fill (the proto boundary; errors name the field). */
export function fillFromWire(fill: Fill, tsEventMs: EpochMs): ProjectedFill {
  if (!fill.tradeId) throw new ValidationError('fill.tradeId', 'is required');
  return {
    venue: fill.venue,
    account: fill.account,
    instrument: fill.instrument,
    tradeId: fill.tradeId,
    side: sideFromProto(fill.side, 'fill.side'),
    price: decimalFromWire(fill.price, 'fill.price'),
    size: decimalFromWire(fill.size, 'fill.size'),
    fee: optionalDecimalFromWire(fill.fee, 'fill.fee') ?? ZERO,
    tsEventMs: fill.filledAtMs > 0 ? fill.filledAtMs : tsEventMs,
  };
}

/** An acct.funding payload → the projection's funding payment. */
export function fundingFromWire(payment: FundingPayment): ProjectedFunding {
  if (!(payment.fundingTimeMs > 0)) {
    throw new ValidationError(
      'fundingPayment.fundingTimeMs',
      `must be ms since epoch, got ${payment.fundingTimeMs}`,
    );
  }
  return {
    venue: payment.venue,
    account: payment.account,
    instrument: payment.instrument,
    amount: decimalFromWire(payment.amount, 'fundingPayment.amount'),
    fundingTimeMs: payment.fundingTimeMs,
  };
}

// ---- out: readings and facts → messages ----------------------------------------------------------

const SOURCE: Readonly<Record<AccountStateSource, StateSource>> = {
  venue: StateSource.STATE_SOURCE_VENUE,
  projection: StateSource.STATE_SOURCE_PROJECTION,
};

/** `observedAtMs` only when known (the field is optional on the wire: absent means not known). */
function observedAtToProto(r: Freshness): { observedAtMs?: number } {
  return r.observedAtMs === undefined ? {} : { observedAtMs: r.observedAtMs };
}

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
    ...observedAtToProto(r),
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
    ...observedAtToProto(r),
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

/**
 * An account summary another replica answered (per_account forwarding), back to a reading so
 * the totals sum every owner's accounts. Its PnL arrives rounded for the report.
 */
export function summaryFromProto(s: AccountSummary): AccountSummaryReading {
  return {
    venue: s.venue,
    account: s.account,
    currency: s.currency,
    equity: decimalFromWire(s.equity, 'equity'),
    available: decimalFromWire(s.available, 'available'),
    unrealizedPnl: decimalFromWire(s.unrealizedPnl, 'unrealized_pnl'),
    realizedPnl: decimalFromWire(s.realizedPnl, 'realized_pnl'),
    fees: decimalFromWire(s.fees, 'fees'),
    funding: decimalFromWire(s.funding, 'funding'),
    openPositions: s.openPositions,
    openOrders: s.openOrders,
    asOfMs: s.asOfMs,
    stale: s.stale,
    ageMs: s.ageMs,
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
