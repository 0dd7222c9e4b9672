/**
 * One active owner of something (a strategy instance, the account service): a lease in
 * the StateStore (Redis in distributed mode), built on the idempotency primitives, so it
 * needs nothing new from either adapter.
 *
 * The key `idem:<scope>:<name>` holds `<holder>|<expiresAtMs>`:
 * - acquire: set-if-absent; or, when the stored lease has expired, compare-and-set it
 *   from the expired value to ours (two standbys racing: one CAS wins);
 * - renew: compare-and-set from our current value to a later expiry; a failed CAS means
 *   someone took it over: we lost the lease;
 * - release (clean stop): delete it when it is still ours, so a standby takes over at once.
 * The key itself lives `keyTtlMs` (long) so a lease whose holder vanished is also reaped.
 *
 * A lease alone cannot stop a paused process that still believes it holds one: what the
 * holder writes must be fenced too (e.g. projections saved with compare-and-set on their
 * applied sequences), so a stale holder's next write fails.
 */
import { type EpochMs, ValidationError } from '@perpmesh/core';
import { type HolderVerdict, leaseHolderProvablyDead } from './process-identity.js';
import type { StateStore } from './statestore.js';

export const DEFAULT_LEASE_KEY_TTL_MS = 86_400_000;

export interface LeaseOptions {
  readonly store: StateStore;
  /** Kind of thing leased, e.g. `strategy-lease`, `account-lease` (the idempotency scope). */
  readonly scope: string;
  /** Which one, e.g. the strategy id. */
  readonly name: string;
  /** Who we are: service instance + process (never a secret). */
  readonly holder: string;
  /** How long a lease lasts without renewal. */
  readonly ttlMs: number;
  readonly nowMs: () => EpochMs;
  /** Lifetime of the backing key (reaps a lease nobody renews or releases). Default 1 day. */
  readonly keyTtlMs?: number;
  /**
   * Whether an unexpired lease's holder is provably dead, so it is taken over at once (a
   * restart after a crash). Default `leaseHolderProvablyDead` (same host, same pid namespace,
   * that pid gone or reused; see process-identity.ts); only holders made by
   * `processLeaseHolder` can ever be proven dead.
   */
  readonly judgeHolder?: (holder: string) => HolderVerdict;
}

/** An unexpired lease taken from a holder proven dead. */
export interface LeaseTakeover {
  readonly from: string;
  readonly reason: string;
}

export interface LeaseHolder {
  readonly holder: string;
  readonly expiresAtMs: EpochMs;
}

/** `holder|expiresAtMs` → its parts; undefined when malformed (treated as expired). */
export function parseLeaseValue(value: string): LeaseHolder | undefined {
  const at = value.lastIndexOf('|');
  if (at <= 0) return undefined;
  const expiresAtMs = Number(value.slice(at + 1));
  return Number.isSafeInteger(expiresAtMs) ? { holder: value.slice(0, at), expiresAtMs } : undefined;
}

export class Lease {
  readonly #o: LeaseOptions;
  #value: string | undefined;
  #takeover: LeaseTakeover | undefined;

  constructor(options: LeaseOptions) {
    for (const field of ['scope', 'name', 'holder'] as const) {
      if (!options[field]) throw new ValidationError(`lease.${field}`, `must be non-empty, got ''`);
    }
    if (options.holder.includes('|')) {
      throw new ValidationError(
        'lease.holder',
        `must not contain '|', got ${JSON.stringify(options.holder)}`,
      );
    }
    if (!Number.isSafeInteger(options.ttlMs) || options.ttlMs <= 0) {
      throw new ValidationError('lease.ttlMs', `must be a positive integer, got ${options.ttlMs}`);
    }
    this.#o = options;
  }

  get holder(): string {
    return this.#o.holder;
  }

  /** True while we believe we hold it (since the last successful acquire/renew). */
  get held(): boolean {
    return this.#value !== undefined;
  }

  /** Set by the last successful `tryAcquire` when it took an unexpired lease from a dead holder. */
  get takeover(): LeaseTakeover | undefined {
    return this.#takeover;
  }

  /** When our lease lapses unless renewed; undefined when not held. */
  get expiresAtMs(): EpochMs | undefined {
    return this.#value === undefined ? undefined : parseLeaseValue(this.#value)?.expiresAtMs;
  }

  #next(): string {
    return `${this.#o.holder}|${this.#o.nowMs() + this.#o.ttlMs}`;
  }

  /** Who holds it now (for views and standby reasons), or undefined. */
  async current(): Promise<LeaseHolder | undefined> {
    const value = await this.#o.store.getIdempotencyKey(this.#o.scope, this.#o.name);
    return value === undefined ? undefined : parseLeaseValue(value);
  }

  /** True when we hold the lease after the call (acquired now, or already ours and renewed). */
  async tryAcquire(): Promise<boolean> {
    if (this.#value !== undefined) return this.renew();
    this.#takeover = undefined;
    const { store, scope, name } = this.#o;
    const mine = this.#next();
    const claim = await store.claimIdempotencyKey(
      scope,
      name,
      mine,
      this.#o.keyTtlMs ?? DEFAULT_LEASE_KEY_TTL_MS,
    );
    if (claim.claimed) {
      this.#value = mine;
      return true;
    }
    const current = parseLeaseValue(claim.existingValue);
    const expired = !current || current.expiresAtMs <= this.#o.nowMs();
    let takeover: LeaseTakeover | undefined;
    // Our own lease from before a restart counts as ours; a dead holder's is taken at once.
    if (!expired && current.holder !== this.#o.holder) {
      const verdict = (this.#o.judgeHolder ?? leaseHolderProvablyDead)(current.holder);
      if (!verdict.dead) return false;
      takeover = { from: current.holder, reason: verdict.reason };
    }
    // Compare-and-set on the value read: a holder that renewed meanwhile keeps its lease.
    if (await store.updateIdempotencyValue(scope, name, claim.existingValue, mine)) {
      this.#value = mine;
      this.#takeover = takeover;
      return true;
    }
    return false;
  }

  /** Extends our lease; false (and no longer held) when it was taken over or vanished and could not be re-claimed. */
  async renew(): Promise<boolean> {
    const old = this.#value;
    if (old === undefined) return false;
    const { store, scope, name } = this.#o;
    const mine = this.#next();
    if (await store.updateIdempotencyValue(scope, name, old, mine)) {
      this.#value = mine;
      return true;
    }
    this.#value = undefined;
    // The key may only have been reaped (keyTtlMs): claim it again unless someone else has.
    if ((await store.getIdempotencyKey(scope, name)) === undefined) return this.tryAcquire();
    return false;
  }

  /** Clean stop: gives the lease up (only if still ours) so a standby takes over at once. */
  async release(): Promise<void> {
    const old = this.#value;
    this.#value = undefined;
    if (old !== undefined) await this.#o.store.releaseIdempotencyKey(this.#o.scope, this.#o.name, old);
  }
}
