/**
 * Dynamic sharding of market data (marketData.leases): replicas divide the (venue,
 * instrument) pairs through leases in the state store, with no fixed shard index.
 *
 * - Membership: each replica holds one of `maxReplicas` member slots (`md-member` leases,
 *   names 0..maxReplicas-1); the live members are the holders of unexpired slots.
 * - Division: rendezvous hashing over the live members (`preferredOwner`): every replica
 *   computes the same owner for a pair from the same member list, and a member joining or
 *   leaving moves only the pairs it gains or held.
 * - Ownership: a pair is served by the holder of its `md-instrument` lease. A replica
 *   acquires the pairs it is preferred for once they are free or expired, renews them, and
 *   releases the ones it is no longer preferred for (a joiner gets them at once).
 * - A replica killed -9 renews nothing: its slot and pair leases lapse within `ttlMs`, the
 *   members' next tick sees one member less, and the survivors take its pairs.
 */
import type { EpochMs, InstrumentId, VenueId } from '@perpmesh/core';
import { ValidationError } from '@perpmesh/core';
import { Lease, type StateStore } from '@perpmesh/state';
import { fmix32, fnv1a32 } from './shard.js';

export const MEMBER_LEASE_SCOPE = 'md-member';
export const INSTRUMENT_LEASE_SCOPE = 'md-instrument';

export interface InstrumentPair {
  readonly venue: VenueId;
  readonly instrument: InstrumentId;
}

/** The lease name of a pair: `venue|instrument`. */
export function pairKey(pair: InstrumentPair): string {
  return `${pair.venue}|${pair.instrument}`;
}

/**
 * Rendezvous (highest random weight) hashing: the member with the highest hash of
 * `member|key` owns `key` (ties: the smaller name). Undefined when there are no members.
 */
export function preferredOwner(key: string, members: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestScore = -1;
  for (const member of members) {
    const score = fmix32(fnv1a32(`${member}|${key}`));
    if (score > bestScore || (score === bestScore && best !== undefined && member < best)) {
      best = member;
      bestScore = score;
    }
  }
  return best;
}

/** A pair this replica took over from another holder (what `/readyz` reports as moved). */
export interface PairMove extends InstrumentPair {
  readonly from: string;
  readonly atMs: EpochMs;
}

export interface LeaseRound {
  /** The pairs this replica holds now, in the configured order. */
  readonly owned: readonly InstrumentPair[];
  /** True when `owned` differs from the previous round's. */
  readonly changed: boolean;
  /** Pairs taken over from another holder in this round. */
  readonly moved: readonly PairMove[];
  /** The live members this round saw (this replica included when it holds a slot). */
  readonly members: readonly string[];
}

export interface InstrumentLeasesOptions {
  readonly store: StateStore;
  /** Unique per process (no '|'): e.g. `market-data/a:host:pid`. */
  readonly holder: string;
  readonly pairs: readonly InstrumentPair[];
  readonly ttlMs: number;
  readonly maxReplicas: number;
  readonly nowMs: () => EpochMs;
}

export class InstrumentLeases {
  readonly #o: InstrumentLeasesOptions;
  readonly #slots: Lease[];
  readonly #leases = new Map<string, Lease>();
  #slot: Lease | undefined;
  #owned: string[] = [];
  #members: string[] = [];

  constructor(options: InstrumentLeasesOptions) {
    if (!Number.isSafeInteger(options.maxReplicas) || options.maxReplicas < 1) {
      throw new ValidationError(
        'leases.maxReplicas',
        `must be a whole number >= 1, got ${options.maxReplicas}`,
      );
    }
    this.#o = options;
    const lease = (scope: string, name: string) =>
      new Lease({
        store: options.store,
        scope,
        name,
        holder: options.holder,
        ttlMs: options.ttlMs,
        nowMs: options.nowMs,
      });
    this.#slots = Array.from({ length: options.maxReplicas }, (_, i) => lease(MEMBER_LEASE_SCOPE, String(i)));
    for (const pair of options.pairs)
      this.#leases.set(pairKey(pair), lease(INSTRUMENT_LEASE_SCOPE, pairKey(pair)));
  }

  get holder(): string {
    return this.#o.holder;
  }

  /** The members seen in the last round. */
  get members(): readonly string[] {
    return this.#members;
  }

  /** Who should serve a pair, by the last round's members (for "ask that replica" answers). */
  expectedOwner(pair: InstrumentPair): string | undefined {
    return preferredOwner(pairKey(pair), this.#members);
  }

  /** Who holds a pair's lease now (unexpired), read from the store: where a query for it goes. */
  async currentOwner(pair: InstrumentPair): Promise<string | undefined> {
    const current = await this.#leases.get(pairKey(pair))?.current();
    return current && current.expiresAtMs > this.#o.nowMs() ? current.holder : undefined;
  }

  /** One round: keep or take a member slot, read the members, renew/acquire/release pairs. */
  async tick(): Promise<LeaseRound> {
    await this.#keepSlot();
    const now = this.#o.nowMs();
    const members: string[] = [];
    for (const slot of this.#slots) {
      const current = await slot.current();
      if (current && current.expiresAtMs > now && !members.includes(current.holder))
        members.push(current.holder);
    }
    this.#members = members.sort();
    const member = this.#slot?.held === true;
    const moved: PairMove[] = [];
    const owned: string[] = [];
    for (const [key, lease] of this.#leases) {
      const wanted = member && preferredOwner(key, this.#members) === this.#o.holder;
      if (lease.held) {
        if (!wanted) await lease.release();
        else if (await lease.renew()) owned.push(key);
        continue;
      }
      if (!wanted) continue;
      const before = await lease.current();
      if (await lease.tryAcquire()) {
        owned.push(key);
        if (before && before.holder !== this.#o.holder) {
          moved.push({ ...this.#pair(key), from: before.holder, atMs: this.#o.nowMs() });
        }
      }
    }
    const changed = owned.join(',') !== this.#owned.join(',');
    this.#owned = owned;
    return { owned: owned.map((k) => this.#pair(k)), changed, moved, members: this.#members };
  }

  /** Clean stop: every lease given up, so the others take the pairs at once. */
  async releaseAll(): Promise<void> {
    for (const lease of this.#leases.values()) if (lease.held) await lease.release();
    await this.#slot?.release();
    this.#slot = undefined;
    this.#owned = [];
  }

  async #keepSlot(): Promise<void> {
    if (this.#slot && (await this.#slot.renew())) return;
    this.#slot = undefined;
    for (const slot of this.#slots) {
      if (await slot.tryAcquire()) {
        this.#slot = slot;
        return;
      }
    }
  }

  #pair(key: string): InstrumentPair {
    const pair = this.#o.pairs.find((p) => pairKey(p) === key);
    if (!pair) throw new Error(`unknown pair ${key}`); // unreachable: keys come from the pairs
    return pair;
  }
}
