/**
 * Drift: our projection and the venue disagree about a value for longer than a grace
 * period. The grace covers events in flight: the venue's position moves the moment an
 * order fills, our projection only once the execution service has published the fill and
 * our consumer has applied it. A disagreement that outlives the grace is reported once;
 * it is reported again only when one of the two values changes, and forgotten when they
 * agree again. Pure: time comes in as `nowMs`.
 */
import type { Decimal, EpochMs } from '@perpmesh/core';

export interface DriftObservation {
  /** Identifies the value, e.g. `paper|main|BTC-USDC-PERP|position.size`. */
  readonly key: string;
  readonly projected: Decimal;
  readonly venue: Decimal;
  readonly projectedAsOfMs: EpochMs;
  readonly venueAsOfMs: EpochMs;
}

export interface DriftReport extends DriftObservation {
  /** When the two values were first seen to differ. */
  readonly sinceMs: EpochMs;
}

export type DriftVerdict =
  | { readonly kind: 'agree' }
  /** They differ, but not yet for longer than the grace (or already reported as they are). */
  | { readonly kind: 'pending'; readonly sinceMs: EpochMs }
  | { readonly kind: 'report'; readonly report: DriftReport };

interface Episode {
  readonly sinceMs: EpochMs;
  reported: string | undefined;
}

export class DriftDetector {
  readonly #episodes = new Map<string, Episode>();
  readonly #graceMs: number;
  readonly #tolerance: Decimal;

  constructor(options: { graceMs: number; tolerance: Decimal }) {
    this.#graceMs = options.graceMs;
    this.#tolerance = options.tolerance;
  }

  observe(observation: DriftObservation, nowMs: EpochMs): DriftVerdict {
    const { key } = observation;
    if (observation.projected.minus(observation.venue).abs().lte(this.#tolerance)) {
      this.#episodes.delete(key);
      return { kind: 'agree' };
    }
    let episode = this.#episodes.get(key);
    if (episode === undefined) {
      episode = { sinceMs: nowMs, reported: undefined };
      this.#episodes.set(key, episode);
    }
    const signature = `${observation.projected.toFixed()}|${observation.venue.toFixed()}`;
    if (nowMs - episode.sinceMs < this.#graceMs || episode.reported === signature) {
      return { kind: 'pending', sinceMs: episode.sinceMs };
    }
    episode.reported = signature;
    return { kind: 'report', report: { ...observation, sinceMs: episode.sinceMs } };
  }

  /** Keys currently differing (reported or not). */
  active(): string[] {
    return [...this.#episodes.keys()];
  }

  forget(key: string): void {
    this.#episodes.delete(key);
  }
}
