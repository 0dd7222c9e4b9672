/**
 * How old a venue reading is: ONE rule, on OUR clock.
 *
 * A reading carries `asOfMs`, the venue's time of it (the contract: events keep it, and
 * readings of one venue are ordered by it). That time is on the venue's clock, which may run
 * seconds behind ours (every age grows by the skew: a fresh balance looks stale) or ahead (a
 * reading looks fresher than it is, and with the age clamped at 0 it stays "fresh" for the
 * skew past its staleness bound). Some adapters also stamp a reading with our clock when the
 * venue gives no time, and Binance dates a balance by its last change, not by the read, so
 * correcting the venue time by a measured offset would be wrong for those.
 *
 * So a reading's age runs from `observedAtMs`: when WE knew it to be true, on our clock,
 * stamped where it enters the system: for a poll, when the request was sent (the venue's
 * answer holds its state at or after that moment, so an answer that arrives late is as old
 * as the request, never fresh); for a pushed message, when it arrived. Readers that get an
 * event from an older producer without `observedAtMs` fall back to `asOfMs`.
 */
import type { EpochMs } from './types.js';

export interface TimedReading {
  /** The venue's time of the reading. */
  readonly asOfMs: EpochMs;
  /** Our clock when the reading was known true; 0 or absent when the producer did not say. */
  readonly observedAtMs?: EpochMs | undefined;
}

/** When the reading was known true, on our clock: `observedAtMs`, else (older producers) `asOfMs`. */
export function readingObservedAtMs(reading: TimedReading): EpochMs {
  const observed = reading.observedAtMs;
  return observed !== undefined && observed > 0 ? observed : reading.asOfMs;
}

/** Our clock minus when the reading was known true; never negative. */
export function readingAgeMs(reading: TimedReading, nowMs: EpochMs): number {
  return Math.max(0, nowMs - readingObservedAtMs(reading));
}

/** Older than `staleAfterMs` by {@link readingAgeMs}. */
export function readingIsStale(reading: TimedReading, nowMs: EpochMs, staleAfterMs: number): boolean {
  return readingAgeMs(reading, nowMs) > staleAfterMs;
}
