/**
 * Dynamic sharding of market data (marketData.leases): replicas divide the (venue,
 * instrument) pairs through leases in the state store, with no fixed shard index. The
 * mechanics are @perpmesh/state `SharedLeases` (shared with the account service); this maps
 * pairs to its keys.
 *
 * - Membership: each replica holds one of `maxReplicas` member slots (`md-member` leases,
 *   names 0..maxReplicas-1); the live members are the holders of unexpired slots.
 * - Division: rendezvous hashing over the live members (`preferredOwner`): every replica
 *   computes the same owner for a pair from the same member list, and a member joining or
 *   leaving moves only the pairs it gains or held.
 * - Ownership: a pair is served by the holder of its `md-instrument` lease. A replica
 *   acquires the pairs it is preferred for once they are free or expired, renews them, and
 *   releases the ones it is no longer preferred for (a joiner gets them at once).
 * - Handover between live replicas (`holdForHandover`, the service's warm-up): a pair's next
 *   owner follows it without publishing while it waits (`waiting`), and the holder keeps it
 *   until that owner's book is synced; a clean stop `leave`s first, so its pairs are handed
 *   over the same way.
 * - A replica killed -9 renews nothing: its slot and pair leases lapse within `ttlMs`, the
 *   members' next tick sees one member less, and the survivors take its pairs.
 */
import type { EpochMs, InstrumentId, VenueId } from '@perpmesh/core';
import { preferredOwner, SharedLeases, type StateStore } from '@perpmesh/state';

export { preferredOwner } from '@perpmesh/state';

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
  /** Of `owned`, the pairs kept only until their next owner is ready (handover). */
  readonly handingOver: readonly InstrumentPair[];
  /** Pairs coming to this replica that another holder still serves (`holder`). */
  readonly waiting: readonly (InstrumentPair & { readonly holder: string })[];
}

export interface InstrumentLeasesOptions {
  readonly store: StateStore;
  /** Unique per process (no '|'): e.g. `market-data/a:host:pid`. */
  readonly holder: string;
  readonly pairs: readonly InstrumentPair[];
  readonly ttlMs: number;
  readonly maxReplicas: number;
  readonly nowMs: () => EpochMs;
  /** A pair held but no longer wanted: true keeps it one more round for `to` (SharedLeases). */
  readonly holdForHandover?: (pair: InstrumentPair, to: string) => Promise<boolean>;
}

export class InstrumentLeases {
  readonly #shared: SharedLeases;
  readonly #pairs = new Map<string, InstrumentPair>();

  constructor(options: InstrumentLeasesOptions) {
    for (const pair of options.pairs) this.#pairs.set(pairKey(pair), pair);
    this.#shared = new SharedLeases({
      store: options.store,
      memberScope: MEMBER_LEASE_SCOPE,
      keyScope: INSTRUMENT_LEASE_SCOPE,
      holder: options.holder,
      keys: [...this.#pairs.keys()],
      ttlMs: options.ttlMs,
      maxReplicas: options.maxReplicas,
      nowMs: options.nowMs,
      ...(options.holdForHandover
        ? { holdForHandover: (key, to) => options.holdForHandover!(this.#pair(key), to) }
        : {}),
    });
  }

  get holder(): string {
    return this.#shared.holder;
  }

  /** The members seen in the last round. */
  get members(): readonly string[] {
    return this.#shared.members;
  }

  /** Who should serve a pair, by the last round's members (for "ask that replica" answers). */
  expectedOwner(pair: InstrumentPair): string | undefined {
    return preferredOwner(pairKey(pair), this.#shared.members);
  }

  /** Who holds a pair's lease now (unexpired), read from the store: where a query for it goes. */
  currentOwner(pair: InstrumentPair): Promise<string | undefined> {
    return this.#shared.currentOwner(pairKey(pair));
  }

  /** One round: keep or take a member slot, read the members, renew/acquire/release pairs. */
  async tick(): Promise<LeaseRound> {
    const round = await this.#shared.tick();
    return {
      owned: round.owned.map((k) => this.#pair(k)),
      changed: round.changed,
      moved: round.moved.map((m) => ({ ...this.#pair(m.key), from: m.from, atMs: m.atMs })),
      members: round.members,
      handingOver: round.handingOver.map((k) => this.#pair(k)),
      waiting: round.waiting.map((w) => ({ ...this.#pair(w.key), holder: w.holder })),
    };
  }

  /** Clean stop, first step: the member slot goes, the pairs are handed over by the next ticks. */
  leave(): Promise<void> {
    return this.#shared.leave();
  }

  /** Clean stop: every lease given up, so the others take the pairs at once. */
  releaseAll(): Promise<void> {
    return this.#shared.releaseAll();
  }

  #pair(key: string): InstrumentPair {
    const pair = this.#pairs.get(key);
    if (!pair) throw new Error(`unknown pair ${key}`); // unreachable: keys come from the pairs
    return pair;
  }
}
