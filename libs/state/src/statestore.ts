/**
 * The StateStore port: the small amount of mutable state perpmesh keeps outside the
 * event log — venue nonces, idempotency keys and projection snapshots.
 *
 * Two adapters honour it (one contract suite, libs/testing/src/statestore.contract.ts):
 * `RedisStateStore` (distributed: several execution replicas share it) and
 * `EmbeddedStateStore` (one process, persisted under a data dir).
 */
import { createHash } from 'node:crypto';
import type { AccountId, VenueId } from '@perpmesh/core';
import { PerpmeshError } from '@perpmesh/core';

/**
 * Identifies one nonce counter: nonces are per (venue, account, API key).
 *
 * `apiKeyId` is a NON-secret identifier of the key: Lighter's api key index ("3"), or a
 * fingerprint of a CEX key (`apiKeyFingerprint(apiKey)`). Raw API keys or secrets never
 * go here: this value ends up in Redis key names, data files and error messages.
 */
export interface NonceKey {
  readonly venue: VenueId;
  readonly account: AccountId;
  readonly apiKeyId: string;
}

/**
 * A non-secret `apiKeyId` for a CEX API key: `fp-` + the first 16 hex digits of its
 * SHA-256. Stable, so every replica derives the same counter; not reversible.
 */
export function apiKeyFingerprint(apiKey: string): string {
  return `fp-${createHash('sha256').update(apiKey, 'utf8').digest('hex').slice(0, 16)}`;
}

export interface AllocateNonceOptions {
  /**
   * The value handed out is at least this. Hyperliquid wants nonce >= now in ms: the
   * caller passes its clock here (the store never reads a clock for nonces).
   */
  readonly floor?: bigint;
}

/** A contiguous block of nonces, `first` to `last` inclusive (`last - first + 1 === count`). */
export interface NonceBlock {
  readonly first: bigint;
  readonly last: bigint;
  readonly count: number;
}

export type ClaimResult =
  | { readonly claimed: true }
  | { readonly claimed: false; readonly existingValue: string };

/** Stream name → last applied stream sequence. */
export type AppliedSeqs = Readonly<Record<string, number>>;

export interface ProjectionSnapshot<T> {
  readonly state: T;
  readonly applied: AppliedSeqs;
}

export interface StateStore {
  // --- nonces -------------------------------------------------------------------------
  /**
   * One atomic step: returns a value strictly greater than every value handed out
   * before for `key` (by any process sharing the store), and >= `floor` when given.
   * A fresh counter starts at 0 (`FIRST_NONCE`).
   */
  allocateNonce(key: NonceKey, options?: AllocateNonceOptions): Promise<bigint>;
  /** `count` contiguous nonces in one atomic step; same guarantees as `allocateNonce`. */
  allocateNonces(key: NonceKey, count: number, options?: AllocateNonceOptions): Promise<NonceBlock>;
  /**
   * The venue says its next acceptable nonce is `venueNextNonce`: moves the counter
   * forward to it, never back (a lower value is ignored). Returns the effective next
   * nonce (what a floor-less `allocateNonce` would return now).
   */
  resyncNonce(key: NonceKey, venueNextNonce: bigint): Promise<bigint>;
  /** The next nonce a floor-less `allocateNonce` would return; allocates nothing. */
  peekNonce(key: NonceKey): Promise<bigint>;

  // --- idempotency --------------------------------------------------------------------
  /**
   * Set-if-absent with a TTL, atomically. The first claim of (scope, key) wins and
   * stores `value` (e.g. clientOrderId → our order id); later claims get that value.
   */
  claimIdempotencyKey(scope: string, key: string, value: string, ttlMs: number): Promise<ClaimResult>;
  /** The value of a live claim, or undefined (never claimed, released or expired). */
  getIdempotencyKey(scope: string, key: string): Promise<string | undefined>;
  /**
   * Compare-and-set on a live claim, keeping its TTL: replaces the value only when it
   * still is `expectedValue` (e.g. "pending" → the venue order id). True when replaced.
   */
  updateIdempotencyValue(
    scope: string,
    key: string,
    expectedValue: string,
    newValue: string,
  ): Promise<boolean>;
  /**
   * Deletes a claim when its value still is `expectedValue` (a request that failed
   * before reaching the venue may be retried). True when deleted.
   */
  releaseIdempotencyKey(scope: string, key: string, expectedValue: string): Promise<boolean>;

