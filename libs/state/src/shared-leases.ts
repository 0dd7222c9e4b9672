/**
 * Dividing a set of keys among replicas through leases in the state store, with no fixed
 * shard index (market data's instruments, the account service's (venue, account) pairs).
 *
 * - Membership: each replica holds one of `maxReplicas` member slots (`memberScope` leases,
 *   names 0..maxReplicas-1); the live members are the holders of unexpired slots.
 * - Division: rendezvous hashing over the live members (`preferredOwner`): every replica
 *   computes the same owner for a key from the same member list, and a member joining or
 *   leaving moves only the keys it gains or held.
 * - Ownership: a key is served by the holder of its `keyScope` lease. A replica acquires the
 *   keys it is preferred for once they are free or expired, renews them, and releases the
 *   ones it is no longer preferred for (a joiner gets them at once).
 * - Handover (optional, `holdForHandover`): a key this replica no longer wants can be kept,
 *   renewed, until its next owner says it is ready for it (market data: the next owner's
 *   book synced), so what moves between live replicas never goes unserved. The next owner
 *   sees it among `waiting`. A replica that stops cleanly `leave`s first: its member slot
 *   goes, its keys stay held and are handed over the same way by its next rounds.
 * - A replica killed -9 renews nothing: its slot and key leases lapse within `ttlMs`, the
 *   members' next round sees one member less, and the survivors take its keys.
 */
import { type EpochMs, ValidationError } from '@perpmesh/core';
import { Lease, type LeaseHolder } from './lease.js';
import type { HolderVerdict } from './process-identity.js';
import type { StateStore } from './statestore.js';

const FNV_OFFSET_BASIS = 0x811c9dc5;
const FNV_PRIME = 0x01000193;
const encoder = new TextEncoder();

/** FNV-1a 32-bit of the UTF-8 bytes of `text`, as an unsigned integer. */
export function fnv1a32(text: string): number {
  let hash = FNV_OFFSET_BASIS;
  for (const byte of encoder.encode(text)) {
    hash ^= byte;
    hash = Math.imul(hash, FNV_PRIME);
  }
  return hash >>> 0;
}

