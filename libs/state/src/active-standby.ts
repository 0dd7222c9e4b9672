/**
 * Active or hot standby, on one `Lease`: among the processes sharing a lease name, the
 * holder does the work, the others wait and can say who holds it.
 *
 * - start(): the first attempt completes before it returns (a lone instance is active at once);
 *   then one pass every `renewIntervalMs`: the holder renews, a standby tries to acquire and
 *   otherwise reports the current holder.
 * - Acquired → `becomeActive()`. If that throws, the partial work is stopped
 *   (`becomeStandby`) and the lease released: a healthier instance should take it.
 * - Renewal finds the lease taken → `becomeStandby()` (fencing: the work stops). The store
 *   unreachable → keep working while our lease is surely still ours; past its expiry another
 *   instance may hold it: release (best effort) and `becomeStandby()`. A renewal that hangs
 *   (a partitioned store) is watched: once our lease has expired by our clock while the
 *   renewal is still pending, the work stops without waiting for the store to answer.
 * - stop(): the work stops, then the lease is released, so a standby takes over at once
 *   instead of after the TTL.
 *
 * One instance guards one lease name. A runner with several independently owned things (one
 * lease per strategy id) keeps one `ActiveStandby` per key, each with its own hooks.
 *
 * A lease cannot stop a paused process that still believes it holds it: what the holder
 * writes must be fenced too (compare-and-set projection saves, deterministic event ids).
 */
import { type EpochMs, errorText, ValidationError } from '@perpmesh/core';
import { Lease, type LeaseHolder } from './lease.js';
import type { StateStore } from './statestore.js';

/** The few log calls made (a pino Logger fits). */
export interface ActiveStandbyLog {
  info(fields: object, message: string): void;
  warn(fields: object, message: string): void;
  error(fields: object, message: string): void;
}

export type ActiveStandbyStatus =
  | { readonly role: 'active'; readonly holder: string; readonly expiresAtMs: EpochMs | undefined }
  /** `reason` names the holder and its expiry, or why we could not take over. */
  | { readonly role: 'standby'; readonly reason: string }
  | { readonly role: 'stopped' };

