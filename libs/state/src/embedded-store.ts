/**
 * StateStore in process memory, persisted to a data dir (files: embedded-files.ts).
 *
 * Each change is applied to memory synchronously (so it is atomic: JS runs one thing at
 * a time) and queued as a journal record; the caller's promise settles only after the
 * batch holding its record is written and fsynced (group commit: one fsync serves every
 * change queued meanwhile). A nonce is therefore on disk before anyone sees it, and a
 * crash can only lose changes nobody was told about. Reads also wait for queued changes
 * to be durable, so nothing not yet on disk is ever reported.
 *
 * When the journal passes `compactAfterBytes`, the whole state is written as a new
 * snapshot and a fresh journal generation starts; opening the store does the same.
 */

import {
  acquireLock,
  emptySnapshot,
  ensureDir,
  type JournalRecord,
  JournalWriter,
  readDurableState,
  releaseLock,
  removeOldJournals,
  SNAPSHOT_VERSION,
  type SnapshotData,
  writeSnapshot,
} from './embedded-files.js';
import { DEFAULT_KEY_PREFIX, type StateKeys, stateKeys } from './keys.js';
import {
  type AllocateNonceOptions,
  type AppliedSeqs,
  type ClaimResult,
  canonicalApplied,
  FIRST_NONCE,
  MAX_NONCE,
  type NonceBlock,
  NonceExhaustedError,
  type NonceKey,
  ProjectionConflictError,
  type ProjectionSnapshot,
  type StateStore,
  StateStoreBackendError,
  StateStoreClosedError,
} from './statestore.js';
import {
  checkBlockCount,
  checkFloor,
  checkIdempotencyArgs,
  checkIdempotencyValue,
  checkNonceKey,
  checkNonceValue,
  checkProjectionName,
  checkProjectionSave,
  checkTtlMs,
} from './validation.js';

export interface EmbeddedStateStoreOptions {
  /** Directory for the snapshot, journal and lock file (created when missing), e.g. `./data/state`. */
  readonly dataDir: string;
  /** Clock for idempotency TTLs, ms since epoch. Default `Date.now`. */
  readonly now?: () => number;
  /**
   * fsync each journal batch and snapshot (default true). Only a throwaway store (a replay
   * scratch store, tests of other things) should turn it off.
   */
  readonly fsync?: boolean;
  /** Compact (new snapshot, new journal) once the journal is this big. Default 8 MiB. */
  readonly compactAfterBytes?: number;
}

interface IdempotencyEntry {
  value: string;
  expiresAtMs: number;
}

interface ProjectionEntry {
  stateJson: string;
  applied: AppliedSeqs;
  appliedText: string;
}

interface Batch {
  text: string;
  promise: Promise<void>;
  resolve: () => void;
  reject: (err: unknown) => void;
}

function newBatch(): Batch {
  let resolve!: () => void;
  let reject!: (err: unknown) => void;
  const promise = new Promise<void>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  // A batch nobody awaits (reads only) must not become an unhandled rejection.
  promise.catch(() => undefined);
  return { text: '', promise, resolve, reject };
}

export class EmbeddedStateStore implements StateStore {
  readonly keys: StateKeys = stateKeys(DEFAULT_KEY_PREFIX);
  readonly dataDir: string;
  readonly #now: () => number;
  readonly #fsync: boolean;
  readonly #compactAfterBytes: number;
  readonly #lockPath: string;
  #journal: JournalWriter;

  readonly #nonces = new Map<string, bigint>();
  readonly #idempotency = new Map<string, IdempotencyEntry>();
  readonly #projections = new Map<string, ProjectionEntry>();

  /** Changes queued for the next write. */
  #open: Batch | undefined;
  /** The batch being written now. */
  #writing: Batch | undefined;
  #closed = false;
  /** Set when a write failed: memory may be ahead of disk, so the store refuses further work. */
  #failure: unknown;

  private constructor(options: EmbeddedStateStoreOptions, lockPath: string, journal: JournalWriter) {
    this.dataDir = options.dataDir;
    this.#now = options.now ?? Date.now;
    this.#fsync = options.fsync ?? true;
    this.#compactAfterBytes = options.compactAfterBytes ?? 8 * 1024 * 1024;
    this.#lockPath = lockPath;
    this.#journal = journal;
  }

