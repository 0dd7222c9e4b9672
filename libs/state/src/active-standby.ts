/**
 * Active or hot standby, on one `Lease`: among the processes sharing a lease name, the
 * holder does the work, the others wait and can say who holds it.
 *
 * - start(): the first attempt completes before it returns (a lone instance is active at once);
 *   then passes on a timer: the holder renews every `renewIntervalMs`; a standby tries to
 *   acquire every `retryIntervalMs` (default the same) and otherwise reports the current holder.
 * - Acquired → `becomeActive()`. If that throws, the partial work is stopped
 *   (`becomeStandby`) and the lease released: a healthier instance should take it.
 * - Renewal finds the lease taken → `becomeStandby()` (fencing: the work stops). The store
 *   unreachable → keep working while our lease is surely still ours; past its expiry another
 *   instance may hold it: release (best effort) and `becomeStandby()`. A renewal that hangs
 *   (a partitioned store) is watched: once our lease has expired by our clock while the
 *   renewal is still pending, the work stops without waiting for the store to answer.
 * - relinquish(): the active work failed on its own: it is stopped (`becomeStandby`), the lease
 *   released so a healthier instance may take it, and contending goes on (this instance may
 *   take it again at its next pass, `retryIntervalMs` later).
 * - stop(): the work stops, then the lease is released, so a standby takes over at once
 *   instead of after the TTL.
 *
 * One instance guards one lease name. A runner with several independently owned things (one
 * lease per strategy id) keeps one `ActiveStandby` per key, each with its own hooks.
 *
 * A lease cannot stop a paused process that still believes it holds it: what the holder
 * writes must be fenced too (compare-and-set projection saves, deterministic event ids).
 */
import { type EpochMs, errorText, ValidationError, withTimeout } from '@perpmesh/core';
import { Lease, type LeaseHolder, type LeaseOptions } from './lease.js';
import type { StateStore } from './statestore.js';

/** The few log calls made (a pino Logger fits). */
export interface ActiveStandbyLog {
  info(fields: object, message: string): void;
  warn(fields: object, message: string): void;
  error(fields: object, message: string): void;
}

export type ActiveStandbyStatus =
  | { readonly role: 'active'; readonly holder: string; readonly expiresAtMs: EpochMs | undefined }
  /**
   * `reason` names the holder and its expiry, or why we could not take over; `holder` is set
   * when another instance held the lease at the last pass.
   */
  | { readonly role: 'standby'; readonly reason: string; readonly holder?: LeaseHolder }
  | { readonly role: 'stopped' };

export interface StandbyTransition {
  /** Why the work stops, e.g. `lease lost: b holds the lease until …`. */
  readonly reason: string;
  /** True when it stops because of `stop()` (not a lost lease or a failed activation). */
  readonly stopping: boolean;
  /**
   * True when the lease was lost or expired: another instance may already work, so the
   * work should not write its last state. False when the lease is still ours until released
   * (stop(), relinquish(), a failed activation).
   */
  readonly leaseLost: boolean;
}

export interface ActiveStandbyHooks {
  /** Start the active work. Throwing means "could not": the lease is released. */
  becomeActive(): Promise<void>;
  /**
   * Stop the active work: the lease was lost, activation failed half-way, or stop(). Called
   * only after `becomeActive` was called, once per activation.
   */
  becomeStandby(transition: StandbyTransition): Promise<void>;
  /** After every pass (and on stop): the current role, e.g. to set readiness. */
  onStatus?(status: ActiveStandbyStatus): void;
}

export interface ActiveStandbyOptions {
  readonly store: StateStore;
  /** Kind of thing leased (the lease's idempotency scope), e.g. `account-lease`. */
  readonly scope: string;
  /** Which one, e.g. the consumer name or the strategy id. */
  readonly name: string;
  /** Who we are: service instance + process (never a secret; no '|'). */
  readonly holder: string;
  /** How long the lease lasts without renewal: the takeover bound. */
  readonly ttlMs: number;
  /** How often the holder renews; must be under `ttlMs`. 0 = no timer at all (call `tick()`). */
  readonly renewIntervalMs: number;
  /** How often a standby (or an instance whose work failed) tries to acquire. Default `renewIntervalMs`. */
  readonly retryIntervalMs?: number;
  readonly nowMs: () => EpochMs;
  readonly hooks: ActiveStandbyHooks;
  readonly log?: ActiveStandbyLog;
  /** Lifetime of the lease's backing key (see Lease). */
  readonly keyTtlMs?: number;
  /**
   * How long `stop()` waits for the store (a renewal in flight, the release) before it goes on
   * without it: a store in an outage must not hold a shutdown up. Default 3 s. The lease then
   * lapses after its TTL (or a restart on this host proves us dead and takes it at once).
   */
  readonly stopStoreWaitMs?: number;
  /** Whether an unexpired lease's holder is provably dead (see Lease; default: process-identity.ts). */
  readonly judgeHolder?: LeaseOptions['judgeHolder'];
  /**
   * How long a pass waits for one lease call to the store (acquire, renew, read, release)
   * before it counts as failed and the pass ends. Default `ttlMs`. Without it, a call the
   * store never answers (a lost request, a half-open connection) would end the passes for
   * good: a standby would never contend again, even once the store is back.
   */
  readonly storeCallTimeoutMs?: number;
}

