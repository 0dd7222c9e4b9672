/**
 * The account service: balances, positions and PnL per (venue, account), served over
 * AccountService and published as acct.* events.
 *
 * Where each figure comes from:
 * - Positions: OUR projection of the event log (source PROJECTION). Fills from the EXEC
 *   stream (`exec.fill.*.*`) and funding payments from the ACCT stream
 *   (`acct.funding.*.*.*`), each through a durable consumer and `runProjector`, so every
 *   event is applied at most once and the snapshot is stored with its applied sequence.
 *   Mark price and unrealized PnL are refreshed from venue position reports and md.funding.
 * - Balances: the VENUE (source VENUE, as of the venue's time), polled every
 *   `pollIntervalMs` and pushed by the venue's user stream.
 * - Funding payments: the venue's user stream → `acct.funding` (id = factEventId of
 *   venue|account|instrument|funding time, so a restart or a standby replica reporting the
 *   same payment stores it once) → the funding projection.
 * - Drift: projection and venue compared on every poll and housekeeping pass; a
 *   disagreement outliving `driftGraceMs` → `acct.drift`, a warning and a metric.
 *
 * Never $0, never stale-as-current: balances never fetched are an error
 * (`BalancesUnavailableError`), not zeros; every figure carries its as-of and age and is
 * flagged stale past its bound; readiness names what is missing and why.
 *
 * One active instance (ARCHITECTURE §7): given `lease`, the instances sharing a
 * `consumerName` contend for one lease (`idem:account-lease:<consumerName>`); only the
 * holder loads markets, runs the projectors, follows user streams and md.funding, polls the
 * venues and publishes acct.*. The others are hot standbys: not ready (naming the holder and
 * its expiry), polling nothing, answering queries with AccountStandbyError; one takes over
 * within the lease TTL when the holder stops renewing (at once when it stops cleanly).
 * A paused ex-holder is fenced by the projections' compare-and-set saves, and its acct.*
 * facts carry deterministic ids, so a duplicate publish is deduplicated by the log.
 *
 * The lease loop is @perpmesh/state's ActiveStandby; the pieces this class wires are their
 * own modules (README "Module map"): projectors.ts, readings.ts, wire.ts, venue-state.ts,
 * acct-publisher.ts, drift.ts, metrics.ts.
 *
 * No I/O is constructed here: the log, the store, the venue ports and the clock are passed
 * in, so the embedded runner and the distributed main compose the same service.
 */
import type { EventLog, ProjectionStore, TailHandle } from '@perpmesh/bus';
import {
  type AccountServiceServer,
  AccountServiceService,
  decodeEnvelope,
  optionalDecimalFromWire,
  type Subjects,
} from '@perpmesh/contracts';
import {
  type Decimal,
  type EpochMs,
  errorText,
  readingAgeMs,
  toWire,
  ValidationError,
  withTimeout,
  ZERO,
} from '@perpmesh/core';
import type { HealthRegistry, Logger, ServiceMetrics } from '@perpmesh/runtime';
import { grpcHandlers } from '@perpmesh/runtime';
import { ActiveStandby, type ActiveStandbyStatus, type StateStore } from '@perpmesh/state';
import type {
  UserStreamEvent,
  VenueBalance,
  VenueDirectory,
  VenueFundingPayment,
  VenuePort,
  VenuePosition,
} from '@perpmesh/venues';
import {
  PORT_READINESS_REFRESH_MS,
  type PortComponentView,
  PortReadinessMirror,
  VENUE_COMPONENT,
} from '@perpmesh/venues';
import { AcctPublisher } from './acct-publisher.js';
import { type AccountSettings, type AccountSettingsInput, resolveAccountSettings } from './config.js';
import { BalanceDriftDetector, DriftDetector, positionSizeObservations } from './drift.js';
import { AccountStandbyError, BalancesUnavailableError } from './errors.js';
import type { AccountForwarding } from './forwarding.js';
import { type AccountMetrics, accountMetrics } from './metrics.js';
import { buildPerAccountService } from './per-account.js';
import {
  accountKey,
  emptyFundingProjection,
  emptyPositionsProjection,
  type FundingProjection,
  type MergedPosition,
  mergedPosition,
  type PositionsProjection,
  positionKey,
  projectedKeys,
} from './projection.js';
import {
  type AccountProjectors,
  accountProjectionNames,
  type OwnedAccount,
  observedProjectionStore,
  runAccountProjectors,
} from './projectors.js';
import {
  type AccountSummaryReading,
  accountSummaryReading,
  type BalanceReading,
  balanceReading,
  type DriftFact,
  type FundingPaymentFact,
  type PositionReading,
  projectedPositionReading,
  summaryTotals,
  venuePositionReading,
} from './readings.js';
import { AccountVenueState } from './venue-state.js';
import { balanceViewToProto, positionViewToProto, summaryToProto, totalsToProto } from './wire.js';

export interface AccountServiceDeps {
  readonly log: EventLog;
  /** Where the projections and their applied sequences live (a StateStore satisfies it). */
  readonly state: ProjectionStore;
  readonly venues: VenueDirectory;
  readonly subjects: Subjects;
  readonly health: HealthRegistry;
  readonly logger: Logger;
  readonly nowMs: () => EpochMs;
  /** Producer id on every envelope, e.g. `account/0`. */
  readonly source: string;
  readonly metrics?: ServiceMetrics;
  readonly config?: AccountSettingsInput;
  /** Prefix of the stream names (`streamSpecs({ prefix })`); '' in production. */
  readonly streamPrefix?: string;
  /** One active instance among several (hot standby); omitted = this instance is always active. */
  readonly lease?: AccountLeaseDeps;
}