  /** Opens (or creates) the store in `dataDir`, recovering what the last process left. */
  static async open(options: EmbeddedStateStoreOptions): Promise<EmbeddedStateStore> {
    await ensureDir(options.dataDir);
    const lockPath = await acquireLock(options.dataDir);
    try {
      const { snapshot, records } = await readDurableState(options.dataDir);
      const fsync = options.fsync ?? true;
      // Start a new generation at once: the recovered state becomes one clean snapshot
      // and a torn journal tail is left behind with the old generation.
      const journal = await JournalWriter.open(options.dataDir, snapshot.journalGen + 1, fsync);
      const store = new EmbeddedStateStore(options, lockPath, journal);
      store.#restore(snapshot, records);
      await writeSnapshot(options.dataDir, store.#snapshot(journal.gen), fsync);
      await removeOldJournals(options.dataDir, journal.gen);
      return store;
    } catch (err) {
      await releaseLock(lockPath);
      throw err;
    }
  }

  // --- persistence ----------------------------------------------------------------------

  #restore(snapshot: SnapshotData, records: readonly JournalRecord[]): void {
    for (const [k, next] of Object.entries(snapshot.nonces)) this.#nonces.set(k, BigInt(next));
    for (const [k, { v, exp }] of Object.entries(snapshot.idem))
      this.#idempotency.set(k, { value: v, expiresAtMs: exp });
    for (const [k, { state, applied }] of Object.entries(snapshot.projections)) {
      this.#projections.set(k, { stateJson: state, applied, appliedText: canonicalApplied(applied) });
    }
    for (const record of records) {
      switch (record.op) {
        case 'nonce': {
          const next = BigInt(record.next);
          if (next > (this.#nonces.get(record.k) ?? FIRST_NONCE)) this.#nonces.set(record.k, next);
          break;
        }
        case 'idem':
          this.#idempotency.set(record.k, { value: record.v, expiresAtMs: record.exp });
          break;
        case 'idem-del':
          this.#idempotency.delete(record.k);
          break;
        case 'proj':
          this.#projections.set(record.k, {
            stateJson: record.state,
            applied: record.applied,
            appliedText: canonicalApplied(record.applied),
          });
          break;
      }
    }
  }