export const DEFAULT_STOP_STORE_WAIT_MS = 3_000;

const silent: ActiveStandbyLog = { info: () => {}, warn: () => {}, error: () => {} };

export class ActiveStandby {
  readonly #o: ActiveStandbyOptions;
  readonly #lease: Lease;
  readonly #log: ActiveStandbyLog;
  #state: 'idle' | 'running' | 'stopped' = 'idle';
  /** `becomeActive` was called and `becomeStandby` not yet (the work may be running). */
  #working = false;
  /** `becomeActive` completed while we hold the lease. */
  #active = false;
  #reason = 'lease not acquired yet';
  /** Another instance holding the lease, as of the last pass (standby only). */
  #otherHolder: LeaseHolder | undefined;
  #timer: NodeJS.Timeout | undefined;
  #watchdog: NodeJS.Timeout | undefined;
  #watchdogCheck: Promise<void> | undefined;
  /** The pass (or relinquish) in flight: at most one at a time. */
  #tick: Promise<void> | undefined;
  /** A lease call to the store still unanswered (maybe from a pass that gave up on it). */
  #storeCall: Promise<void> | undefined;

  constructor(options: ActiveStandbyOptions) {
    const { renewIntervalMs, retryIntervalMs, ttlMs } = options;
    if (!Number.isSafeInteger(renewIntervalMs) || renewIntervalMs < 0 || renewIntervalMs >= ttlMs) {
      // Renewing no faster than the lease lapses would hand it over while we still work.
      throw new ValidationError(
        'activeStandby.renewIntervalMs',
        `must be a whole number of ms >= 0 and < ttlMs (${ttlMs}), got ${renewIntervalMs}`,
      );
    }
    if (retryIntervalMs !== undefined && (!Number.isSafeInteger(retryIntervalMs) || retryIntervalMs <= 0)) {
      throw new ValidationError(
        'activeStandby.retryIntervalMs',
        `must be a whole number of ms > 0, got ${retryIntervalMs}`,
      );
    }
    const { storeCallTimeoutMs } = options;
    if (
      storeCallTimeoutMs !== undefined &&
      (!Number.isSafeInteger(storeCallTimeoutMs) || storeCallTimeoutMs <= 0)
    ) {
      throw new ValidationError(
        'activeStandby.storeCallTimeoutMs',
        `must be a whole number of ms > 0, got ${storeCallTimeoutMs}`,
      );
    }
    this.#o = options;
    this.#log = options.log ?? silent;
    this.#lease = new Lease({
      store: options.store,
      scope: options.scope,
      name: options.name,
      holder: options.holder,
      ttlMs: options.ttlMs,
      nowMs: options.nowMs,
      ...(options.keyTtlMs === undefined ? {} : { keyTtlMs: options.keyTtlMs }),
      ...(options.judgeHolder === undefined ? {} : { judgeHolder: options.judgeHolder }),
    });
  }

  get holder(): string {
    return this.#lease.holder;
  }

  /** True while we hold the lease and the active work has started completely. */
  get active(): boolean {
    return this.#active;
  }

  get status(): ActiveStandbyStatus {
    if (this.#state === 'stopped') return { role: 'stopped' };
    if (this.#active)
      return { role: 'active', holder: this.#lease.holder, expiresAtMs: this.#lease.expiresAtMs };
    return this.#otherHolder === undefined
      ? { role: 'standby', reason: this.#reason }
      : { role: 'standby', reason: this.#reason, holder: this.#otherHolder };
  }

  /** Who holds the lease now (any instance), or undefined. */
  current(): Promise<LeaseHolder | undefined> {
    return this.#lease.current();
  }

  /**
   * One lease call to the store, waited for at most `storeCallTimeoutMs` (then it fails with
   * DeadlineExceededError and the pass goes on). A call still unanswered from an earlier pass
   * is waited for first, as long again, so calls do not overlap while the store is only slow;
   * one that never answers is given up then (a late answer is fenced by the lease's
   * compare-and-set like any other).
   */
  async #store<T>(what: string, call: () => Promise<T>): Promise<T> {
    const ms = this.#o.storeCallTimeoutMs ?? this.#o.ttlMs;
    const earlier = this.#storeCall;
    if (earlier !== undefined) {
      // Unref'd, as every timer here: the lease loop never keeps a process alive.
      await withTimeout(earlier, ms, 'an earlier lease call').catch(() => undefined);
    }
    const pending = call();
    const settled = pending.then(
      () => undefined,
      () => undefined,
    );
    this.#storeCall = settled;
    void settled.then(() => {
      if (this.#storeCall === settled) this.#storeCall = undefined;
    });
    return withTimeout(pending, ms, `the lease ${what}`);
  }

  /** Starts contending; the first attempt completes before this returns. */
  async start(): Promise<void> {
    if (this.#state !== 'idle')
      throw new Error(`active/standby ${this.#o.name}: start() called when ${this.#state}`);
    this.#state = 'running';
    this.#o.hooks.onStatus?.(this.status);
    if (this.#o.renewIntervalMs > 0) {
      this.#watchdog = setInterval(() => {
        this.#watchdogCheck ??= this.#checkPendingRenewal().finally(() => {
          this.#watchdogCheck = undefined;
        });
      }, this.#o.renewIntervalMs);
      this.#watchdog.unref();
    }
    await this.#run(() => this.#pass());
  }

  /** Fencing without the store: our lease expired while its renewal is still pending. */
  async #checkPendingRenewal(): Promise<void> {
    if (!this.#active || this.#tick === undefined) return;
    const expiresAtMs = this.#lease.expiresAtMs;
    if (expiresAtMs !== undefined && this.#o.nowMs() < expiresAtMs) return;
    await this.#demote(
      `lease expired at ${expiresAtMs === undefined ? 'an unknown time' : new Date(expiresAtMs).toISOString()} while its renewal was pending`,
      undefined,
    );
    this.#o.hooks.onStatus?.(this.status);
  }

  /** One pass now (the timer runs them every `renewIntervalMs`); waits for a pass in flight. */
  async tick(): Promise<void> {
    if (this.#tick !== undefined) {
      await this.#tick;
      return;
    }
    if (this.#state !== 'running') return;
    await this.#run(() => this.#pass());
  }

  /**
   * The active work failed on its own (not a lost lease): stop it, release the lease so a
   * healthier instance may take it, and keep contending (the next pass, `retryIntervalMs`
   * later, may take it again). Waits for a pass in flight first; does nothing unless working.
   */
  async relinquish(reason: string): Promise<void> {
    while (this.#tick !== undefined) await this.#tick.catch(() => undefined);
    if (this.#state !== 'running' || !this.#working) return;
    await this.#run(async () => {
      this.#log.warn({ lease: this.#o.name, reason }, 'work failed: lease released, back to standby');
      this.#setReason(reason, undefined);
      await this.#standDown({ reason, stopping: false, leaseLost: false });
      await this.#store('release', () => this.#lease.release()).catch((err: unknown) => {
        this.#log.warn(
          { lease: this.#o.name, err: errorText(err) },
          'lease release failed; it lapses after the TTL',
        );
      });
      if (this.#state === 'running') this.#o.hooks.onStatus?.(this.status);
    });
  }

  /** Runs one pass (or relinquish) as the one in flight; the timer schedules the next after it. */
  #run(work: () => Promise<void>): Promise<void> {
    clearTimeout(this.#timer);
    // The watchdog demotes outside the passes: a pass waits for that demotion to finish, so
    // `becomeActive` never starts while the `becomeStandby` it called is still stopping the work.
    const demoting = this.#watchdogCheck;
    const pass = demoting === undefined ? work() : demoting.catch(() => undefined).then(work);
    this.#tick = pass.finally(() => {
      this.#tick = undefined;
      this.#schedule();
    });
    return this.#tick;
  }

  #schedule(): void {
    if (this.#state !== 'running' || this.#o.renewIntervalMs <= 0) return;
    clearTimeout(this.#timer);
    const delayMs = this.#active
      ? this.#o.renewIntervalMs
      : (this.#o.retryIntervalMs ?? this.#o.renewIntervalMs);
    this.#timer = setTimeout(() => void this.#run(() => this.#pass()), delayMs);
    this.#timer.unref();
  }

  #setReason(reason: string, otherHolder: LeaseHolder | undefined): void {
    this.#reason = reason;
    this.#otherHolder = otherHolder;
  }

  async #pass(): Promise<void> {
    if (this.#state !== 'running') return;
    const lease = this.#lease;
    try {
      if (this.#active) {
        const renewed = await this.#store('renewal', () => lease.renew());
        // Not active any more: the watchdog stood down while the renewal was pending.
        if (!renewed && this.#active) {
          const current = await this.#store('read', () => lease.current());
          await this.#demote(`lease lost: ${holderText(current)}`, this.#other(current));
        }
      } else if (await this.#store('acquire', () => lease.tryAcquire())) {
        if (this.#state !== 'running') {
          // stop() did not wait for this pass (the store was slow): do not start the work now.
          await this.#store('release', () => lease.release()).catch(() => undefined);
          return;
        }
        const takeover = lease.takeover;
        this.#log.info(
          {
            lease: this.#o.name,
            holder: lease.holder,
            expiresAtMs: lease.expiresAtMs,
            ...(takeover === undefined ? {} : { takenOverFrom: takeover.from, because: takeover.reason }),
          },
          takeover === undefined
            ? 'lease acquired: active'
            : 'lease taken over at once from a dead holder: active',
        );
        await this.#activate();
      } else {
        const current = await this.#store('read', () => lease.current());
        this.#setReason(holderText(current), this.#other(current));
      }
    } catch (err) {
      this.#log.warn(
        { lease: this.#o.name, err: errorText(err), active: this.#active },
        'lease check failed',
      );
      const expiresAtMs = lease.expiresAtMs;
      if (this.#active && (expiresAtMs === undefined || this.#o.nowMs() >= expiresAtMs)) {
        await this.#store('release', () => lease.release()).catch(() => undefined);
        await this.#demote(`lease could not be renewed before it expired: ${errorText(err)}`, undefined);
      } else if (!this.#active) {
        this.#setReason(`lease store unavailable: ${errorText(err)}`, undefined);
      }
    }
    if (this.#state === 'running') this.#o.hooks.onStatus?.(this.status);
  }

  async #activate(): Promise<void> {
    this.#setReason('becoming active', undefined);
    this.#working = true;
    try {
      await this.#o.hooks.becomeActive();
      this.#active = true;
    } catch (err) {
      // Give it to a healthier instance rather than hold it while doing nothing.
      this.#setReason(`could not become active: ${errorText(err)}`, undefined);
      await this.#standDown({ reason: this.#reason, stopping: false, leaseLost: false });
      await this.#store('release', () => this.#lease.release()).catch(() => undefined);
      this.#log.error(
        { lease: this.#o.name, err: errorText(err) },
        'could not become active; lease released',
      );
    }
  }

  /** The lease was lost or expired: the work stops. `otherHolder`: who holds it now, when known. */
  async #demote(reason: string, otherHolder: LeaseHolder | undefined): Promise<void> {
    this.#log.warn({ lease: this.#o.name, reason }, 'no longer active, back to standby');
    this.#setReason(reason, otherHolder);
    await this.#standDown({ reason, stopping: false, leaseLost: true });
  }

  async #standDown(transition: StandbyTransition): Promise<void> {
    this.#active = false;
    if (!this.#working) return;
    this.#working = false;
    await this.#o.hooks.becomeStandby(transition);
  }

  /** The lease's holder when it is another instance. */
  #other(current: LeaseHolder | undefined): LeaseHolder | undefined {
    return current?.holder === this.#lease.holder ? undefined : current;
  }

  /** Stops the work (if active), then releases the lease so a standby takes over at once. */
  async stop(options: { storeWaitMs?: number } = {}): Promise<void> {
    if (this.#state !== 'running') {
      this.#state = 'stopped';
      return;
    }
    this.#state = 'stopped';
    clearTimeout(this.#timer);
    clearInterval(this.#watchdog);
    // `options.storeWaitMs`: the caller already knows the store is out (shorter waits).
    const storeWaitMs = options.storeWaitMs ?? this.#o.stopStoreWaitMs ?? DEFAULT_STOP_STORE_WAIT_MS;
    // An activation in flight is awaited whole (its work must be stopped after it started);
    // a renewal or an acquire attempt only as long as the store may take (it checks `#state`).
    const activating = this.#working && !this.#active;
    const pass = this.#tick?.catch(() => undefined);
    await (activating ? pass : this.#atMost(pass, storeWaitMs, 'the lease pass in flight'));
    await this.#watchdogCheck?.catch(() => undefined);
    this.#setReason('stopped', undefined);
    await this.#standDown({ reason: 'stopped', stopping: true, leaseLost: false });
    await this.#atMost(this.#lease.release(), storeWaitMs, 'the lease release');
    this.#o.hooks.onStatus?.(this.status);
  }

  /** Waits for a store call during stop() at most `ms`; a failure or a timeout is logged, never thrown. */
  async #atMost(work: Promise<unknown> | undefined, ms: number, what: string): Promise<void> {
    if (work === undefined) return;
    await withTimeout(work, ms, what, { keepAlive: true }).catch((err: unknown) => {
      this.#log.warn(
        { lease: this.#o.name, err: errorText(err) },
        'stopping without the lease store: the lease lapses after its TTL (a restart on this host takes it at once)',
      );
    });
  }
}

function holderText(current: LeaseHolder | undefined): string {
  if (current === undefined) return 'nobody holds the lease';
  return `${current.holder} holds the lease until ${new Date(current.expiresAtMs).toISOString()}`;
}