  // --- projections --------------------------------------------------------------------
  /** The last saved state with the stream sequences it has applied, or undefined. */
  loadProjection<T>(name: string): Promise<ProjectionSnapshot<T> | undefined>;
  /**
   * Writes `state` and `applied` together, atomically, when the stored `applied` still
   * equals `expectedApplied` (undefined or {} = nothing saved yet); otherwise throws
   * `ProjectionConflictError` and writes nothing. `applied` must move forward from
   * `expectedApplied` (no stream back, at least one stream ahead), so a projection is
   * never written twice for the same sequence. `state` must be JSON (Decimals as strings).
   */
  saveProjection<T>(
    name: string,
    state: T,
    applied: AppliedSeqs,
    expectedApplied: AppliedSeqs | undefined,
  ): Promise<void>;

  /** Releases connections / files. Later calls fail with `StateStoreClosedError`. */
  close(): Promise<void>;
}

/** The first nonce a fresh counter hands out. */
export const FIRST_NONCE = 0n;
/** Nonces are signed 64-bit on every venue we know (and in Redis' INCRBY). */
export const MAX_NONCE = 2n ** 63n - 1n;
/** Upper bound on one `allocateNonces` block. */
export const MAX_NONCE_BLOCK = 1_000_000;

// --- errors -----------------------------------------------------------------------------

/** A stale writer: the stored `applied` is not the one this save expected. */
export class ProjectionConflictError extends PerpmeshError {
  readonly projection: string;
  readonly expectedApplied: AppliedSeqs;
  readonly actualApplied: AppliedSeqs | undefined;
  constructor(projection: string, expectedApplied: AppliedSeqs, actualApplied: AppliedSeqs | undefined) {
    super(
      'PROJECTION_CONFLICT',
      `projection ${JSON.stringify(projection)}: expected applied ${canonicalApplied(expectedApplied)}, ` +
        `store has ${actualApplied ? canonicalApplied(actualApplied) : 'nothing'}`,
    );
    this.projection = projection;
    this.expectedApplied = expectedApplied;
    this.actualApplied = actualApplied;
  }
}

export class StateStoreClosedError extends PerpmeshError {
  constructor(store: string) {
    super('STATE_STORE_CLOSED', `${store} is closed`);
  }
}

/** The counter cannot hand out `count` more nonces below `MAX_NONCE`. Nothing was allocated. */
export class NonceExhaustedError extends PerpmeshError {
  constructor(count: number) {
    super('NONCE_EXHAUSTED', `cannot allocate ${count} more nonce(s) at or below ${MAX_NONCE}`);
  }
}

/** The backing store (Redis, the data dir) failed; `cause` has the original error. */
export class StateStoreBackendError extends PerpmeshError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('STATE_STORE_BACKEND', message, options);
  }
}

// --- projection helpers -----------------------------------------------------------------

/** `applied` as JSON with sorted keys, so two equal records compare equal as strings. */
export function canonicalApplied(applied: AppliedSeqs): string {
  const sorted: Record<string, number> = {};
  for (const stream of Object.keys(applied).sort()) sorted[stream] = applied[stream] as number;
  return JSON.stringify(sorted);
}

/**
 * The structural shape a projection runner consumes: compare-and-set on `applied`,
 * conflicts throw `ProjectionConflictError` (code `PROJECTION_CONFLICT`). Both spellings
 * are provided: `load`/`save`, and `loadProjection`/`saveProjection` (libs/bus's
 * `ProjectionStore`, which a StateStore also satisfies as is).
 */
export interface ProjectionStoreAdapter {
  load<T>(name: string): Promise<ProjectionSnapshot<T> | undefined>;
  save<T>(
    name: string,
    state: T,
    applied: AppliedSeqs,
    expectedApplied: AppliedSeqs | undefined,
  ): Promise<void>;
  loadProjection<T>(name: string): Promise<ProjectionSnapshot<T> | undefined>;
  saveProjection<T>(
    name: string,
    state: T,
    applied: AppliedSeqs,
    expectedApplied: AppliedSeqs | undefined,
  ): Promise<void>;
}

/** Only the projection half of a StateStore, for a projector (no nonces, no close). */
export function projectionStoreOf(store: StateStore): ProjectionStoreAdapter {
  const load = <T>(name: string) => store.loadProjection<T>(name);
  const save = <T>(name: string, state: T, applied: AppliedSeqs, expectedApplied: AppliedSeqs | undefined) =>
    store.saveProjection(name, state, applied, expectedApplied);
  return { load, save, loadProjection: load, saveProjection: save };
}
