/**
 * One active instance per strategy id: a lease in the StateStore (Redis in distributed
 * mode), built on the idempotency primitives, so it needs nothing new from the store.
 *
 * The key `idem:strategy-lease:<strategyId>` holds `<holder>|<expiresAtMs>`:
 * - acquire: set-if-absent; or, when the stored lease has expired, compare-and-set it
 *   from the expired value to ours (two standbys racing: one CAS wins);
 * - renew: compare-and-set from our current value to a later expiry; a failed CAS means
 *   someone took it over: we lost the lease;
 * - release (clean stop): delete it when it is still ours, so a standby takes over at once.
 * The key itself lives `keyTtlMs` (long) so a lease whose holder vanished is also reaped.
 *
 * A lease alone cannot stop a paused process that still believes it holds one; the
 * strategy's state is therefore saved with compare-and-set on its applied sequences
 * (a fencing token): a stale holder's next save fails before it sends anything.
 */
import type { EpochMs } from '@perpmesh/core';
import type { StateStore } from '@perpmesh/state';

export const LEASE_SCOPE = 'strategy-lease';

export interface LeaseOptions {
  readonly store: StateStore;
  readonly strategyId: string;
  /** Who we are: service instance + process (never a secret). */
  readonly holder: string;
  /** How long a lease lasts without renewal. */
  readonly ttlMs: number;
  readonly nowMs: () => EpochMs;
  /** Lifetime of the backing key (reaps a lease nobody renews or releases). Default 1 day. */
  readonly keyTtlMs?: number;
}

export interface LeaseHolder {
  readonly holder: string;
  readonly expiresAtMs: number;
}

export function parseLeaseValue(value: string): LeaseHolder | undefined {
  const at = value.lastIndexOf('|');
  if (at <= 0) return undefined;
  const expiresAtMs = Number(value.slice(at + 1));
  return Number.isSafeInteger(expiresAtMs) ? { holder: value.slice(0, at), expiresAtMs } : undefined;
}

export class StrategyLease {
  readonly #o: LeaseOptions;
  #value: string | undefined;

  constructor(options: LeaseOptions) {
    this.#o = options;
  }

  get held(): boolean {
    return this.#value !== undefined;
  }

  #next(): string {
    return `${this.#o.holder}|${this.#o.nowMs() + this.#o.ttlMs}`;
  }

  /** Who holds it now (for views and standby reasons), or undefined. */
  async current(): Promise<LeaseHolder | undefined> {
    const value = await this.#o.store.getIdempotencyKey(LEASE_SCOPE, this.#o.strategyId);
    return value === undefined ? undefined : parseLeaseValue(value);
  }

  /** True when we hold the lease after the call (acquired now, or already ours and renewed). */
  async tryAcquire(): Promise<boolean> {
    if (this.#value !== undefined) return this.renew();
    const { store, strategyId } = this.#o;
    const mine = this.#next();
    const claim = await store.claimIdempotencyKey(
      LEASE_SCOPE,
      strategyId,
      mine,
      this.#o.keyTtlMs ?? 86_400_000,
    );
    if (claim.claimed) {
      this.#value = mine;
      return true;
    }
    const current = parseLeaseValue(claim.existingValue);
    const expired = !current || current.expiresAtMs <= this.#o.nowMs();
    // Our own lease from before a restart counts as ours.
    if (!expired && current.holder !== this.#o.holder) return false;
    if (await store.updateIdempotencyValue(LEASE_SCOPE, strategyId, claim.existingValue, mine)) {
      this.#value = mine;
      return true;
    }
    return false;
  }

  /** Extends our lease; false (and no longer held) when it was taken over or vanished and could not be re-claimed. */
  async renew(): Promise<boolean> {
    const old = this.#value;
    if (old === undefined) return false;
    const mine = this.#next();
    if (await this.#o.store.updateIdempotencyValue(LEASE_SCOPE, this.#o.strategyId, old, mine)) {
      this.#value = mine;
      return true;
    }
    this.#value = undefined;
    // The key may only have been reaped (keyTtlMs): claim it again unless someone else has.
    const stored = await this.#o.store.getIdempotencyKey(LEASE_SCOPE, this.#o.strategyId);
    if (stored === undefined) return this.tryAcquire();
    return false;
  }

  async release(): Promise<void> {
    const old = this.#value;
    this.#value = undefined;
    if (old !== undefined) await this.#o.store.releaseIdempotencyKey(LEASE_SCOPE, this.#o.strategyId, old);
  }
}