export interface AccountLeaseDeps {
  /** The store every instance of the set shares (Redis in distributed mode). */
  readonly store: StateStore;
  /** Who we are, unique per process, e.g. `account/0 pid 4242 3f9a` (never a secret; no '|'). */
  readonly holder: string;
  /** per_account: how reads for accounts other replicas own reach them (none: NOT_FOUND naming the owner). */
  readonly forward?: AccountForwarding;
}

/** Lease scope of the account service; the lease name is its `consumerName`. */
export const ACCOUNT_LEASE_SCOPE = 'account-lease';

export interface AccountFilter {
  readonly venue?: string | undefined;
  readonly account?: string | undefined;
  readonly instrument?: string | undefined;
}

export interface AccountService {
  start(): Promise<void>;
  stop(): Promise<void>;
  readonly grpc: { definition: typeof AccountServiceService; implementation: AccountServiceServer };
  readonly settings: AccountSettings;
  /** Venue balances; throws BalancesUnavailableError for accounts never fetched. */
  balances(filter?: AccountFilter): BalanceReading[];
  positions(filter?: AccountFilter): PositionReading[];
  /** Throws BalancesUnavailableError for accounts whose balances were never fetched. */
  summary(filter?: AccountFilter): AccountSummaryReading[];
  /** Polls every account's balances, positions and open orders now, then checks drift. */
  refresh(): Promise<void>;
  /** Housekeeping now: throttled position publishes, staleness readiness, drift, user-stream retries. */
  flush(): Promise<void>;
  /** True once this instance does the work (after start without a lease; while holding it, with one). */
  readonly active: boolean;
  /** Resolves when every event queued for publishing so far has been published (or failed). */
  idle(): Promise<void>;
  /**
   * Every readiness component of each tracked account's venue port (also in health as
   * `venue <venue>/<account>: <component>`), as of the last read (every second).
   */
  portReadiness(filter?: AccountFilter): PortComponentView[];
  /** Applied/skipped counts of the two projectors. */
  projectorStats(): {
    fills: { applied: number; skipped: number };
    funding: { applied: number; skipped: number };
  };
}

/** Health component names, one place. */
export const accountComponents = {
  balances: (venue: string, account: string) => `${venue}/${account}/balances`,
  positions: (venue: string, account: string) => `${venue}/${account}/positions`,
  userStream: (venue: string, account: string) => `${venue}/${account}/user_stream`,
  projection: 'account/projection',
  /** per_account: the projection of one owned account. */
  ownedProjection: (venue: string, account: string) => `account/projection/${venue}/${account}`,
  lease: 'account/lease',
};

/** A venue clock offset at least this large (ms) is shown in the balances' readiness details. */
const CLOCK_OFFSET_SHOWN_MS = 1_000;

interface Mark {
  readonly price: Decimal;
  readonly asOfMs: EpochMs;
}

export function buildAccountService(deps: AccountServiceDeps): AccountService {
  const settings = resolveAccountSettings(deps.config);
  if (settings.ownership === 'per_account') {
    return buildPerAccountService(deps, settings, (ownedDeps, owned, metrics) => {
      return new AccountServiceImpl(ownedDeps, { owned, metrics });
    });
  }
  return new AccountServiceImpl(deps);
}

/** A per-account owner's service (README "Per-account ownership"): one account, shared metrics. */
interface OwnedAccountInternals {
  readonly owned: OwnedAccount;
  readonly metrics: AccountMetrics;
}

/** The gRPC AccountService over any AccountService (single or per-account). */
export function accountGrpcOf(service: AccountService, logger: Logger): AccountService['grpc'] {
  const h = grpcHandlers({ logger });
  const implementation: AccountServiceServer = {
    getVenueReadiness: h.unary(async (req) => ({ components: service.portReadiness(filterOf(req)) })),
    getBalances: h.unary(async (req) => ({
      balances: service.balances(filterOf(req)).map(balanceViewToProto),
    })),
    getPositions: h.unary(async (req) => ({
      positions: service.positions(filterOf(req)).map(positionViewToProto),
    })),
    getAccountSummary: h.unary(async (req) => {
      const readings = service.summary(filterOf(req));
      return { accounts: readings.map(summaryToProto), totals: summaryTotals(readings).map(totalsToProto) };
    }),
  };
  return { definition: AccountServiceService, implementation };
}

class AccountServiceImpl implements AccountService {
  readonly settings: AccountSettings;
  readonly grpc: AccountService['grpc'];
  readonly #deps: AccountServiceDeps;
  readonly #logger: Logger;
  readonly #metrics: AccountMetrics;
  readonly #publisher: AcctPublisher;
  readonly #accounts = new Map<string, AccountVenueState>();
  readonly #marks = new Map<string, Mark>();
  /** positionKey → venue as-of when the venue last agreed with our size. */
  readonly #confirmed = new Map<string, EpochMs>();
  /** positionKey → our clock when that agreeing venue reading was taken (a position's age counts from it). */
  readonly #confirmedObservedAt = new Map<string, EpochMs>();
  readonly #drift: DriftDetector;
  readonly #balanceDrift: BalanceDriftDetector;
  #positions: PositionsProjection = emptyPositionsProjection();
  #funding: FundingProjection = emptyFundingProjection();
  #projectors: AccountProjectors | undefined;
  #markTail: TailHandle | undefined;
  #pollTimer: NodeJS.Timeout | undefined;
  #housekeepingTimer: NodeJS.Timeout | undefined;
  #refreshing: Promise<void> | undefined;
  #state: 'idle' | 'running' | 'stopped' = 'idle';
  /** Doing the work (set while becoming active, too): projectors, user streams, polls, publishing. */
  #active = false;
  /** Became active completely (what `active` reports). */
  #activated = false;
  /** With a lease: active or hot standby (ActiveStandby on `account-lease:<consumerName>`). */
  readonly #standby: ActiveStandby | undefined;
  #standbyReason = 'standby: lease not acquired yet';
  /** Every component of every tracked port into health (active and standby alike). */
  readonly #portReadiness: PortReadinessMirror;

