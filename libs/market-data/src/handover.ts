/**
 * A pair handed over between live market-data replicas without a gap (marketData.leases,
 * `handoverTimeout`): a replica joins, or one stops cleanly and `leave`s first.
 *
 * - The next owner sees the pair among its round's `waiting` (preferred for it, another
 *   replica still holds it) and follows it without publishing (FeedVenue.warming). Once its
 *   book is synced it holds the pair's `md-warm` lease: "ready to take it".
 * - The holder, no longer preferred, keeps the pair (SharedLeases `holdForHandover`) until the
 *   next owner holds that warm lease, or `timeoutMs` after it began to wait; then it releases.
 * - After releasing, the holder goes on publishing the pair (lingering) until it has seen the
 *   next owner hold the pair's lease for a round, so the two overlap instead of leaving a gap
 *   (md.book ids store the same book state once); bounded by `timeoutMs` too.
 * - The next owner takes the pair at its next round with the book already synced, and
 *   publishes it at once.
 *
 * A replica killed -9 hands nothing over: its pairs lapse after the lease TTL, as before.
 */
import type { EpochMs } from '@perpmesh/core';
import { Lease, type StateStore } from '@perpmesh/state';
import { type InstrumentPair, type LeaseRound, pairKey } from './leases.js';

export const WARM_LEASE_SCOPE = 'md-warm';
export const DEFAULT_MD_HANDOVER_TIMEOUT_MS = 5_000;

/** A handover's settings: its timeout (default DEFAULT_MD_HANDOVER_TIMEOUT_MS) and the lease round. */
export interface HandoverTiming {
  readonly handoverTimeoutMs?: number | undefined;
  readonly renewIntervalMs: number;
}

export function handoverTimeoutOf(timing: HandoverTiming): number {
  return timing.handoverTimeoutMs ?? DEFAULT_MD_HANDOVER_TIMEOUT_MS;
}

/** The longest a clean stop waits for its handover: the timeout and one lease round after it. */
export function handoverStopBoundMs(timing: HandoverTiming): number {
  return handoverTimeoutOf(timing) + timing.renewIntervalMs;
}

export interface PairHandoverOptions {
  readonly store: StateStore;
  /** This replica (the lease holder name). */
  readonly holder: string;
  /** TTL of the warm leases (the pair leases' TTL). */
  readonly ttlMs: number;
  /** How long a holder waits for the next owner to be ready, and lingers after; 0 = no handover. */
  readonly timeoutMs: number;
  readonly nowMs: () => EpochMs;
}

/** What the feed follows after a round: `published` (owned or lingering) and `warming` (silent). */
export interface FeedPlan {
  readonly published: readonly InstrumentPair[];
  readonly warming: readonly InstrumentPair[];
}

export class PairHandover {
  readonly #o: PairHandoverOptions;
  readonly #warm = new Map<string, Lease>();
  /** Pairs held for a handover, since when (the wait's bound). */
  readonly #holdingSince = new Map<string, EpochMs>();
  /** Pairs released in a handover and still published. */
  readonly #lingering = new Map<string, { pair: InstrumentPair; sinceMs: EpochMs; takenSeen: boolean }>();

  constructor(options: PairHandoverOptions) {
    this.#o = options;
  }

  /** True while a released pair is still published (a clean stop waits for none). */
  get lingering(): boolean {
    return this.#lingering.size > 0;
  }

  /** SharedLeases' `holdForHandover`: keep `pair` until `to` holds its warm lease, or the bound. */
  async holdForHandover(pair: InstrumentPair, to: string): Promise<boolean> {
    if (this.#o.timeoutMs <= 0) return false;
    const key = pairKey(pair);
    const now = this.#o.nowMs();
    const since = this.#holdingSince.get(key) ?? now;
    this.#holdingSince.set(key, since);
    const warm = await this.#warmLease(key).current();
    const nextReady = warm !== undefined && warm.holder === to && warm.expiresAtMs > now;
    if (!nextReady && now - since < this.#o.timeoutMs) return true;
    this.#holdingSince.delete(key);
    this.#lingering.set(key, { pair, sinceMs: now, takenSeen: false });
    return false;
  }

  /**
   * After a lease round: drops the lingering pairs the next owner has held for a round (or
   * past the bound), holds the warm lease of each waiting pair whose book `synced` here, and
   * says what the feed follows.
   */
  async afterRound(
    round: LeaseRound,
    synced: (pair: InstrumentPair) => boolean,
    holderOf: (pair: InstrumentPair) => Promise<string | undefined>,
  ): Promise<FeedPlan> {
    const now = this.#o.nowMs();
    const owned = new Set(round.owned.map(pairKey));
    const handingOver = new Set(round.handingOver.map(pairKey));
    for (const key of [...this.#holdingSince.keys()])
      if (!handingOver.has(key)) this.#holdingSince.delete(key);
    for (const [key, l] of [...this.#lingering]) {
      if (owned.has(key) || now - l.sinceMs >= this.#o.timeoutMs) {
        this.#lingering.delete(key);
        continue;
      }
      const holder = await holderOf(l.pair);
      if (holder === undefined || holder === this.#o.holder) continue;
      if (l.takenSeen) this.#lingering.delete(key);
      else l.takenSeen = true;
    }
    const waiting = this.#o.timeoutMs > 0 ? round.waiting.filter((w) => !owned.has(pairKey(w))) : [];
    const ready = new Set<string>();
    for (const w of waiting) {
      const key = pairKey(w);
      if (!synced(w)) continue;
      const lease = this.#warmLease(key);
      if (lease.held ? await lease.renew() : await lease.tryAcquire()) ready.add(key);
    }
    for (const [key, lease] of this.#warm) if (lease.held && !ready.has(key)) await lease.release();
    const published = [...round.owned, ...[...this.#lingering.values()].map((l) => l.pair)];
    const publishedKeys = new Set(published.map(pairKey));
    return {
      published,
      warming: waiting
        .filter((w) => !publishedKeys.has(pairKey(w)))
        .map(({ venue, instrument }) => ({ venue, instrument })),
    };
  }

  /** The warm leases this replica holds, given up (stop). */
  async releaseAll(): Promise<void> {
    for (const lease of this.#warm.values()) if (lease.held) await lease.release();
  }

  #warmLease(key: string): Lease {
    let lease = this.#warm.get(key);
    if (!lease) {
      lease = new Lease({
        store: this.#o.store,
        scope: WARM_LEASE_SCOPE,
        name: key,
        holder: this.#o.holder,
        ttlMs: this.#o.ttlMs,
        nowMs: this.#o.nowMs,
      });
      this.#warm.set(key, lease);
    }
    return lease;
  }
}
