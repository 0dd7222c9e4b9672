/**
 * A venue's clock offset from ours (venue minus ours, ms), measured from the venue's own
 * times in its answers: a server-time call (ccxt `fetchTime`), a time the venue puts in an
 * answer (Lighter's `predicted_execution_time_ms`), or an HTTP `Date` header (whole
 * seconds). Each answer bounds the offset: the venue read its clock between our send and our
 * receipt, so `venueTime - receivedAt <= offset <= venueTime + resolution - sentAt`. The
 * bounds of recent answers are intersected (a `Date` header's second narrows as answers land
 * on either side of a second's edge); bounds that no longer meet mean the clock was stepped,
 * and the newest answer starts over.
 *
 * Used where a venue judges OUR request against ITS clock: a scheduled cancel-all's deadline
 * (`venueDeadlineMs`: never earlier than asked, whatever the uncertainty), and shown as the
 * metric `perpmesh_venue_clock_offset_seconds`. A reading's age is not computed from it (core
 * `readingAgeMs` counts from when we observed the reading).
 */
import type { EpochMs } from '@perpmesh/core';

/** What is known of a venue's clock offset. */
export interface VenueClockOffset {
  /** Venue clock minus ours, ms (the middle of what the answers allow). */
  readonly offsetMs: number;
  /** Half the width of what the answers allow: the offset is within `offsetMs` ± this. */
  readonly uncertaintyMs: number;
  /** Our clock when the newest answer that bounds it arrived. */
  readonly measuredAtMs: EpochMs;
}

export interface VenueClockOptions {
  /** Answers older than this (our clock) no longer narrow the bounds: clocks drift. Default 10 min. */
  readonly keepMs?: number;
  /** Our clock (tests). */
  readonly nowMs?: () => EpochMs;
}

interface Bounds {
  lo: number;
  hi: number;
  /** Our clock of the oldest answer in the intersection. */
  sinceMs: EpochMs;
  measuredAtMs: EpochMs;
}

export class VenueClock {
  readonly #keepMs: number;
  readonly #nowMs: () => EpochMs;
  #bounds: Bounds | undefined;

  constructor(options: VenueClockOptions = {}) {
    this.#keepMs = options.keepMs ?? 10 * 60_000;
    this.#nowMs = options.nowMs ?? Date.now;
  }

  /**
   * One answer: the venue's time `venueTimeMs` (read by the venue between `sentAtMs` and
   * `receivedAtMs` on our clock), `resolutionMs` its granularity (1000 for a `Date` header:
   * the venue's clock was in [venueTime, venueTime + 1000)). Malformed values are ignored.
   */
  observe(venueTimeMs: number, sentAtMs: EpochMs, receivedAtMs: EpochMs, resolutionMs = 0): void {
    if (![venueTimeMs, sentAtMs, receivedAtMs, resolutionMs].every(Number.isFinite)) return;
    if (venueTimeMs <= 0 || receivedAtMs < sentAtMs || resolutionMs < 0) return;
    const lo = venueTimeMs - receivedAtMs;
    const hi = venueTimeMs + resolutionMs - sentAtMs;
    const b = this.#bounds;
    const fresh = b !== undefined && receivedAtMs - b.sinceMs <= this.#keepMs;
    if (fresh && Math.max(b.lo, lo) <= Math.min(b.hi, hi)) {
      b.lo = Math.max(b.lo, lo);
      b.hi = Math.min(b.hi, hi);
      b.measuredAtMs = Math.max(b.measuredAtMs, receivedAtMs);
      return;
    }
    this.#bounds = { lo, hi, sinceMs: sentAtMs, measuredAtMs: receivedAtMs };
  }

  /** An HTTP answer's `Date` header (whole seconds), when it has a valid one. */
  observeDateHeader(date: string | null | undefined, sentAtMs: EpochMs, receivedAtMs: EpochMs): void {
    if (!date) return;
    const venueTimeMs = Date.parse(date);
    if (Number.isFinite(venueTimeMs)) this.observe(venueTimeMs, sentAtMs, receivedAtMs, 1_000);
  }

  /** Undefined until an answer was observed. */
  offset(): VenueClockOffset | undefined {
    const b = this.#bounds;
    if (b === undefined) return undefined;
    return {
      offsetMs: Math.round((b.lo + b.hi) / 2),
      uncertaintyMs: Math.ceil((b.hi - b.lo) / 2),
      measuredAtMs: b.measuredAtMs,
    };
  }

  /** Measured within the last `maxAgeMs` (our clock). */
  measuredWithin(maxAgeMs: number): boolean {
    const b = this.#bounds;
    return b !== undefined && this.#nowMs() - b.measuredAtMs <= maxAgeMs;
  }

  /**
   * The venue-clock time to ask for so that at least `afterMs` passes before it on either
   * clock: our clock now plus the offset plus its uncertainty (so never early), plus
   * `afterMs`. Without a measure: our clock (offset 0, as before).
   */
  venueDeadlineMs(afterMs: number): EpochMs {
    const o = this.offset();
    return this.#nowMs() + (o === undefined ? 0 : o.offsetMs + o.uncertaintyMs) + afterMs;
  }
}

/**
 * What a scheduled cancel-all asks for, from `afterMs`: a deadline near the venue's minimum
 * loses some of it in transit before the venue checks it, so one below the minimum plus a
 * tenth of it (at most 10 s) gets that allowance on top.
 */
export function scheduledCancelDelayMs(afterMs: number, minMs: number): number {
  return Math.max(afterMs, minMs + Math.min(10_000, Math.ceil(minMs / 10)));
}