  /** The whole state as a snapshot (expired claims dropped). */
  #snapshot(journalGen: number): SnapshotData {
    const now = this.#now();
    const data = { ...emptySnapshot(), version: SNAPSHOT_VERSION, journalGen };
    for (const [k, next] of this.#nonces) data.nonces[k] = next.toString();
    for (const [k, entry] of this.#idempotency) {
      if (entry.expiresAtMs > now) data.idem[k] = { v: entry.value, exp: entry.expiresAtMs };
      else this.#idempotency.delete(k);
    }
    for (const [k, entry] of this.#projections)
      data.projections[k] = { state: entry.stateJson, applied: entry.applied };
    return data;
  }

  /** Queues a record; resolves once it is durable. */
  #persist(record: JournalRecord): Promise<void> {
    if (!this.#open) this.#open = newBatch();
    const batch = this.#open;
    batch.text += `${JSON.stringify(record)}\n`;
    if (!this.#writing) void this.#writeLoop();
    return batch.promise;
  }

  /** Resolves once every change queued so far is durable. */
  #durable(): Promise<void> {
    return (this.#open ?? this.#writing)?.promise ?? Promise.resolve();
  }

  async #writeLoop(): Promise<void> {
    while (this.#open) {
      const batch = this.#open;
      this.#open = undefined;
      this.#writing = batch;
      try {
        if (this.#failure) throw this.#failure;
        if (this.#journal.bytes + batch.text.length > this.#compactAfterBytes) await this.#compact();
        else await this.#journal.append(batch.text);
        batch.resolve();
      } catch (err) {
        this.#failure ??= new StateStoreBackendError(`embedded store write to ${this.dataDir} failed`, {
          cause: err,
        });
        batch.reject(this.#failure);
      } finally {
        this.#writing = undefined;
      }
    }
  }

  /**
   * New snapshot of the whole state (which includes the batch being written, and maybe
   * changes queued after it: their records are replayed harmlessly), then a new journal.
   */
  async #compact(): Promise<void> {
    const next = await JournalWriter.open(this.dataDir, this.#journal.gen + 1, this.#fsync);
    await writeSnapshot(this.dataDir, this.#snapshot(next.gen), this.#fsync);
    const old = this.#journal;
    this.#journal = next;
    await old.close();
    await removeOldJournals(this.dataDir, next.gen);
  }

  #checkUsable(): void {
    if (this.#closed) throw new StateStoreClosedError('EmbeddedStateStore');
    if (this.#failure) throw this.#failure;
  }

  // --- nonces ---------------------------------------------------------------------------

  async allocateNonce(key: NonceKey, options?: AllocateNonceOptions): Promise<bigint> {
    return (await this.#allocate(key, 1, options)).first;
  }

  async allocateNonces(key: NonceKey, count: number, options?: AllocateNonceOptions): Promise<NonceBlock> {
    return this.#allocate(key, checkBlockCount(count), options);
  }

  async #allocate(
    key: NonceKey,
    count: number,
    options: AllocateNonceOptions | undefined,
  ): Promise<NonceBlock> {
    checkNonceKey(key);
    const floor = checkFloor(options);
    this.#checkUsable();
    const k = this.keys.nonce(key);
    const current = this.#nonces.get(k) ?? FIRST_NONCE;
    const first = floor !== undefined && floor > current ? floor : current;
    if (first > MAX_NONCE - BigInt(count)) throw new NonceExhaustedError(count);
    const next = first + BigInt(count);
    this.#nonces.set(k, next);
    await this.#persist({ op: 'nonce', k, next: next.toString() });
    return { first, last: next - 1n, count };
  }

  async resyncNonce(key: NonceKey, venueNextNonce: bigint): Promise<bigint> {
    checkNonceKey(key);
    const value = checkNonceValue(venueNextNonce, 'venueNextNonce');
    this.#checkUsable();
    const k = this.keys.nonce(key);
    const current = this.#nonces.get(k) ?? FIRST_NONCE;
    if (value <= current) {
      await this.#durable();
      return current;
    }
    this.#nonces.set(k, value);
    await this.#persist({ op: 'nonce', k, next: value.toString() });
    return value;
  }

  async peekNonce(key: NonceKey): Promise<bigint> {
    checkNonceKey(key);
    this.#checkUsable();
    const next = this.#nonces.get(this.keys.nonce(key)) ?? FIRST_NONCE;
    await this.#durable();
    return next;
  }

  // --- idempotency ----------------------------------------------------------------------

  /** The live claim under `k`; an expired one is dropped (memory only: expiry needs no record). */
  #liveClaim(k: string): IdempotencyEntry | undefined {
    const entry = this.#idempotency.get(k);
    if (entry && entry.expiresAtMs <= this.#now()) {
      this.#idempotency.delete(k);
      return undefined;
    }
    return entry;
  }

  async claimIdempotencyKey(scope: string, key: string, value: string, ttlMs: number): Promise<ClaimResult> {
    checkIdempotencyArgs(scope, key);
    checkIdempotencyValue(value, 'value');
    checkTtlMs(ttlMs);
    this.#checkUsable();
    const k = this.keys.idempotency(scope, key);
    const existing = this.#liveClaim(k);
    if (existing) {
      const existingValue = existing.value;
      await this.#durable();
      return { claimed: false, existingValue };
    }
    const expiresAtMs = this.#now() + ttlMs;
    this.#idempotency.set(k, { value, expiresAtMs });
    await this.#persist({ op: 'idem', k, v: value, exp: expiresAtMs });
    return { claimed: true };
  }

  async getIdempotencyKey(scope: string, key: string): Promise<string | undefined> {
    checkIdempotencyArgs(scope, key);
    this.#checkUsable();
    const value = this.#liveClaim(this.keys.idempotency(scope, key))?.value;
    await this.#durable();
    return value;
  }

  async updateIdempotencyValue(
    scope: string,
    key: string,
    expectedValue: string,
    newValue: string,
  ): Promise<boolean> {
    checkIdempotencyArgs(scope, key);
    checkIdempotencyValue(expectedValue, 'expectedValue');
    checkIdempotencyValue(newValue, 'newValue');
    this.#checkUsable();
    const k = this.keys.idempotency(scope, key);
    const entry = this.#liveClaim(k);
    if (!entry || entry.value !== expectedValue) {
      await this.#durable();
      return false;
    }
    entry.value = newValue;
    await this.#persist({ op: 'idem', k, v: newValue, exp: entry.expiresAtMs });
    return true;
  }

  async releaseIdempotencyKey(scope: string, key: string, expectedValue: string): Promise<boolean> {
    checkIdempotencyArgs(scope, key);
    checkIdempotencyValue(expectedValue, 'expectedValue');
    this.#checkUsable();
    const k = this.keys.idempotency(scope, key);
    const entry = this.#liveClaim(k);
    if (!entry || entry.value !== expectedValue) {
      await this.#durable();
      return false;
    }
    this.#idempotency.delete(k);
    await this.#persist({ op: 'idem-del', k });
    return true;
  }

  // --- projections ----------------------------------------------------------------------

  async loadProjection<T>(name: string): Promise<ProjectionSnapshot<T> | undefined> {
    checkProjectionName(name);
    this.#checkUsable();
    const entry = this.#projections.get(this.keys.projection(name));
    await this.#durable();
    if (!entry) return undefined;
    // Parsed afresh each time: callers get their own copy to mutate.
    return { state: JSON.parse(entry.stateJson) as T, applied: { ...entry.applied } };
  }

  async saveProjection<T>(
    name: string,
    state: T,
    applied: AppliedSeqs,
    expectedApplied: AppliedSeqs | undefined,
  ): Promise<void> {
    const checked = checkProjectionSave(name, state, applied, expectedApplied);
    this.#checkUsable();
    const k = this.keys.projection(checked.name);
    const current = this.#projections.get(k);
    const expectedText =
      Object.keys(checked.expected).length === 0 ? undefined : canonicalApplied(checked.expected);
    if (current?.appliedText !== expectedText) {
      throw new ProjectionConflictError(
        checked.name,
        checked.expected,
        current ? { ...current.applied } : undefined,
      );
    }
    const savedApplied = { ...checked.applied };
    this.#projections.set(k, {
      stateJson: checked.stateJson,
      applied: savedApplied,
      appliedText: canonicalApplied(savedApplied),
    });
    await this.#persist({ op: 'proj', k, state: checked.stateJson, applied: savedApplied });
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    try {
      await this.#durable();
    } catch {
      // Already reported to the callers of the failed batch.
    }
    await this.#journal.close().catch(() => undefined);
    await releaseLock(this.#lockPath);
  }
}
