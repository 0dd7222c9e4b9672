/**
 * The funding-arb book report (strategies/funding-arb/arb-report.ts) as StrategyService's
 * GetArbBookResponse: decimals as text, optional numbers as empty text.
 */
import {
  type ArbAttribution,
  type ArbLeg as ArbLegProto,
  type Arb as ArbProto,
  type FundingReading as FundingReadingProto,
  type FundingSettlement as FundingSettlementProto,
  type GetArbBookResponse,
  sideToProto,
} from '@perpmesh/contracts';
import { type Decimal, ZERO } from '@perpmesh/core';
import type { Arb, ArbBookReport, ArbReport, Attribution } from '../strategies/funding-arb/index.js';
import { type FundingReading, legPricePnl, legSize, ratePerHourOf } from '../strategies/funding-arb/index.js';

const text = (d: Decimal | undefined): string => d?.toFixed() ?? '';

export function attributionToProto(a: Attribution): ArbAttribution {
  return {
    funding: a.funding.toFixed(),
    fundingPredicted: a.fundingPredicted.toFixed(),
    basisPnl: a.basisPnl.toFixed(),
    fees: a.fees.toFixed(),
    slippage: a.slippage.toFixed(),
    net: a.net.toFixed(),
  };
}

function legToProto(leg: Arb['short'], mark: Decimal | undefined): ArbLegProto {
  const p = leg.position;
  const { price, unrealized } = legPricePnl(leg, mark);
  return {
    venue: leg.venue,
    account: leg.account,
    instrument: leg.instrument,
    entrySide: sideToProto(leg.entrySide),
    size: legSize(leg).toFixed(),
    entryPrice: text(p.entryPrice),
    fees: p.fees.toFixed(),
    fundingReceived: p.funding.toFixed(),
    realizedPnl: p.tradingPnl.toFixed(),
    clientOrderIds: Object.keys(leg.orders),
    pricePnl: price.toFixed(),
    unrealizedPnl: unrealized.toFixed(),
    mark: text(mark),
    slippage: (leg.slippage ?? ZERO).toFixed(),
    fundingPredicted: (leg.fundingPredicted ?? ZERO).toFixed(),
    settlements: leg.settlements ?? 0,
    fundingHistory: (leg.fundingHistory ?? []).map(
      (h): FundingSettlementProto => ({
        venue: leg.venue,
        fundingTimeMs: h.fundingTimeMs,
        settled: h.settled.toFixed(),
        predicted: text(h.predicted),
        rate: text(h.rate),
        mark: text(h.mark),
      }),
    ),
  };
}

export function arbToProto(r: ArbReport): ArbProto {
  const a = r.arb;
  const fees = a.short.position.fees.plus(a.long.position.fees);
  const funding = a.short.position.funding.plus(a.long.position.funding);
  const trading = a.short.position.tradingPnl.plus(a.long.position.tradingPnl);
  return {
    arbId: a.arbId,
    instrument: a.instrument,
    phase: a.phase,
    shortLeg: legToProto(a.short, r.marks.short),
    longLeg: legToProto(a.long, r.marks.long),
    expectedNetCarry: a.expectedNetCarry.toFixed(),
    fees: fees.toFixed(),
    fundingReceived: funding.toFixed(),
    carryNetOfFees: funding.minus(fees).toFixed(),
    realizedPnl: trading.minus(fees).plus(funding).toFixed(),
    startedAtMs: a.startedAtMs,
    closedAtMs: a.closedAtMs ?? 0,
    closeReason: a.closeReason ?? '',
    entry: { ...a.entry },
    attribution: attributionToProto(r.attribution),
    breakEvenHours: text(r.breakEvenHours),
    carryPerHour: text(r.carryPerHour),
    openedAtMs: a.openedAtMs ?? 0,
  };
}

export function arbBookToProto(
  report: ArbBookReport,
  meta: { strategyId: string; dryRun: boolean; asOfMs: number },
): GetArbBookResponse {
  const b = report.breaker;
  return {
    strategyId: meta.strategyId,
    dryRun: meta.dryRun,
    active: report.active.map(arbToProto),
    closed: report.closed.map(arbToProto),
    totals: attributionToProto(report.totals),
    breakEvenHours: text(report.breakEvenHours),
    alarms: report.alarms.map((a) => ({ key: a.key, name: a.name, sinceMs: a.sinceMs, message: a.message })),
    breaker: {
      tripped: b.tripped !== undefined,
      reasonCode: b.tripped?.reasonCode ?? '',
      message: b.tripped?.message ?? '',
      trippedAtMs: b.tripped?.atMs ?? 0,
      realizedNet: b.realizedNet.toFixed(),
      peakNet: b.peakNet.toFixed(),
      drawdown: b.peakNet.minus(b.realizedNet).toFixed(),
      consecutiveLosses: b.consecutiveLosses,
    },
    asOfMs: meta.asOfMs,
    fundingReadings: report.fundingReadings.flatMap((m) => [
      ...m.settled.map((r) => readingToProto(m.venue, m.instrument, r, false)),
      ...(m.current ? [readingToProto(m.venue, m.instrument, m.current, true)] : []),
    ]),
  };
}

function readingToProto(
  venue: string,
  instrument: string,
  r: FundingReading,
  pending: boolean,
): FundingReadingProto {
  return {
    venue,
    instrument,
    fundingTimeMs: r.fundingTimeMs,
    rate: r.rate.toFixed(),
    intervalMs: r.intervalMs,
    ratePerHour: ratePerHourOf(r).toFixed(),
    mark: text(r.mark),
    pending,
  };
}