  /** Per-account owner: the one account it projects (its own durables and snapshots). */
  readonly #owned: OwnedAccount | undefined;
  /** `account/projection`, or `account/projection/<venue>/<account>` for a per-account owner. */
  readonly #projectionComponent: string;

  constructor(deps: AccountServiceDeps, internals?: OwnedAccountInternals) {
    this.#deps = deps;
    this.settings = resolveAccountSettings(deps.config);
    this.#owned = internals?.owned;
    this.#projectionComponent =
      internals === undefined
        ? accountComponents.projection
        : accountComponents.ownedProjection(internals.owned.venue, internals.owned.account);
    this.#logger = deps.logger.child({
      component: 'account',
      ...(internals === undefined ? {} : { owns: `${internals.owned.venue}/${internals.owned.account}` }),
    });
    this.#metrics = internals?.metrics ?? accountMetrics(deps.metrics);
    this.#publisher = new AcctPublisher({
      log: deps.log,
      subjects: deps.subjects,
      source: deps.source,
      nowMs: deps.nowMs,
      logger: this.#logger,
      metrics: this.#metrics,
      markPublishIntervalMs: this.settings.positionMarkPublishIntervalMs,
      isActive: () => this.#active,
    });
    this.#drift = new DriftDetector({
      graceMs: this.settings.driftGraceMs,
      tolerance: this.settings.driftSizeTolerance,
    });
    this.#balanceDrift = new BalanceDriftDetector({
      graceMs: this.settings.driftGraceMs,
      tolerance: this.settings.driftBalanceTolerance,
    });
    this.#standby =
      deps.lease === undefined
        ? undefined
        : new ActiveStandby({
            store: deps.lease.store,
            scope: ACCOUNT_LEASE_SCOPE,
            name: this.settings.consumerName,
            holder: deps.lease.holder,
            ttlMs: this.settings.leaseTtlMs,
            renewIntervalMs: this.settings.leaseRenewIntervalMs,
            nowMs: deps.nowMs,
            log: this.#logger,
            hooks: {
              becomeActive: () => this.#activate(),
              becomeStandby: async ({ reason, stopping }) => {
                this.#standbyReason = stopping ? 'service stopped' : `standby: ${reason}`;
                await this.#deactivate();
              },
              onStatus: (status) => this.#leaseStatus(status),
            },
          });
    for (const port of deps.venues.all()) {
      const venueState = new AccountVenueState(port);
      this.#accounts.set(venueState.key, venueState);
    }
    this.#portReadiness = new PortReadinessMirror({
      health: deps.health,
      ports: () => [...this.#accounts.values()].map((t) => t.port),
      nowMs: deps.nowMs,
    });
    this.grpc = accountGrpcOf(this, deps.logger);
  }

  // ---- lifecycle ---------------------------------------------------------------------------

  async start(): Promise<void> {
    if (this.#state !== 'idle') throw new Error(`account service: start() called when ${this.#state}`);
    this.#state = 'running';
    const { health } = this.#deps;
    this.#portReadiness.start(PORT_READINESS_REFRESH_MS);
    health.register(this.#projectionComponent, 'account projection: consumers not started yet');
    for (const t of this.#accounts.values()) {
      health.register(accountComponents.balances(t.venue, t.account), `${t.name} balances: not fetched yet`);
      health.register(
        accountComponents.positions(t.venue, t.account),
        `${t.name} positions: not fetched yet`,
      );
      health.register(
        accountComponents.userStream(t.venue, t.account),
        `${t.name} user stream: not connected yet`,
      );
    }
    if (this.#standby === undefined) {
      await this.#activate();
      return;
    }
    health.register(accountComponents.lease, this.#standbyReason);
    // The first attempt completes before start() returns: a lone instance is active at once.
    await this.#standby.start();
  }

  get active(): boolean {
    return this.#activated;
  }

  #leaseStatus(status: ActiveStandbyStatus): void {
    const { health } = this.#deps;
    if (status.role === 'active') health.ready(accountComponents.lease, { holder: status.holder });
    else if (status.role === 'standby') {
      this.#standbyReason = `standby: ${status.reason}`;
      health.notReady(accountComponents.lease, this.#standbyReason);
    }
  }

  /** Becomes the active instance: projections, user streams, marks, polls, publishing. */
  async #activate(): Promise<void> {
    this.#active = true;
    await this.#loadMarkets();
    await this.#startProjectors();
    await Promise.all([...this.#accounts.values()].map((t) => this.#subscribeUserStream(t)));
    await this.#startMarkTail();
    await this.refresh();

    if (this.settings.pollIntervalMs > 0) {
      this.#pollTimer = setInterval(() => void this.refresh(), this.settings.pollIntervalMs);
      this.#pollTimer.unref();
    }
    if (this.settings.housekeepingIntervalMs > 0) {
      this.#housekeepingTimer = setInterval(() => void this.flush(), this.settings.housekeepingIntervalMs);
      this.#housekeepingTimer.unref();
    }
    this.#activated = true;
    this.#logger.info(
      { accounts: [...this.#accounts.values()].map((t) => t.name), settings: { ...this.settings } },
      'account service started',
    );
  }

  async stop(): Promise<void> {
    this.#portReadiness.stop();
    if (this.#state !== 'running') {
      this.#state = 'stopped';
      return;
    }
    this.#state = 'stopped';
    this.#standbyReason = 'service stopped';
    if (this.#standby === undefined) {
      await this.#deactivate();
    } else {
      // Stops the work, then releases the lease: a standby takes over at once rather than after the TTL.
      await this.#standby.stop();
    }
    this.#deps.health.notReady(this.#projectionComponent, 'account projection: service stopped');
    if (this.#standby) this.#deps.health.notReady(accountComponents.lease, 'account lease: service stopped');
  }

  /** Stops all the active work (the stop path, and a lost lease). Idempotent. */
  async #deactivate(): Promise<void> {
    if (!this.#active) return;
    this.#active = false;
    this.#activated = false;
    clearInterval(this.#pollTimer);
    clearInterval(this.#housekeepingTimer);
    await this.#refreshing?.catch(() => {});
    const closing: Promise<unknown>[] = [];
    if (this.#projectors) closing.push(this.#projectors.positions.stop(), this.#projectors.funding.stop());
    if (this.#markTail) closing.push(this.#markTail.stop());
    for (const t of this.#accounts.values()) if (t.subscription) closing.push(t.subscription.close());
    await Promise.allSettled(closing);
    await this.idle();
    this.#projectors = undefined;
    this.#markTail = undefined;
    // What we knew as the active instance goes stale from now: a later takeover starts fresh.
    const { health } = this.#deps;
    const reason = this.#standbyReason;
    health.notReady(this.#projectionComponent, `account projection: ${reason}`);
    for (const t of this.#accounts.values()) {
      t.reset();
      health.notReady(accountComponents.balances(t.venue, t.account), `${t.name} balances: ${reason}`);
      health.notReady(accountComponents.positions(t.venue, t.account), `${t.name} positions: ${reason}`);
      health.notReady(accountComponents.userStream(t.venue, t.account), `${t.name} user stream: ${reason}`);
    }
    this.#balanceDrift.resetBaselines();
    this.#publisher.reset();
    this.#marks.clear();
    this.#confirmed.clear();
    this.#confirmedObservedAt.clear();
  }

  idle(): Promise<void> {
    return this.#publisher.idle();
  }

  portReadiness(filter: AccountFilter = {}): PortComponentView[] {
    return this.#portReadiness.views(filter);
  }

  projectorStats() {
    return {
      fills: this.#projectors?.positions.stats() ?? { applied: 0, skipped: 0 },
      funding: this.#projectors?.funding.stats() ?? { applied: 0, skipped: 0 },
    };
  }

  /**
   * The settle currency per instrument of every tracked account. Markets are the venue's, not
   * an account's: read once per venue (through its first account's port) and shared.
   */
  async #loadMarkets(): Promise<void> {
    const byVenue = new Map<string, AccountVenueState[]>();
    for (const t of this.#accounts.values()) byVenue.set(t.venue, [...(byVenue.get(t.venue) ?? []), t]);
    await Promise.all(
      [...byVenue.values()].map(async (accounts) => {
        const [first] = accounts as [AccountVenueState];
        try {
          const markets = await withTimeout(
            first.port.loadMarkets(),
            this.settings.venueCallTimeoutMs,
            'loadMarkets',
          );
          for (const t of accounts) for (const m of markets) t.settle.set(m.instrument, m.settle);
        } catch (err) {
          // Only the settle currency of funding payments depends on it; the balances' asset is the fallback.
          this.#logger.warn(
            { venue: first.venue, account: first.account, err: errorText(err) },
            'loadMarkets failed',
          );
        }
      }),
    );
  }

  // ---- projections ---------------------------------------------------------------------------

  async #startProjectors(): Promise<void> {
    const { state } = this.#deps;
    const names = accountProjectionNames(this.settings.consumerName, this.#owned);
    const [positions, funding] = await Promise.all([
      state.loadProjection<PositionsProjection>(names.positions),
      state.loadProjection<FundingProjection>(names.funding),
    ]);
    this.#positions = positions?.state ?? emptyPositionsProjection();
    this.#funding = funding?.state ?? emptyFundingProjection();

    // After each save (state and applied sequence stored together) publish what changed.
    const store = observedProjectionStore(state, (name, stored) => {
      if (name === names.positions) this.#onPositionsSaved(stored as PositionsProjection);
      else if (name === names.funding) this.#onFundingSaved(stored as FundingProjection);
    });
    try {
      this.#projectors = await runAccountProjectors({
        log: this.#deps.log,
        store,
        subjects: this.#deps.subjects,
        streamPrefix: this.#deps.streamPrefix ?? '',
        consumerName: this.settings.consumerName,
        ...(this.#owned === undefined ? {} : { owned: this.#owned }),
        events: {
          applied: (projection) => this.#metrics.applied.inc({ projection }),
          rejected: (msg, projection, err) => {
            this.#metrics.rejected.inc({ projection });
            this.#logger.error(
              { projection, stream: msg.stream, seq: msg.seq, subject: msg.subject, err: errorText(err) },
              'event skipped: cannot be applied to the projection',
            );
          },
        },
      });
    } catch (err) {
      this.#deps.health.notReady(
        this.#projectionComponent,
        `account projection: cannot start consumers: ${errorText(err)}`,
      );
      throw err;
    }
    for (const [label, p] of [
      ['fills', this.#projectors.positions],
      ['funding', this.#projectors.funding],
    ] as const) {
      p.closed.catch((err: unknown) => {
        this.#logger.error({ projection: label, err: errorText(err) }, 'projection consumer failed');
        this.#deps.health.notReady(
          this.#projectionComponent,
          `account projection: ${label} consumer stopped: ${errorText(err)}`,
        );
      });
    }
    this.#deps.health.ready(this.#projectionComponent);
  }

  #onPositionsSaved(next: PositionsProjection): void {
    const previous = this.#positions;
    this.#positions = next;
    for (const [key, entry] of Object.entries(next.positions)) {
      const before = previous.positions[key];
      if (before !== entry && JSON.stringify(before) !== JSON.stringify(entry))
        this.#publishPosition(key, 'change');
    }
  }

  #onFundingSaved(next: FundingProjection): void {
    const previous = this.#funding;
    this.#funding = next;
    for (const [key, entry] of Object.entries(next.funding)) {
      const before = previous.funding[key];
      if (before !== entry && JSON.stringify(before) !== JSON.stringify(entry))
        this.#publishPosition(key, 'change');
    }
  }

  // ---- marks from md.funding -------------------------------------------------------------------

  async #startMarkTail(): Promise<void> {
    try {
      this.#markTail = await this.#deps.log.tail(
        this.#deps.subjects.filter('mdFunding'),
        { from: 'new' },
        async (msg) => {
          try {
            const envelope = decodeEnvelope(msg.data);
            if (envelope.payload?.$case !== 'fundingRate') return;
            const rate = envelope.payload.value;
            const mark = optionalDecimalFromWire(rate.markPrice, 'fundingRate.markPrice');
            if (mark !== undefined)
              this.#setMark(rate.venue, rate.instrument, mark, rate.asOfMs || envelope.tsEvent);
          } catch (err) {
            this.#logger.debug({ subject: msg.subject, err: errorText(err) }, 'md.funding event ignored');
          }
        },
      );
    } catch (err) {
      // Marks then come from the venue's position reports only.
      this.#logger.warn({ err: errorText(err) }, 'cannot follow md.funding for marks');
    }
  }

  #setMark(venue: string, instrument: string, price: Decimal, asOfMs: EpochMs): void {
    if (!price.gt(0)) return;
    const k = `${venue}|${instrument}`;
    const current = this.#marks.get(k);
    if (current !== undefined && current.asOfMs > asOfMs) return;
    this.#marks.set(k, { price, asOfMs });
    if (current?.price.eq(price)) return;
    for (const t of this.#accounts.values()) {
      if (t.venue !== venue) continue;
      const key = positionKey(venue, t.account, instrument);
      if (this.#positions.positions[key] !== undefined) this.#publishPosition(key, 'mark');
    }
  }

  // ---- venue truth -----------------------------------------------------------------------------

  async #subscribeUserStream(t: AccountVenueState): Promise<void> {
    if (t.subscription !== undefined || t.subscribing || !this.#active) return;
    t.subscribing = true;
    try {
      const subscription = await t.port.watchUserStream((event) => this.#onUserEvent(t, event));
      if (!this.#active) {
        // Demoted while subscribing.
        await subscription.close().catch(() => undefined);
        return;
      }
      t.subscription = subscription;
      t.userStreamError = undefined;
    } catch (err) {
      t.userStreamError = errorText(err);
      this.#metrics.fetchFailures.inc({ venue: t.venue, account: t.account, what: 'user_stream' });
      this.#logger.warn(
        { venue: t.venue, account: t.account, err: t.userStreamError },
        'user stream subscribe failed',
      );
    } finally {
      t.subscribing = false;
    }
    this.#updateUserStreamReadiness(t);
  }

  /**
   * Ready when we hold a subscription and the port's own user-stream components say it is
   * connected. True when it just came back (it may have missed events).
   */
  #updateUserStreamReadiness(t: AccountVenueState): boolean {
    const name = accountComponents.userStream(t.venue, t.account);
    let reason: string | undefined;
    if (t.subscription === undefined) {
      reason = `${t.name} user stream: not connected${t.userStreamError ? `: ${t.userStreamError}` : ' yet'}`;
    } else {
      let components: ReturnType<VenuePort['readiness']> = [];
      try {
        components = t.port.readiness();
      } catch (err) {
        reason = `${t.name} user stream: venue readiness unavailable: ${errorText(err)}`;
      }
      const down = components.filter((c) => c.component === VENUE_COMPONENT.userStream && !c.ready);
      if (down.length > 0) reason = `${t.name} user stream: ${down.map((c) => c.reason).join('; ')}`;
    }
    const wasReady = t.userStreamReady;
    t.userStreamReady = reason === undefined;
    if (reason === undefined) this.#deps.health.ready(name);
    else this.#deps.health.notReady(name, reason);
    return !wasReady && t.userStreamReady;
  }

  #onUserEvent(t: AccountVenueState, event: UserStreamEvent): void {
    if (!this.#active) return;
    try {
      switch (event.kind) {
        case 'balance':
          this.#acceptBalance(t, event.balance, this.#deps.nowMs());
          this.#updateBalanceReadiness(t);
          return;
        case 'position':
          this.#acceptVenuePosition(t, event.position, this.#deps.nowMs());
          return;
        case 'funding_payment':
          this.#publishFundingPayment(t, event.payment);
          return;
        default:
          // Orders and fills are the execution service's: fills reach us through exec.fill.
          return;
      }
    } catch (err) {
      this.#logger.error(
        { venue: t.venue, account: t.account, kind: event.kind, err: errorText(err) },
        'user event failed',
      );
    }
  }

  /** `observedAtMs`: our clock when the balance was known true (a poll's request, a push's arrival). */
  #acceptBalance(t: AccountVenueState, balance: VenueBalance, observedAtMs: EpochMs): void {
    // A poll answered late must not overwrite a newer user-stream reading.
    if (t.acceptBalance(balance, observedAtMs)) this.#publishBalance(t, balance.asset, false);
  }

  #publishBalance(t: AccountVenueState, asset: string, flushing: boolean): void {
    const balance = t.balances?.get(asset);
    if (balance === undefined) return;
    this.#publisher.balance(this.#balanceReading(t, balance, this.#deps.nowMs()), flushing);
  }

  #acceptVenuePosition(t: AccountVenueState, position: VenuePosition, observedAtMs: EpochMs): void {
    if (t.acceptPosition(position, observedAtMs))
      this.#setMark(t.venue, position.instrument, position.markPrice, position.tsEventMs);
  }

  #publishFundingPayment(t: AccountVenueState, payment: VenueFundingPayment): void {
    const fact: FundingPaymentFact = {
      venue: t.venue,
      account: t.account,
      instrument: payment.instrument,
      amount: payment.amount,
      currency: t.settleCurrency(payment.instrument),
      rate: payment.rate,
      positionSize: payment.positionSize,
      markPrice: payment.markPrice.gt(0) ? payment.markPrice : undefined,
      fundingTimeMs: payment.tsEventMs,
    };
    this.#logger.info(
      { venue: t.venue, account: t.account, instrument: payment.instrument, amount: toWire(payment.amount) },
      'funding payment',
    );
    this.#publisher.fundingPayment(fact);
    t.fundingHistorySinceMs = Math.max(t.fundingHistorySinceMs ?? 0, payment.tsEventMs + 1);
  }

  /**
   * Funding payments the venue made while no instance listened (down, standby, user stream
   * cut): read from the venue's history since the last one applied and published. Fact ids
   * (venue|account|instrument|funding time) and the projection's applied times keep a payment
   * the stream also reported from counting twice.
   */
  async #recoverFundingPayments(t: AccountVenueState): Promise<void> {
    const fetchHistory = t.port.fetchFundingPayments?.bind(t.port);
    if (!fetchHistory || !t.port.capabilities.fundingHistory) return;
    t.fundingHistorySinceMs ??= this.#fundingHistoryStart(t);
    const sinceMs = t.fundingHistorySinceMs;
    let payments: VenueFundingPayment[];
    try {
      payments = await withTimeout(
        fetchHistory(sinceMs),
        this.settings.venueCallTimeoutMs,
        'fetchFundingPayments',
      );
    } catch (err) {
      this.#fetchFailed(t, 'funding_history', err);
      return;
    }
    const missed = payments.filter((p) => p.tsEventMs >= sinceMs).sort((a, b) => a.tsEventMs - b.tsEventMs);
    if (missed.length > 0) {
      this.#logger.info(
        { venue: t.venue, account: t.account, payments: missed.length, sinceMs },
        'funding payments recovered from the venue history',
      );
    }
    for (const payment of missed) this.#publishFundingPayment(t, payment);
  }

  /** After the newest payment the funding projection applied for the account; else the lookback. */
  #fundingHistoryStart(t: AccountVenueState): EpochMs {
    let last: EpochMs | undefined;
    for (const entry of Object.values(this.#funding.funding)) {
      if (entry.venue !== t.venue || entry.account !== t.account) continue;
      last = Math.max(last ?? 0, entry.lastFundingTimeMs);
    }
    return last !== undefined
      ? last + 1
      : Math.max(0, this.#deps.nowMs() - this.settings.fundingHistoryLookbackMs);
  }

  refresh(): Promise<void> {
    if (this.#state !== 'running' || !this.#active) return Promise.resolve();
    // One poll at a time: a slow venue must not pile polls up.
    this.#refreshing ??= (async () => {
      try {
        await Promise.all([...this.#accounts.values()].map((t) => this.#pollAccount(t)));
        await this.#housekeeping();
      } finally {
        this.#refreshing = undefined;
      }
    })();
    return this.#refreshing;
  }

  async #pollAccount(t: AccountVenueState): Promise<void> {
    const timeout = this.settings.venueCallTimeoutMs;
    const requestedAtMs = this.#deps.nowMs();
    const [balances, positions, orders] = await Promise.allSettled([
      withTimeout(t.port.fetchBalances(), timeout, 'fetchBalances'),
      withTimeout(t.port.fetchPositions(), timeout, 'fetchPositions'),
      withTimeout(t.port.fetchOpenOrders(), timeout, 'fetchOpenOrders'),
    ]);
    if (balances.status === 'fulfilled') {
      t.balancesError = undefined;
      t.balances ??= new Map();
      for (const b of balances.value) this.#acceptBalance(t, b, requestedAtMs);
    } else {
      t.balancesError = errorText(balances.reason);
      this.#fetchFailed(t, 'balances', balances.reason);
    }
    if (positions.status === 'fulfilled') {
      const polledBalances = balances.status === 'fulfilled' ? balances.value : [];
      for (const p of t.acceptPolledPositions(positions.value, polledBalances, requestedAtMs))
        this.#setMark(t.venue, p.instrument, p.markPrice, p.tsEventMs);
    } else {
      t.positionsError = errorText(positions.reason);
      this.#fetchFailed(t, 'positions', positions.reason);
    }
    if (orders.status === 'fulfilled') t.openOrders = orders.value.length;
    else this.#fetchFailed(t, 'open_orders', orders.reason);
    await this.#recoverFundingPayments(t);
    this.#updateBalanceReadiness(t);
    this.#updatePositionsReadiness(t);
  }

  #fetchFailed(t: AccountVenueState, what: string, err: unknown): void {
    this.#metrics.fetchFailures.inc({ venue: t.venue, account: t.account, what });
    this.#logger.warn({ venue: t.venue, account: t.account, what, err: errorText(err) }, 'venue read failed');
  }

  #updateBalanceReadiness(t: AccountVenueState): void {
    const name = accountComponents.balances(t.venue, t.account);
    const now = this.#deps.nowMs();
    for (const b of t.balances?.values() ?? []) {
      this.#metrics.balanceAge.set(
        { venue: t.venue, account: t.account, currency: b.asset },
        readingAgeMs({ asOfMs: b.tsEventMs, observedAtMs: b.observedAtMs }, now) / 1000,
      );
    }
    const clock = t.port.clockOffset?.();
    if (clock !== undefined)
      this.#metrics.clockOffset.set({ venue: t.venue, account: t.account }, clock.offsetMs / 1000);
    const readiness = t.balancesReadiness(now, this.settings.balanceStaleAfterMs);
    if (!readiness.ready) this.#deps.health.notReady(name, readiness.reason);
    else
      this.#deps.health.ready(name, {
        currencies: [...(t.balances?.keys() ?? [])],
        lastError: t.balancesError,
        // Shown when large: ages do not depend on it (they run on our clock), venue deadlines do.
        ...(clock !== undefined && Math.abs(clock.offsetMs) >= CLOCK_OFFSET_SHOWN_MS
          ? { venueClockOffsetMs: clock.offsetMs }
          : {}),
      });
  }

  #updatePositionsReadiness(t: AccountVenueState): void {
    const name = accountComponents.positions(t.venue, t.account);
    const readiness = t.positionsReadiness(this.#deps.nowMs(), this.settings.positionStaleAfterMs);
    if (readiness.ready) this.#deps.health.ready(name);
    else this.#deps.health.notReady(name, readiness.reason);
  }

  async flush(): Promise<void> {
    if (this.#state !== 'running' || !this.#active) return;
    await this.#housekeeping();
  }

  async #housekeeping(): Promise<void> {
    const reconnected: AccountVenueState[] = [];
    for (const t of this.#accounts.values()) {
      for (const asset of this.#publisher.dirtyBalanceCurrencies(t.venue, t.account))
        this.#publishBalance(t, asset, true);
      if (t.subscription === undefined) await this.#subscribeUserStream(t);
      else if (this.#updateUserStreamReadiness(t)) reconnected.push(t);
      this.#updateBalanceReadiness(t);
      this.#updatePositionsReadiness(t);
    }
    for (const key of this.#publisher.takeDuePositions(this.#deps.nowMs()))
      this.#publishPosition(key, 'mark');
    this.#checkDrift();
    // A user stream that came back may have missed events: read the venue again now.
    if (reconnected.length > 0) await Promise.all(reconnected.map((t) => this.#pollAccount(t)));
  }

  // ---- drift -------------------------------------------------------------------------------------

  #checkDrift(): void {
    const now = this.#deps.nowMs();
    for (const t of this.#accounts.values()) {
      let active = 0;
      if (t.positionsFetched) {
        for (const o of positionSizeObservations(t, this.#positions)) {
          const verdict = this.#drift.observe(o, now);
          if (verdict.kind === 'agree') {
            const before = this.#confirmed.get(o.positionKey);
            if (before === undefined || before < o.venueAsOfMs)
              this.#confirmed.set(o.positionKey, o.venueAsOfMs);
            const observedBefore = this.#confirmedObservedAt.get(o.positionKey) ?? 0;
            if (observedBefore < o.venueObservedAtMs)
              this.#confirmedObservedAt.set(o.positionKey, o.venueObservedAtMs);
            continue;
          }
          active++;
          if (verdict.kind === 'report') {
            this.#reportDrift(t, {
              venue: t.venue,
              account: t.account,
              instrument: o.instrument,
              currency: '',
              field: 'position.size',
              projected: o.projected,
              venueValue: o.venue,
              projectedAsOfMs: verdict.report.projectedAsOfMs,
              venueAsOfMs: verdict.report.venueAsOfMs,
            });
          }
        }
      }
      active += this.#checkBalanceDrift(t, now);
      this.#metrics.driftActive.set({ venue: t.venue, account: t.account }, active);
    }
  }

  /** The wallet total against baseline + what the projection explains (drift.ts BalanceDriftDetector). */
  #checkBalanceDrift(t: AccountVenueState, now: EpochMs): number {
    const currency = t.settleCurrency();
    const balance = currency === '' ? undefined : t.balances?.get(currency);
    if (balance === undefined) return 0;
    let explained = ZERO;
    let projectedAsOfMs = 0;
    for (const m of this.#mergedOf(t.venue, t.account)) {
      explained = explained.plus(m.state.netRealizedPnl);
      projectedAsOfMs = Math.max(projectedAsOfMs, m.eventAsOfMs ?? 0);
    }
    const verdict = this.#balanceDrift.observe(
      {
        key: `${t.key}|${currency}|balance.total`,
        venueTotal: balance.total,
        explained,
        projectedAsOfMs,
        venueAsOfMs: balance.tsEventMs,
      },
      now,
    );
    if (verdict.kind === 'baseline' || verdict.kind === 'agree') return 0;
    if (verdict.kind === 'report') {
      this.#reportDrift(t, {
        venue: t.venue,
        account: t.account,
        instrument: '',
        currency,
        field: 'balance.total',
        projected: verdict.report.projected,
        venueValue: verdict.report.venue,
        projectedAsOfMs: verdict.report.projectedAsOfMs,
        venueAsOfMs: verdict.report.venueAsOfMs,
      });
    }
    return 1;
  }

  #reportDrift(t: AccountVenueState, drift: DriftFact): void {
    this.#metrics.driftEvents.inc({ venue: t.venue, account: t.account, field: drift.field });
    this.#logger.warn(
      {
        venue: drift.venue,
        account: drift.account,
        instrument: drift.instrument || undefined,
        currency: drift.currency || undefined,
        field: drift.field,
        projected: toWire(drift.projected),
        venueValue: toWire(drift.venueValue),
      },
      'account drift: projection and venue disagree beyond the grace period',
    );
    this.#publisher.drift(drift);
  }

  #publishPosition(key: string, reason: 'change' | 'mark'): void {
    const reading = this.#positionReadingOf(key, this.#deps.nowMs());
    if (reading !== undefined) this.#publisher.position(key, reading, reason);
  }

  // ---- queries -----------------------------------------------------------------------------------

  #checkFilter(filter: AccountFilter, includeProjected: boolean): void {
    const known = new Set<string>();
    const knownAccounts = new Set<string>();
    for (const t of this.#accounts.values()) {
      known.add(t.venue);
      knownAccounts.add(t.key);
    }
    if (includeProjected) {
      for (const key of projectedKeys(this.#positions, this.#funding)) {
        const [venue, account] = key.split('|') as [string, string];
        known.add(venue);
        knownAccounts.add(accountKey(venue, account));
      }
    }
    if (filter.venue && !known.has(filter.venue)) {
      throw new ValidationError(
        'venue',
        `unknown venue ${JSON.stringify(filter.venue)} (known: ${[...known].join(', ')})`,
      );
    }
    if (filter.account) {
      const match = [...knownAccounts].some((k) => {
        const [venue, account] = k.split('|');
        return account === filter.account && (!filter.venue || venue === filter.venue);
      });
      if (!match) {
        throw new ValidationError(
          'account',
          `unknown account ${JSON.stringify(filter.account)}${filter.venue ? ` on venue ${filter.venue}` : ''}`,
        );
      }
    }
  }

  #matching(filter: AccountFilter): AccountVenueState[] {
    return [...this.#accounts.values()].filter(
      (t) => (!filter.venue || t.venue === filter.venue) && (!filter.account || t.account === filter.account),
    );
  }

  #balanceReading(t: AccountVenueState, b: VenueBalance, now: EpochMs): BalanceReading {
    return balanceReading(t.venue, t.account, b, now, this.settings.balanceStaleAfterMs);
  }

  #unavailable(accounts: AccountVenueState[]): void {
    const missing: Record<string, string> = {};
    for (const t of accounts) {
      const reason = t.balancesUnavailable();
      if (reason !== undefined) missing[t.name] = reason;
    }
    if (Object.keys(missing).length > 0) throw new BalancesUnavailableError(missing);
  }

  #checkActive(): void {
    if (this.#standby !== undefined && !this.#active) throw new AccountStandbyError(this.#standbyReason);
  }

  balances(filter: AccountFilter = {}): BalanceReading[] {
    this.#checkActive();
    this.#checkFilter(filter, false);
    const accounts = this.#matching(filter);
    this.#unavailable(accounts);
    const now = this.#deps.nowMs();
    return accounts.flatMap((t) =>
      [...(t.balances?.values() ?? [])]
        .sort((a, b) => a.asset.localeCompare(b.asset))
        .map((b) => this.#balanceReading(t, b, now)),
    );
  }

  #mergedOf(venue: string, account: string): MergedPosition[] {
    const out: MergedPosition[] = [];
    for (const key of projectedKeys(this.#positions, this.#funding)) {
      const [v, a, instrument] = key.split('|') as [string, string, string];
      if (v !== venue || a !== account) continue;
      out.push(
        mergedPosition(
          v,
          a,
          instrument,
          this.#positions.positions[key],
          this.#funding.funding[key],
          this.#marks.get(`${v}|${instrument}`)?.price,
        ),
      );
    }
    return out;
  }

  #positionReadingOf(key: string, now: EpochMs): PositionReading | undefined {
    const [venue, account, instrument] = key.split('|') as [string, string, string];
    const stored = this.#positions.positions[key];
    const funding = this.#funding.funding[key];
    const tracked = this.#accounts.get(accountKey(venue, account));
    const venuePosition = tracked?.positions.get(instrument);
    const staleAfterMs = this.settings.positionStaleAfterMs;
    if (stored === undefined && funding === undefined) {
      // The venue holds a position our log never told us about: shown (as the venue's), and drift reports it.
      return venuePosition === undefined
        ? undefined
        : venuePositionReading(venue, account, venuePosition, now, staleAfterMs);
    }
    const mark = this.#marks.get(`${venue}|${instrument}`);
    return projectedPositionReading(
      {
        merged: mergedPosition(venue, account, instrument, stored, funding, mark?.price),
        confirmedAsOfMs: this.#confirmed.get(key),
        confirmedObservedAtMs: this.#confirmedObservedAt.get(key),
        venuePosition,
        venuePositionsFetched: tracked?.positionsFetched ?? false,
      },
      now,
      staleAfterMs,
    );
  }

  positions(filter: AccountFilter = {}): PositionReading[] {
    this.#checkActive();
    this.#checkFilter(filter, true);
    const now = this.#deps.nowMs();
    const keys = new Set(projectedKeys(this.#positions, this.#funding));
    for (const t of this.#accounts.values()) {
      for (const instrument of t.positions.keys()) keys.add(positionKey(t.venue, t.account, instrument));
    }
    const out: PositionReading[] = [];
    for (const key of [...keys].sort()) {
      const [venue, account, instrument] = key.split('|') as [string, string, string];
      if (filter.venue && venue !== filter.venue) continue;
      if (filter.account && account !== filter.account) continue;
      if (filter.instrument && instrument !== filter.instrument) continue;
      const reading = this.#positionReadingOf(key, now);
      if (reading !== undefined) out.push(reading);
    }
    return out;
  }

  summary(filter: AccountFilter = {}): AccountSummaryReading[] {
    this.#checkActive();
    this.#checkFilter(filter, false);
    const accounts = this.#matching(filter);
    this.#unavailable(accounts);
    const now = this.#deps.nowMs();
    return accounts.map((t) => {
      const currency = t.settleCurrency();
      return accountSummaryReading(
        {
          venue: t.venue,
          account: t.account,
          currency,
          balance: t.balances?.get(currency) ?? [...(t.balances?.values() ?? [])][0],
          positions: this.positions({ venue: t.venue, account: t.account }).filter(
            (p) => p.source === 'projection',
          ),
          openOrders: t.openOrders,
        },
        now,
        this.settings.balanceStaleAfterMs,
      );
    });
  }
}

export function filterOf(req: { venue: string; account: string; instrument?: string }): AccountFilter {
  return {
    venue: req.venue || undefined,
    account: req.account || undefined,
    instrument: req.instrument || undefined,
  };
}
