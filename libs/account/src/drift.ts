/**
 * Drift: our projection and the venue disagree about a value for longer than a grace
 * period. The grace covers events in flight: the venue's position moves the moment an
 * order fills, our projection only once the execution service has published the fill and
 * our consumer has applied it. A disagreement that outlives the grace is reported once;
 * it is reported again only when one of the two values changes, and forgotten when they
 * agree again. Pure: time comes in as `nowMs`.
 */
import { type Decimal, type EpochMs, parseDecimal, ZERO } from '@perpmesh/core';
import type { VenuePosition } from '@perpmesh/venues';
import { type PositionsProjection, positionKey } from './projection.js';

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

/**
 * The venue's wallet total moves by realized PnL, fees and funding; those the projection
 * explains. The rest (deposits, withdrawals, history before we started) is the baseline,
 * fixed at the first reading. A move of the baseline is unexplained: reported after the
 * grace, then accepted as the new baseline (so it is reported once).
 */
export interface BalanceObservation {
  /** Identifies the balance, e.g. `paper|main|USDC|balance.total`. */
  readonly key: string;
  readonly venueTotal: Decimal;
  /** What the projection explains: Σ net realized PnL of the account's positions. */
  readonly explained: Decimal;
  readonly projectedAsOfMs: EpochMs;
  readonly venueAsOfMs: EpochMs;
}

export class BalanceDriftDetector {
  readonly #detector: DriftDetector;
  readonly #baselines = new Map<string, Decimal>();

  constructor(options: { graceMs: number; tolerance: Decimal }) {
    this.#detector = new DriftDetector(options);
  }

  /** `baseline` on the first reading (nothing to compare yet), else the detector's verdict. */
  observe(o: BalanceObservation, nowMs: EpochMs): DriftVerdict | { readonly kind: 'baseline' } {
    const offset = o.venueTotal.minus(o.explained);
    const baseline = this.#baselines.get(o.key);
    if (baseline === undefined) {
      this.#baselines.set(o.key, offset);
      return { kind: 'baseline' };
    }
    const verdict = this.#detector.observe(
      {
        key: o.key,
        projected: baseline.plus(o.explained),
        venue: o.venueTotal,
        projectedAsOfMs: o.projectedAsOfMs,
        venueAsOfMs: o.venueAsOfMs,
      },
      nowMs,
    );
    if (verdict.kind === 'report') this.#baselines.set(o.key, offset);
    return verdict;
  }

  /** Forgets the baselines (a takeover starts from fresh readings). */
  resetBaselines(): void {
    this.#baselines.clear();
  }
}

/** One instrument's projected size against the venue's, ready for `DriftDetector.observe`. */
export interface PositionSizeObservation extends DriftObservation {
  readonly instrument: string;
  /** `positionKey(venue, account, instrument)`. */
  readonly positionKey: string;
  /** Our clock when the venue's side was last known (0 when never). */
  readonly venueObservedAtMs: EpochMs;
}

/**
 * Every instrument either side knows for (venue, account): the projected size (0 when the
 * projection has none) and the venue's (0 when the venue no longer lists it, as of its last
 * positions reading). Sorted by instrument.
 */
export function positionSizeObservations(
  venueSide: {
    readonly venue: string;
    readonly account: string;
    readonly positions: ReadonlyMap<string, VenuePosition & { readonly observedAtMs?: EpochMs }>;
    readonly positionsAsOfMs: EpochMs;
    /** Our clock when the positions were last read (0 when unknown). */
    readonly positionsObservedAtMs?: EpochMs;
  },
  projection: PositionsProjection,
): PositionSizeObservation[] {
  const { venue, account } = venueSide;
  const instruments = new Set<string>(venueSide.positions.keys());
  for (const p of Object.values(projection.positions)) {
    if (p.venue === venue && p.account === account) instruments.add(p.instrument);
  }
  return [...instruments].sort().map((instrument) => {
    const key = positionKey(venue, account, instrument);
    const stored = projection.positions[key];
    const venuePosition = venueSide.positions.get(instrument);
    return {
      key: `${key}|position.size`,
      positionKey: key,
      instrument,
      projected: stored === undefined ? ZERO : parseDecimal(stored.size, 'position.size'),
      venue: venuePosition?.size ?? ZERO,
      projectedAsOfMs: stored?.updatedAtMs ?? 0,
      venueAsOfMs: venuePosition?.tsEventMs ?? venueSide.positionsAsOfMs,
      venueObservedAtMs: Math.max(venuePosition?.observedAtMs ?? 0, venueSide.positionsObservedAtMs ?? 0),
    };
  });
}
