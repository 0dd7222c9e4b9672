/**
 * The arb book as the operator reads it (StrategyService.GetArbBook, the CLI's `arbs`, the
 * dashboard): each arb's PnL split (funding, price/basis, fees, slippage against the
 * decision mid) with its open legs marked at the book mids, its break-even time at the
 * current funding, and the book's totals, raised alarms and circuit breaker. Pure: it
 * reads the arb book and the strategy's world, decides nothing.
 */
import { type Decimal, minDec, ZERO } from '@perpmesh/core';
import { marketKey, midOf, type WorldState } from '../../world.js';
import {
  type Arb,
  type ArbLeg,
  type Attribution,
  attributionInputs,
  attributionOf,
  type FundingArbState,
  type LegMarks,
  legOpenSize,
  sumAttributions,
} from './arb-book.js';
import { type ArbStep, arbInputs, human } from './arb-step.js';
import { type BreakerState, initialBreaker } from './breaker.js';
import { type CarryVenue, carryPerHour, markedPnlAfterExit, ratePerHourOf } from './carry.js';
import type { MarketReadings } from './funding-history.js';

export interface ArbReport {
  readonly arb: Arb;
  /** The book mids the open legs are valued at (none for a closed arb or a missing book). */
  readonly marks: LegMarks;
  readonly attribution: Attribution;
  /**
   * Hours of the current funding still needed before closing breaks even (after exit
   * costs); 0 once it has; undefined when the funding does not pay or the arb is closed.
   */
  readonly breakEvenHours: Decimal | undefined;
  /** What the open size earns per hour at the current rates; undefined without both venues' data. */
  readonly carryPerHour: Decimal | undefined;
  /** What closing now still leaves to earn back (0 when closing now is a profit). */
  readonly costToBreakEven: Decimal | undefined;
}

export interface RaisedAlarm {
  readonly key: string;
  readonly name: string;
  readonly sinceMs: number;
  readonly message: string;
}

export interface ArbBookReport {
  readonly active: ArbReport[];
  readonly closed: ArbReport[];
  /** Attribution summed over the active and the closed arbs. */
  readonly totals: Attribution;
  /** Hours the active arbs together still need at the current funding; undefined when they earn nothing per hour. */
  readonly breakEvenHours: Decimal | undefined;
  readonly alarms: RaisedAlarm[];
  readonly breaker: BreakerState;
  /** Each configured venue's funding readings per market (funding-history.ts), in market order. */
  readonly fundingReadings: MarketReadings[];
}

/** A venue's market as the report values it: book mid, taker fee, per-hour rate, mark. */
function carryVenueOf(world: WorldState, venue: string, instrument: string): CarryVenue | undefined {
  const key = marketKey(venue, instrument);
  const book = world.books[key];
  const market = world.markets[key];
  const funding = world.funding[key];
  const mid = midOf(book);
  if (!book || !market || !funding || !mid) return undefined;
  return {
    book,
    mid,
    feeRate: market.takerFeeRate,
    ratePerHour: ratePerHourOf(funding),
    mark: funding.markPrice ?? mid,
    funding,
  };
}

/** One arb's report; closed arbs are not marked and have no break-even. */
export function arbReport(arb: Arb, world: WorldState): ArbReport {
  if (arb.phase === 'closed') {
    return {
      arb,
      marks: {},
      attribution: attributionOf(arb),
      breakEvenHours: undefined,
      carryPerHour: undefined,
      costToBreakEven: undefined,
    };
  }
  const short = carryVenueOf(world, arb.short.venue, arb.instrument);
  const long = carryVenueOf(world, arb.long.venue, arb.instrument);
  const marks: LegMarks = { short: short?.mid, long: long?.mid };
  const attribution = attributionOf(arb, marks);
  const size = minDec(legOpenSize(arb.short), legOpenSize(arb.long));
  // Nothing hedged yet (an entry still filling, a leg unwound): there is no carry to earn back with.
  if (!short || !long || size.isZero()) {
    return {
      arb,
      marks,
      attribution,
      breakEvenHours: undefined,
      carryPerHour: undefined,
      costToBreakEven: undefined,
    };
  }
  const perHour = carryPerHour(short, long, size);
  const afterExit = markedPnlAfterExit(
    { position: arb.short.position, view: short },
    { position: arb.long.position, view: long },
    size,
  );
  const cost = afterExit === undefined ? undefined : afterExit.isNeg() ? afterExit.neg() : ZERO;
  const breakEvenHours =
    cost === undefined ? undefined : cost.isZero() ? ZERO : perHour.gt(0) ? cost.div(perHour) : undefined;
  return { arb, marks, attribution, breakEvenHours, carryPerHour: perHour, costToBreakEven: cost };
}

/** The whole book: active arbs in instrument order, closed ones oldest first, totals, alarms, breaker. */
export function arbBookReport(state: FundingArbState, world: WorldState): ArbBookReport {
  const active = Object.keys(state.arbs)
    .sort()
    .map((k) => arbReport(state.arbs[k]!, world));
  const closed = state.closed.map((a) => arbReport(a, world));
  const totals = sumAttributions([...active, ...closed].map((r) => r.attribution));
  let cost = ZERO;
  let perHour = ZERO;
  for (const r of active) {
    cost = cost.plus(r.costToBreakEven ?? ZERO);
    perHour = perHour.plus(r.carryPerHour ?? ZERO);
  }
  const breakEvenHours = cost.isZero()
    ? active.length > 0
      ? ZERO
      : undefined
    : perHour.gt(0)
      ? cost.div(perHour)
      : undefined;
  const alarms = Object.entries(state.alarms ?? {})
    .map(([key, a]) => ({ key, name: a.name, sinceMs: a.sinceMs, message: a.message ?? a.name }))
    .sort((a, b) => a.sinceMs - b.sinceMs || a.key.localeCompare(b.key));
  const readings = state.fundingReadings ?? {};
  const fundingReadings = Object.keys(readings)
    .sort()
    .map((k) => readings[k]!);
  return {
    active,
    closed,
    totals,
    breakEvenHours,
    alarms,
    breaker: state.breaker ?? initialBreaker(),
    fundingReadings,
  };
}

/**
 * One decision per settled payment on an arb leg (`funding_settled`): the payment next to
 * its prediction, and the arb's attribution and break-even as they stand after it, so the
 * decision log tells the PnL split as it grows, not only at the close.
 */
export function reportSettlement(step: ArbStep, arb: Arb, leg: ArbLeg): void {
  const last = leg.fundingHistory?.[leg.fundingHistory.length - 1];
  if (!last) return;
  const r = arbReport(arb, step.world);
  const a = r.attribution;
  const name = leg === arb.short ? 'short' : 'long';
  step.decide({
    kind: 'signal',
    reasonCode: 'funding_settled',
    message: `${name} leg on ${leg.venue} settled ${human(last.settled)} (predicted ${last.predicted ? human(last.predicted) : 'none'}); arb net ${human(a.net)}, break-even ${r.breakEvenHours ? `${r.breakEvenHours.toFixed(1)} h` : r.arb.phase === 'closed' ? 'closed' : 'never'}`,
    inputs: {
      ...arbInputs(step, arb),
      leg: name,
      venue: leg.venue,
      funding_time_ms: String(last.fundingTimeMs),
      settled: last.settled.toFixed(),
      predicted: last.predicted?.toFixed() ?? '',
      reading_rate: last.rate?.toFixed() ?? '',
      ...attributionInputs(a),
      break_even_hours: r.breakEvenHours?.toFixed() ?? '',
      carry_per_hour: r.carryPerHour?.toFixed() ?? '',
    },
  });
}