/** murmur3's 32-bit finalizer: every input bit affects every output bit (FNV's low bits are weak). */
export function fmix32(hash: number): number {
  let h = hash >>> 0;
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
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

/** A key this replica took over from another holder. */
export interface KeyMove {
  readonly key: string;
  readonly from: string;
  readonly atMs: EpochMs;
}

export interface SharedLeaseRound {
  /** The keys this replica holds now, in the configured order. */
  readonly owned: readonly string[];
  /** True when `owned` differs from the previous round's. */
  readonly changed: boolean;
  /** Keys taken over from another holder in this round. */
  readonly moved: readonly KeyMove[];
  /** The live members this round saw (this replica included when it holds a slot). */
  readonly members: readonly string[];
  /** Holders of unexpired member slots left out as provably dead (`judgeMember`), with why. */
  readonly deadMembers: readonly { readonly holder: string; readonly reason: string }[];
  /** Of `owned`, the keys kept only to hand them over (no longer wanted; `holdForHandover`). */
  readonly handingOver: readonly string[];
  /** Keys this replica is preferred for that another holder still holds: coming to it. */
  readonly waiting: readonly { readonly key: string; readonly holder: string }[];
}

export interface SharedLeasesOptions {
  readonly store: StateStore;
  /** Lease scope of the member slots, e.g. `md-member`. */
  readonly memberScope: string;
  /** Lease scope of the keys, e.g. `md-instrument`. */
  readonly keyScope: string;
  /** Unique per process (no '|'): e.g. `market-data/a:host:pid`. */
  readonly holder: string;
  /** What is divided; each is also its lease name. */
  readonly keys: readonly string[];
  readonly ttlMs: number;
  readonly maxReplicas: number;
  readonly nowMs: () => EpochMs;
  /** Field name in the maxReplicas error (the caller's config path). Default `leases.maxReplicas`. */
  readonly maxReplicasField?: string;
  /**
   * Called before a round gives up a key this replica no longer wants (a member joined),
   * still holding it: lets the holder finish the key's work in flight first (execution's
   * strict-nonce keys). Not called on `releaseAll` nor when a lease is lost.
   */
  readonly beforeRelease?: (key: string) => Promise<void>;
  /**
   * Asked each round for a key this replica holds but no longer wants, `to` being its next
   * owner: true keeps it one more round (renewed, still in `owned`, listed in `handingOver`),
   * false gives it up now. The caller bounds the wait. Not asked when no member is left to
   * take the key. Default: give it up at once.
   */
  readonly holdForHandover?: (key: string, to: string) => Promise<boolean>;
  /**
   * Whether the holder of an unexpired member slot is provably dead (`leaseHolderProvablyDead`):
   * such a member is not counted, so its keys go to the live members in this very round
   * instead of after its slot lapses (a key's own lease is then taken from the dead holder
   * by the same proof, see Lease `judgeHolder`). Default: no member is judged (wait for the TTL).
   */
  readonly judgeMember?: (holder: string) => HolderVerdict;
}

export class SharedLeases {
  readonly #o: SharedLeasesOptions;
  readonly #slots: Lease[];
  readonly #leases = new Map<string, Lease>();
  #slot: Lease | undefined;
  #owned: string[] = [];
  #members: string[] = [];
  /** `leave` was called: no member slot is taken again; the keys held are handed over. */
  #leaving = false;

  constructor(options: SharedLeasesOptions) {
    if (!Number.isSafeInteger(options.maxReplicas) || options.maxReplicas < 1) {
      throw new ValidationError(
        options.maxReplicasField ?? 'leases.maxReplicas',
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
        // The same proof takes a dead member's key leases (default: Lease's own judge).
        ...(options.judgeMember ? { judgeHolder: options.judgeMember } : {}),
      });
    this.#slots = Array.from({ length: options.maxReplicas }, (_, i) =>
      lease(options.memberScope, String(i)),
    );
    for (const key of options.keys) this.#leases.set(key, lease(options.keyScope, key));
  }

  get holder(): string {
    return this.#o.holder;
  }

  /** The members seen in the last round. */
  get members(): readonly string[] {
    return this.#members;
  }

  /** The keys held after the last round. */
  get owned(): readonly string[] {
    return this.#owned;
  }

  /** Who holds a key's lease now (unexpired), read from the store: where a query for it goes. */
  async currentOwner(key: string): Promise<string | undefined> {
    return (await this.currentLease(key))?.holder;
  }

  /** A key's unexpired lease (holder and expiry) as stored now; undefined when free or lapsed. */
  async currentLease(key: string): Promise<LeaseHolder | undefined> {
    const current = await this.#leases.get(key)?.current();
    return current && current.expiresAtMs > this.#o.nowMs() ? current : undefined;
  }

  /** Who should serve a key, by the last round's members (for "ask that replica" answers). */
  expectedOwner(key: string): string | undefined {
    return preferredOwner(key, this.#members);
  }

  /** One round: keep or take a member slot, read the members, renew/acquire/release keys. */
  async tick(): Promise<SharedLeaseRound> {
    if (!this.#leaving) await this.#keepSlot();
    if (this.#leaving && this.#slot) {
      // `leave` ran while this round kept the slot: give it up again.
      await this.#slot.release();
      this.#slot = undefined;
    }
    const now = this.#o.nowMs();
    const members: string[] = [];
    const deadMembers: { holder: string; reason: string }[] = [];
    for (const slot of this.#slots) {
      const current = await slot.current();
      if (!current || current.expiresAtMs <= now || members.includes(current.holder)) continue;
      if (current.holder !== this.#o.holder && this.#o.judgeMember) {
        const verdict = this.#o.judgeMember(current.holder);
        if (verdict.dead) {
          deadMembers.push({ holder: current.holder, reason: verdict.reason });
          continue;
        }
      }
      members.push(current.holder);
    }
    this.#members = members.sort();
    const member = this.#slot?.held === true;
    const moved: KeyMove[] = [];
    const owned: string[] = [];
    const handingOver: string[] = [];
    const waiting: { key: string; holder: string }[] = [];
    for (const [key, lease] of this.#leases) {
      const preferred = preferredOwner(key, this.#members);
      const wanted = member && preferred === this.#o.holder;
      if (lease.held) {
        if (wanted) {
          if (await lease.renew()) owned.push(key);
          continue;
        }
        if (
          preferred !== undefined &&
          this.#o.holdForHandover &&
          (await this.#o.holdForHandover(key, preferred)) &&
          (await lease.renew())
        ) {
          owned.push(key);
          handingOver.push(key);
          continue;
        }
        if (!lease.held) continue; // lost while asking
        await this.#o.beforeRelease?.(key);
        await lease.release();
        continue;
      }
      if (!wanted) continue;
      const before = await lease.current();
      if (await lease.tryAcquire()) {
        owned.push(key);
        if (before && before.holder !== this.#o.holder) {
          moved.push({ key, from: before.holder, atMs: this.#o.nowMs() });
        }
      } else if (before && before.holder !== this.#o.holder) {
        waiting.push({ key, holder: before.holder });
      }
    }
    const changed = owned.join(',') !== this.#owned.join(',');
    this.#owned = owned;
    return { owned, changed, moved, members: this.#members, deadMembers, handingOver, waiting };
  }

  /**
   * A clean stop in two steps: the member slot goes now (the others' next round divides the
   * keys without this replica), the keys stay held; the next rounds hand them over
   * (`holdForHandover`), then `releaseAll` gives up whatever is left.
   */
  async leave(): Promise<void> {
    this.#leaving = true;
    await this.#slot?.release();
    this.#slot = undefined;
  }

  /** Clean stop: every lease given up, so the others take the keys at once. */
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
}
