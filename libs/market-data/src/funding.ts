/**
 * Funding readings as market data keeps and shows them, pure: a venue's reading with its
 * rate normalized per hour and annualized (so venues with 1 h and 8 h intervals compare),
 * and its age and staleness at a given time.
 */
import type { FundingRate } from '@perpmesh/contracts';
import {
  type Decimal,
  type EpochMs,
  type InstrumentId,
  normalizeFundingRate,
  readingAgeMs,
  toWire,
  type VenueId,
} from '@perpmesh/core';
import type { FundingInfo } from '@perpmesh/venues';

export interface FundingView {
  venue: VenueId;
  instrument: InstrumentId;
  /** Raw rate for the venue's own interval. */
  rate: Decimal;
  intervalMs: number;
  ratePerHour: Decimal;
  annualized: Decimal;
  nextFundingTimeMs: EpochMs;
  markPrice: Decimal;
  indexPrice: Decimal;
  asOfMs: EpochMs;
  /** Our clock when the reading was known true (a poll's request, a push's arrival); absent when not known. */
  observedAtMs?: EpochMs;
  /** Service clock minus `observedAtMs` (else `asOfMs`): core `readingAgeMs`. */
  ageMs: number;
  stale: boolean;
}

/** A reading as stored: everything but its age. */
export type FundingReading = Omit<FundingView, 'ageMs' | 'stale'>;

export function fundingReading(venue: VenueId, info: FundingInfo, observedAtMs?: EpochMs): FundingReading {
  const normalized = normalizeFundingRate(info.rate, { intervalMs: info.intervalMs });
  return {
    venue,
    instrument: info.instrument,
    rate: info.rate,
    intervalMs: info.intervalMs,
    ratePerHour: normalized.ratePerHour,
    annualized: normalized.annualized,
    nextFundingTimeMs: info.nextFundingTimeMs,
    markPrice: info.markPrice,
    indexPrice: info.indexPrice,
    asOfMs: info.tsEventMs,
    ...(observedAtMs === undefined ? {} : { observedAtMs }),
  };
}

/** The reading at `nowMs`: stale once older than `staleAfterMs`. */
export function fundingView(reading: FundingReading, nowMs: EpochMs, staleAfterMs: number): FundingView {
  const ageMs = readingAgeMs(reading, nowMs);
  return { ...reading, ageMs, stale: ageMs > staleAfterMs };
}

/** A reading on the wire (md.funding events and GetFundingRates answers alike). */
export function fundingRateToWire(f: FundingReading): FundingRate {
  return {
    venue: f.venue,
    instrument: f.instrument,
    rate: toWire(f.rate),
    intervalMs: f.intervalMs,
    ratePerHour: toWire(f.ratePerHour),
    annualized: toWire(f.annualized),
    nextFundingTimeMs: f.nextFundingTimeMs,
    markPrice: toWire(f.markPrice),
    indexPrice: toWire(f.indexPrice),
    asOfMs: f.asOfMs,
    ...(f.observedAtMs === undefined ? {} : { observedAtMs: f.observedAtMs }),
  };
}
