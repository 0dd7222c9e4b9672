/**
 * Each venue's funding readings, as the arb book keeps them: per configured market, the
 * reading each settlement was priced at (the last one before the venue's next funding
 * time moved on) and the current one (what the next settlement is expected to pay),
 * bounded. Next to each leg's settled payments (arb-book.ts `fundingHistory`) this is the
 * funding history the operator compares predictions with.
 */
import { z } from 'zod';
import { decimalCodec, msSchema } from '../../codec.js';
import { type FundingState, marketKey } from '../../world.js';
import type { FundingArbState } from './arb-book.js';

export const fundingReadingCodec = z.object({
  /** The settlement the reading prices (the venue's next funding time when it was read). */
  fundingTimeMs: msSchema,
  /** The venue's rate for its own interval. */
  rate: decimalCodec,
  intervalMs: z.int().min(1),
  mark: decimalCodec.optional(),
  /** When the venue stamped the reading. */
  asOfMs: msSchema,
});
export type FundingReading = z.output<typeof fundingReadingCodec>;

export const marketReadingsCodec = z.object({
  venue: z.string(),
  instrument: z.string(),
  /** The latest reading (the next settlement's). */
  current: fundingReadingCodec.optional(),
  /** One reading per past settlement, oldest first. */
  settled: z.array(fundingReadingCodec),
});
export type MarketReadings = z.output<typeof marketReadingsCodec>;

/** Settlements kept per market: two days of an hourly venue, sixteen of an 8 h one. */
export const MAX_READINGS_PER_MARKET = 48;

/** Folds the market's latest reading in: when its funding time moved on, the previous one is that settlement's. */
export function recordReading(
  state: FundingArbState,
  venue: string,
  instrument: string,
  funding: Pick<FundingState, 'rate' | 'intervalMs' | 'nextFundingTimeMs' | 'markPrice' | 'asOfMs'>,
): void {
  const readings = state.fundingReadings ?? {};
  state.fundingReadings = readings;
  const key = marketKey(venue, instrument);
  const market = readings[key] ?? { venue, instrument, settled: [] };
  readings[key] = market;
  const current = market.current;
  if (current && funding.nextFundingTimeMs > current.fundingTimeMs) {
    market.settled.push(current);
    if (market.settled.length > MAX_READINGS_PER_MARKET) market.settled.shift();
  }
  market.current = {
    fundingTimeMs: funding.nextFundingTimeMs,
    rate: funding.rate,
    intervalMs: funding.intervalMs,
    ...(funding.markPrice ? { mark: funding.markPrice } : {}),
    asOfMs: funding.asOfMs,
  };
}