export interface StandbyTransition {
  /** Why the work stops, e.g. `lease lost: b holds the lease until …`. */
  readonly reason: string;
  /** True when it stops because of `stop()` (not a lost lease or a failed activation). */
  readonly stopping: boolean;
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
  /** How often the holder renews and a standby retries; must be under `ttlMs`. 0 = never (call `tick()`). */
  readonly renewIntervalMs: number;
  readonly nowMs: () => EpochMs;
  readonly hooks: ActiveStandbyHooks;
  readonly log?: ActiveStandbyLog;
  /** Lifetime of the lease's backing key (see Lease). */
  readonly keyTtlMs?: number;
}

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
  #timer: NodeJS.Timeout | undefined;
  #watchdog: NodeJS.Timeout | undefined;
  #watchdogCheck: Promise<void> | undefined;
  #tick: Promise<void> | undefined;

  constructor(options: ActiveStandbyOptions) {
    const { renewIntervalMs, ttlMs } = options;
    if (!Number.isSafeInteger(renewIntervalMs) || renewIntervalMs < 0 || renewIntervalMs >= ttlMs) {
      // Renewing no faster than the lease lapses would hand it over while we still work.
      throw new ValidationError(
        'activeStandby.renewIntervalMs',
        `must be a whole number of ms >= 0 and < ttlMs (${ttlMs}), got ${renewIntervalMs}`,
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
    return { role: 'standby', reason: this.#reason };
  }

  /** Who holds the lease now (any instance), or undefined. */
  current(): Promise<LeaseHolder | undefined> {
    return this.#lease.current();
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
    await this.#runTick();
  }

  /** Fencing without the store: our lease expired while its renewal is still pending. */
  async #checkPendingRenewal(): Promise<void> {
    if (!this.#active || this.#tick === undefined) return;
    const expiresAtMs = this.#lease.expiresAtMs;
    if (expiresAtMs !== undefined && this.#o.nowMs() < expiresAtMs) return;
    await this.#demote(
      `lease expired at ${expiresAtMs === undefined ? 'an unknown time' : new Date(expiresAtMs).toISOString()} while its renewal was pending`,
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
    clearTimeout(this.#timer);
    await this.#runTick();
  }

  #runTick(): Promise<void> {
    this.#tick = this.#pass().finally(() => {
      this.#tick = undefined;
      if (this.#state !== 'running' || this.#o.renewIntervalMs <= 0) return;
      this.#timer = setTimeout(() => void this.#runTick(), this.#o.renewIntervalMs);
      this.#timer.unref();
    });
    return this.#tick;
  }

  async #pass(): Promise<void> {
    if (this.#state !== 'running') return;
    const lease = this.#lease;
    try {
      if (this.#active) {
        const renewed = await lease.renew();
        // Not active any more: the watchdog stood down while the renewal was pending.
        if (!renewed && this.#active) await this.#demote(`lease lost: ${await this.#holderText()}`);
      } else if (await lease.tryAcquire()) {
        this.#log.info(
          { lease: this.#o.name, holder: lease.holder, expiresAtMs: lease.expiresAtMs },
          'lease acquired: active',
        );
        await this.#activate();
      } else {
        this.#reason = await this.#holderText();
      }
    } catch (err) {
      this.#log.warn(
        { lease: this.#o.name, err: errorText(err), active: this.#active },
        'lease check failed',
      );
      const expiresAtMs = lease.expiresAtMs;
      if (this.#active && (expiresAtMs === undefined || this.#o.nowMs() >= expiresAtMs)) {
        await lease.release().catch(() => undefined);
        await this.#demote(`lease could not be renewed before it expired: ${errorText(err)}`);
      } else if (!this.#active) {
        this.#reason = `lease store unavailable: ${errorText(err)}`;
      }
    }
    if (this.#state === 'running') this.#o.hooks.onStatus?.(this.status);
  }

  async #activate(): Promise<void> {
    this.#working = true;
    try {
      await this.#o.hooks.becomeActive();
      this.#active = true;
    } catch (err) {
      // Give it to a healthier instance rather than hold it while doing nothing.
      this.#reason = `could not become active: ${errorText(err)}`;
      await this.#standDown({ reason: this.#reason, stopping: false });
      await this.#lease.release().catch(() => undefined);
      this.#log.error(
        { lease: this.#o.name, err: errorText(err) },
        'could not become active; lease released',
      );
    }
  }

  async #demote(reason: string): Promise<void> {
    this.#log.warn({ lease: this.#o.name, reason }, 'no longer active, back to standby');
    this.#reason = reason;
    await this.#standDown({ reason, stopping: false });
  }

  async #standDown(transition: StandbyTransition): Promise<void> {
    this.#active = false;
    if (!this.#working) return;
    this.#working = false;
    await this.#o.hooks.becomeStandby(transition);
  }

  async #holderText(): Promise<string> {
    const current = await this.#lease.current();
    if (current === undefined) return 'nobody holds the lease';
    return `${current.holder} holds the lease until ${new Date(current.expiresAtMs).toISOString()}`;
  }

  /** Stops the work (if active), then releases the lease so a standby takes over at once. */
  async stop(): Promise<void> {
    if (this.#state !== 'running') {
      this.#state = 'stopped';
      return;
    }
    this.#state = 'stopped';
    clearTimeout(this.#timer);
    clearInterval(this.#watchdog);
    await this.#tick?.catch(() => undefined);
    await this.#watchdogCheck?.catch(() => undefined);
    this.#reason = 'stopped';
    await this.#standDown({ reason: 'stopped', stopping: true });
    await this.#lease.release().catch((err: unknown) => {
      this.#log.warn(
        { lease: this.#o.name, err: errorText(err) },
        'lease release failed; a standby takes over after the TTL',
      );
    });
    this.#o.hooks.onStatus?.(this.status);
  }
}
