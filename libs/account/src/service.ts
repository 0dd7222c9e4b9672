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
 * No I/O is constructed here: the log, the store, the venue ports and the clock are passed
 * in, so the embedded runner and the distributed main compose the same service.
 */
import type { EventLog, ProjectionStore, StoredMessage, TailHandle } from '@perpmesh/bus';
import { runProjector } from '@perpmesh/bus';
import {
  type AccountServiceServer,
  AccountServiceService,
  decimalFromWire,
  decodeEnvelope,
  type Envelope,
  type EnvelopePayload,
  type Fill,
  type FundingPayment,
  factEventId,
  newEnvelope,
  optionalDecimalFromWire,
  publishEnvelope,
  type Subjects,
  sideFromProto,
} from '@perpmesh/contracts';
import { type Decimal, type EpochMs, PerpmeshError, toWire, ValidationError, ZERO } from '@perpmesh/core';
import type { HealthRegistry, Logger, ServiceMetrics } from '@perpmesh/runtime';
import { grpcHandlers } from '@perpmesh/runtime';
import { Lease, type StateStore } from '@perpmesh/state';
import type {
  Subscription,
  UserStreamEvent,
  VenueBalance,
  VenueDirectory,
  VenueFundingPayment,
  VenuePort,
  VenuePosition,
} from '@perpmesh/venues';
import { VENUE_COMPONENT } from '@perpmesh/venues';
import { type AccountSettings, type AccountSettingsInput, resolveAccountSettings } from './config.js';
import { DriftDetector } from './drift.js';
import { AccountStandbyError, BalancesUnavailableError } from './errors.js';
import {
  accountKey,
  applyFillToProjection,
  applyFundingToProjection,
  emptyFundingProjection,
  emptyPositionsProjection,
  type FundingProjection,
  type MergedPosition,
  mergedPosition,
  type PositionsProjection,
  type ProjectedFill,
  type ProjectedFunding,
  positionKey,
  projectedKeys,
} from './projection.js';
import {
  type AccountSummaryReading,
  type BalanceReading,
  balanceToProto,
  balanceViewToProto,
  type DriftFact,
  driftToProto,
  type FundingPaymentFact,
  fundingPaymentToProto,
  type PositionReading,
  positionToProto,
  positionViewToProto,
  summaryToProto,
  summaryTotals,
  totalsToProto,
} from './views.js';

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
  lease: 'account/lease',
};

interface TrackedAccount {
  readonly venue: string;
  readonly account: string;
  readonly name: string;
  readonly port: VenuePort;
  balances: Map<string, VenueBalance> | undefined;
  balancesError: string | undefined;
  venuePositions: Map<string, VenuePosition>;
  venuePositionsFetched: boolean;
  venuePositionsAsOfMs: EpochMs;
  positionsError: string | undefined;
  openOrders: number | undefined;
  subscription: Subscription | undefined;
  subscribing: boolean;
  userStreamError: string | undefined;
  userStreamReady: boolean;
  /** Settle currency per instrument (from loadMarkets). */
  settle: Map<string, string>;
  /** venueTotal - explained PnL at the first reading: deposits and history we never saw. */
  balanceBaseline: Decimal | undefined;
  lastBalance: Map<string, { signature: string; total: string; publishedAtMs: EpochMs }>;
  dirtyBalances: Set<string>;
}

interface Mark {
  readonly price: Decimal;
  readonly asOfMs: EpochMs;
}

interface PublishedPosition {
  readonly bodySignature: string;
  readonly markSignature: string;
  readonly publishedAtMs: EpochMs;
}

class TimeoutError extends PerpmeshError {
  constructor(what: string, ms: number) {
    super('DEADLINE_EXCEEDED', `${what} timed out after ${ms} ms`);
  }
}

function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([
    promise,
    new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new TimeoutError(what, ms)), ms);
      timer.unref();
    }),
  ]).finally(() => clearTimeout(timer));
}

function message(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

function maxDefined(...values: Array<number | undefined>): number | undefined {
  const defined = values.filter((v): v is number => v !== undefined && v > 0);
  return defined.length === 0 ? undefined : Math.max(...defined);
}

/** An exec.fill payload → the projection's fill (the proto boundary; errors name the field). */
export function fillFromWire(fill: Fill, tsEventMs: EpochMs): ProjectedFill {
  if (!fill.tradeId) throw new ValidationError('fill.tradeId', 'is required');
  return {
    venue: fill.venue,
    account: fill.account,
    instrument: fill.instrument,
    tradeId: fill.tradeId,
    side: sideFromProto(fill.side, 'fill.side'),
    price: decimalFromWire(fill.price, 'fill.price'),
    size: decimalFromWire(fill.size, 'fill.size'),
    fee: optionalDecimalFromWire(fill.fee, 'fill.fee') ?? ZERO,
    tsEventMs: fill.filledAtMs > 0 ? fill.filledAtMs : tsEventMs,
  };
}

/** An acct.funding payload → the projection's funding payment. */
export function fundingFromWire(payment: FundingPayment): ProjectedFunding {
  if (!(payment.fundingTimeMs > 0)) {
    throw new ValidationError(
      'fundingPayment.fundingTimeMs',
      `must be ms since epoch, got ${payment.fundingTimeMs}`,
    );
  }
  return {
    venue: payment.venue,
    account: payment.account,
    instrument: payment.instrument,
    amount: decimalFromWire(payment.amount, 'fundingPayment.amount'),
    fundingTimeMs: payment.fundingTimeMs,
  };
}

function noopMetrics() {
  const noop = { inc: () => {}, set: () => {} };
  return {
    published: noop,
    publishFailures: noop,
    rejected: noop,
    applied: noop,
    fetchFailures: noop,
    driftEvents: noop,
    driftActive: noop,
    balanceAge: noop,
  };
}

function accountMetrics(m: ServiceMetrics | undefined) {
  if (m === undefined) return noopMetrics();
  return {
    published: m.counter('perpmesh_account_events_published_total', 'acct.* events published', ['type']),
    publishFailures: m.counter(
      'perpmesh_account_publish_failures_total',
      'acct.* events that could not be published',
      ['type'],
    ),
    rejected: m.counter(
      'perpmesh_account_events_rejected_total',
      'Log events the projections could not use (malformed), skipped',
      ['projection'],
    ),
    applied: m.counter('perpmesh_account_events_applied_total', 'Log events applied to a projection', [
      'projection',
    ]),
    fetchFailures: m.counter('perpmesh_account_venue_fetch_failures_total', 'Failed venue reads', [
      'venue',
      'account',
      'what',
    ]),
    driftEvents: m.counter('perpmesh_account_drift_events_total', 'acct.drift events published', [
      'venue',
      'account',
      'field',
    ]),
    driftActive: m.gauge(
      'perpmesh_account_drift_active',
      'Values where projection and venue currently disagree (reported or within grace)',
      ['venue', 'account'],
    ),
    balanceAge: m.gauge('perpmesh_account_balance_age_seconds', 'Age of the newest venue balance reading', [
      'venue',
      'account',
      'currency',
    ]),
  };
}

export function buildAccountService(deps: AccountServiceDeps): AccountService {
  return new AccountServiceImpl(deps);
}

class AccountServiceImpl implements AccountService {
  readonly settings: AccountSettings;
  readonly grpc: AccountService['grpc'];
  readonly #deps: AccountServiceDeps;
  readonly #logger: Logger;
  readonly #metrics: ReturnType<typeof accountMetrics>;
  readonly #accounts = new Map<string, TrackedAccount>();
  readonly #marks = new Map<string, Mark>();
  /** positionKey → venue as-of when the venue last agreed with our size. */
  readonly #confirmed = new Map<string, EpochMs>();
  readonly #published = new Map<string, PublishedPosition>();
  readonly #dirtyMarks = new Set<string>();
  readonly #drift: DriftDetector;
  readonly #balanceDrift: DriftDetector;
  #positions: PositionsProjection = emptyPositionsProjection();
  #funding: FundingProjection = emptyFundingProjection();
  #fillsProjector: Awaited<ReturnType<typeof runProjector<PositionsProjection>>> | undefined;
  #fundingProjector: Awaited<ReturnType<typeof runProjector<FundingProjection>>> | undefined;
  #markTail: TailHandle | undefined;
  #publishChain: Promise<void> = Promise.resolve();
  #pollTimer: NodeJS.Timeout | undefined;
  #housekeepingTimer: NodeJS.Timeout | undefined;
  #refreshing: Promise<void> | undefined;
  #state: 'idle' | 'running' | 'stopped' = 'idle';
  /** Doing the work (set while becoming active, too): projectors, user streams, polls, publishing. */
  #active = false;
  /** Became active completely (what `active` reports). */
  #activated = false;
  readonly #lease: Lease | undefined;
  #leaseTimer: NodeJS.Timeout | undefined;
  #leaseTick: Promise<void> | undefined;
  #standbyReason = 'standby: lease not acquired yet';

  constructor(deps: AccountServiceDeps) {
    this.#deps = deps;
    this.settings = resolveAccountSettings(deps.config);
    this.#logger = deps.logger.child({ component: 'account' });
    this.#metrics = accountMetrics(deps.metrics);
    this.#drift = new DriftDetector({
      graceMs: this.settings.driftGraceMs,
      tolerance: this.settings.driftSizeTolerance,
    });
    this.#balanceDrift = new DriftDetector({
      graceMs: this.settings.driftGraceMs,
      tolerance: this.settings.driftBalanceTolerance,
    });
    this.#lease =
      deps.lease === undefined
        ? undefined
        : new Lease({
            store: deps.lease.store,
            scope: ACCOUNT_LEASE_SCOPE,
            name: this.settings.consumerName,
            holder: deps.lease.holder,
            ttlMs: this.settings.leaseTtlMs,
            nowMs: deps.nowMs,
          });
    for (const port of deps.venues.all()) {
      const key = accountKey(port.venue, port.account);
      this.#accounts.set(key, {
        venue: port.venue,
        account: port.account,
        name: `${port.venue}/${port.account}`,
        port,
        balances: undefined,
        balancesError: undefined,
        venuePositions: new Map(),
        venuePositionsFetched: false,
        venuePositionsAsOfMs: 0,
        positionsError: undefined,
        openOrders: undefined,
        subscription: undefined,
        subscribing: false,
        userStreamError: undefined,
        userStreamReady: false,
        settle: new Map(),
        balanceBaseline: undefined,
        lastBalance: new Map(),
        dirtyBalances: new Set(),
      });
    }
    const h = grpcHandlers({ logger: deps.logger });
    const implementation: AccountServiceServer = {
      getBalances: h.unary(async (req) => ({
        balances: this.balances(filterOf(req)).map(balanceViewToProto),
      })),
      getPositions: h.unary(async (req) => ({
        positions: this.positions(filterOf(req)).map(positionViewToProto),
      })),
      getAccountSummary: h.unary(async (req) => {
        const readings = this.summary(filterOf(req));
        return { accounts: readings.map(summaryToProto), totals: summaryTotals(readings).map(totalsToProto) };
      }),
    };
    this.grpc = { definition: AccountServiceService, implementation };
  }

  // ---- lifecycle ---------------------------------------------------------------------------

  async start(): Promise<void> {
    if (this.#state !== 'idle') throw new Error(`account service: start() called when ${this.#state}`);
    this.#state = 'running';
    const { health } = this.#deps;
    health.register(accountComponents.projection, 'account projection: consumers not started yet');
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
    if (this.#lease === undefined) {
      await this.#activate();
      return;
    }
    health.register(accountComponents.lease, this.#standbyReason);
    // The first attempt completes before start() returns: a lone instance is active at once.
    await this.#runLeaseTick();
  }

  get active(): boolean {
    return this.#activated;
  }

  // ---- the lease: active or hot standby -----------------------------------------------------

  #runLeaseTick(): Promise<void> {
    this.#leaseTick = this.#tickLease().finally(() => {
      this.#leaseTick = undefined;
      if (this.#state !== 'running') return;
      this.#leaseTimer = setTimeout(() => void this.#runLeaseTick(), this.settings.leaseRenewIntervalMs);
      this.#leaseTimer.unref();
    });
    return this.#leaseTick;
  }

  async #tickLease(): Promise<void> {
    const lease = this.#lease;
    if (lease === undefined || this.#state !== 'running') return;
    const { health } = this.#deps;
    try {
      if (this.#active) {
        if (!(await lease.renew())) {
          await this.#demote(`lease lost: ${await this.#holderText(lease)}`);
        }
      } else if (await lease.tryAcquire()) {
        this.#logger.info(
          { holder: lease.holder, expiresAtMs: lease.expiresAtMs },
          'account lease acquired: active',
        );
        try {
          await this.#activate();
        } catch (err) {
          // Give it to a healthier instance rather than hold it while doing nothing.
          await this.#deactivate();
          await lease.release().catch(() => undefined);
          this.#standbyReason = `standby: could not become active: ${message(err)}`;
          this.#logger.error(
            { err: message(err) },
            'account service could not become active; lease released',
          );
        }
      } else {
        this.#standbyReason = `standby: ${await this.#holderText(lease)}`;
      }
    } catch (err) {
      // The store is unreachable: keep working while our lease is surely still ours; past
      // its expiry another instance may have taken over.
      this.#logger.warn({ err: message(err), active: this.#active }, 'account lease check failed');
      const expiresAtMs = lease.expiresAtMs;
      if (this.#active && (expiresAtMs === undefined || this.#deps.nowMs() >= expiresAtMs)) {
        await lease.release().catch(() => undefined);
        await this.#demote(`lease could not be renewed before it expired: ${message(err)}`);
      } else if (!this.#active) {
        this.#standbyReason = `standby: lease store unavailable: ${message(err)}`;
      }
    }
    if (this.#active) health.ready(accountComponents.lease, { holder: lease.holder });
    else health.notReady(accountComponents.lease, this.#standbyReason);
  }

  async #holderText(lease: Lease): Promise<string> {
    const current = await lease.current();
    if (current === undefined) return 'nobody holds the lease';
    return `${current.holder} holds the lease until ${new Date(current.expiresAtMs).toISOString()}`;
  }

  async #demote(reason: string): Promise<void> {
    this.#logger.warn({ reason }, 'account service: no longer active, back to standby');
    this.#standbyReason = `standby: ${reason}`;
    await this.#deactivate();
  }

  /** Becomes the active instance: projections, user streams, marks, polls, publishing. */
  async #activate(): Promise<void> {
    this.#active = true;
    await Promise.all([...this.#accounts.values()].map((t) => this.#loadMarkets(t)));
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
    if (this.#state !== 'running') {
      this.#state = 'stopped';
      return;
    }
    this.#state = 'stopped';
    clearTimeout(this.#leaseTimer);
    await this.#leaseTick?.catch(() => undefined);
    this.#standbyReason = 'service stopped';
    await this.#deactivate();
    // A clean stop hands over at once rather than after the TTL.
    await this.#lease?.release().catch((err: unknown) => {
      this.#logger.warn(
        { err: message(err) },
        'account lease release failed; a standby takes over after the TTL',
      );
    });
    this.#deps.health.notReady(accountComponents.projection, 'account projection: service stopped');
    if (this.#lease) this.#deps.health.notReady(accountComponents.lease, 'account lease: service stopped');
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
    if (this.#fillsProjector) closing.push(this.#fillsProjector.stop());
    if (this.#fundingProjector) closing.push(this.#fundingProjector.stop());
    if (this.#markTail) closing.push(this.#markTail.stop());
    for (const t of this.#accounts.values()) if (t.subscription) closing.push(t.subscription.close());
    await Promise.allSettled(closing);
    await this.idle();
    this.#fillsProjector = undefined;
    this.#fundingProjector = undefined;
    this.#markTail = undefined;
    // What we knew as the active instance goes stale from now: a later takeover starts fresh.
    const { health } = this.#deps;
    const reason = this.#standbyReason;
    health.notReady(accountComponents.projection, `account projection: ${reason}`);
    for (const t of this.#accounts.values()) {
      t.subscription = undefined;
      t.userStreamReady = false;
      t.balances = undefined;
      t.balancesError = undefined;
      t.venuePositions = new Map();
      t.venuePositionsFetched = false;
      t.venuePositionsAsOfMs = 0;
      t.positionsError = undefined;
      t.openOrders = undefined;
      t.balanceBaseline = undefined;
      t.lastBalance = new Map();
      t.dirtyBalances = new Set();
      health.notReady(accountComponents.balances(t.venue, t.account), `${t.name} balances: ${reason}`);
      health.notReady(accountComponents.positions(t.venue, t.account), `${t.name} positions: ${reason}`);
      health.notReady(accountComponents.userStream(t.venue, t.account), `${t.name} user stream: ${reason}`);
    }
    this.#marks.clear();
    this.#confirmed.clear();
    this.#published.clear();
    this.#dirtyMarks.clear();
  }

  idle(): Promise<void> {
    return this.#publishChain;
  }

  projectorStats() {
    return {
      fills: this.#fillsProjector?.stats() ?? { applied: 0, skipped: 0 },
      funding: this.#fundingProjector?.stats() ?? { applied: 0, skipped: 0 },
    };
  }

  async #loadMarkets(t: TrackedAccount): Promise<void> {
    try {
      const markets = await withTimeout(
        t.port.loadMarkets(),
        this.settings.venueCallTimeoutMs,
        'loadMarkets',
      );
      for (const m of markets) t.settle.set(m.instrument, m.settle);
    } catch (err) {
      // Only the settle currency of funding payments depends on it; the balances' asset is the fallback.
      this.#logger.warn({ venue: t.venue, account: t.account, err: message(err) }, 'loadMarkets failed');
    }
  }

  // ---- projections ---------------------------------------------------------------------------

  async #startProjectors(): Promise<void> {
    const { log, state, subjects } = this.#deps;
    const prefix = this.#deps.streamPrefix ?? '';
    const name = this.settings.consumerName;
    const positionsName = `${name}-positions`;
    const fundingName = `${name}-funding`;
    const [positions, funding] = await Promise.all([
      state.loadProjection<PositionsProjection>(positionsName),
      state.loadProjection<FundingProjection>(fundingName),
    ]);
    this.#positions = positions?.state ?? emptyPositionsProjection();
    this.#funding = funding?.state ?? emptyFundingProjection();

    // After each save (state and applied sequence stored together) publish what changed. A
    // save that failed may still have landed (a timeout after the commit): the projector then
    // reloads before the redelivery, and what it loads is what we serve.
    const stored = (n: string, s: unknown) => {
      if (n === positionsName) this.#onPositionsSaved(s as PositionsProjection);
      else if (n === fundingName) this.#onFundingSaved(s as FundingProjection);
    };
    const notifying: ProjectionStore = {
      loadProjection: async <S>(n: string) => {
        const snapshot = await state.loadProjection<S>(n);
        if (snapshot !== undefined) stored(n, snapshot.state);
        return snapshot;
      },
      saveProjection: async (n, s, applied, expected) => {
        await state.saveProjection(n, s, applied, expected);
        stored(n, s);
      },
    };

    try {
      this.#fillsProjector = await runProjector<PositionsProjection>({
        log,
        store: notifying,
        name: positionsName,
        consume: {
          stream: `${prefix}EXEC`,
          durable: `${name}-fills`,
          filterSubject: subjects.filter('execFill'),
        },
        initialState: emptyPositionsProjection,
        apply: (s, msg) => this.#applyFill(s, msg),
      });
      this.#fundingProjector = await runProjector<FundingProjection>({
        log,
        store: notifying,
        name: fundingName,
        consume: {
          stream: `${prefix}ACCT`,
          durable: `${name}-funding`,
          filterSubject: subjects.filter('acctFunding'),
        },
        initialState: emptyFundingProjection,
        apply: (s, msg) => this.#applyFunding(s, msg),
      });
    } catch (err) {
      this.#deps.health.notReady(
        accountComponents.projection,
        `account projection: cannot start consumers: ${message(err)}`,
      );
      throw err;
    }
    for (const [label, p] of [
      ['fills', this.#fillsProjector],
      ['funding', this.#fundingProjector],
    ] as const) {
      p.closed.catch((err: unknown) => {
        this.#logger.error({ projection: label, err: message(err) }, 'projection consumer failed');
        this.#deps.health.notReady(
          accountComponents.projection,
          `account projection: ${label} consumer stopped: ${message(err)}`,
        );
      });
    }
    this.#deps.health.ready(accountComponents.projection);
  }

  #decode(msg: StoredMessage, projection: string): Envelope | undefined {
    try {
      return decodeEnvelope(msg.data);
    } catch (err) {
      this.#reject(msg, projection, err);
      return undefined;
    }
  }

  #reject(msg: StoredMessage, projection: string, err: unknown): void {
    // A malformed event would block the consumer forever if thrown; it is logged, counted and skipped.
    this.#metrics.rejected.inc({ projection });
    this.#logger.error(
      { projection, stream: msg.stream, seq: msg.seq, subject: msg.subject, err: message(err) },
      'event skipped: cannot be applied to the projection',
    );
  }

  #applyFill(state: PositionsProjection, msg: StoredMessage): PositionsProjection {
    const envelope = this.#decode(msg, 'positions');
    if (envelope?.payload?.$case !== 'fill') return state;
    try {
      const next = applyFillToProjection(state, fillFromWire(envelope.payload.value, envelope.tsEvent));
      this.#metrics.applied.inc({ projection: 'positions' });
      return next;
    } catch (err) {
      this.#reject(msg, 'positions', err);
      return state;
    }
  }

  #applyFunding(state: FundingProjection, msg: StoredMessage): FundingProjection {
    const envelope = this.#decode(msg, 'funding');
    if (envelope?.payload?.$case !== 'fundingPayment') return state;
    try {
      const next = applyFundingToProjection(state, fundingFromWire(envelope.payload.value));
      this.#metrics.applied.inc({ projection: 'funding' });
      return next;
    } catch (err) {
      this.#reject(msg, 'funding', err);
      return state;
    }
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
            this.#logger.debug({ subject: msg.subject, err: message(err) }, 'md.funding event ignored');
          }
        },
      );
    } catch (err) {
      // Marks then come from the venue's position reports only.
      this.#logger.warn({ err: message(err) }, 'cannot follow md.funding for marks');
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

  async #subscribeUserStream(t: TrackedAccount): Promise<void> {
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
      t.userStreamError = message(err);
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

  /** Ready when we hold a subscription and the port's own user-stream components say it is connected. */
  #updateUserStreamReadiness(t: TrackedAccount): boolean {
    const name = accountComponents.userStream(t.venue, t.account);
    let reason: string | undefined;
    if (t.subscription === undefined) {
      reason = `${t.name} user stream: not connected${t.userStreamError ? `: ${t.userStreamError}` : ' yet'}`;
    } else {
      let components: ReturnType<VenuePort['readiness']> = [];
      try {
        components = t.port.readiness();
      } catch (err) {
        reason = `${t.name} user stream: venue readiness unavailable: ${message(err)}`;
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

  #onUserEvent(t: TrackedAccount, event: UserStreamEvent): void {
    if (!this.#active) return;
    try {
      switch (event.kind) {
        case 'balance':
          this.#acceptBalance(t, event.balance);
          this.#updateBalanceReadiness(t);
          return;
        case 'position':
          this.#acceptVenuePosition(t, event.position);
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
        { venue: t.venue, account: t.account, kind: event.kind, err: message(err) },
        'user event failed',
      );
    }
  }

  #acceptBalance(t: TrackedAccount, balance: VenueBalance): void {
    t.balances ??= new Map();
    const current = t.balances.get(balance.asset);
    // A poll answered late must not overwrite a newer user-stream reading.
    if (current !== undefined && current.tsEventMs > balance.tsEventMs) return;
    t.balances.set(balance.asset, balance);
    this.#publishBalance(t, balance.asset, false);
  }

  /**
   * acct.balance on change. A change of only equity / available / unrealized PnL (the mark
   * moving) is published at most every `positionMarkPublishIntervalMs`; a change of the
   * wallet total (a fill, fee, funding, deposit) at once.
   */
  #publishBalance(t: TrackedAccount, asset: string, flushing: boolean): void {
    const balance = t.balances?.get(asset);
    if (balance === undefined) return;
    const signature = [balance.total, balance.available, balance.equity, balance.unrealizedPnl]
      .map((d) => d.toFixed())
      .join('|');
    const last = t.lastBalance.get(asset);
    const now = this.#deps.nowMs();
    if (last !== undefined) {
      if (last.signature === signature) {
        t.dirtyBalances.delete(asset);
        return;
      }
      const totalMoved = last.total !== balance.total.toFixed();
      if (
        !totalMoved &&
        !flushing &&
        now - last.publishedAtMs < this.settings.positionMarkPublishIntervalMs
      ) {
        t.dirtyBalances.add(asset);
        return;
      }
      if (!totalMoved && flushing && now - last.publishedAtMs < this.settings.positionMarkPublishIntervalMs)
        return;
    }
    t.dirtyBalances.delete(asset);
    t.lastBalance.set(asset, { signature, total: balance.total.toFixed(), publishedAtMs: now });
    const reading = this.#balanceReading(t, balance, now);
    this.#publish(
      { $case: 'balance', value: balanceToProto(reading) },
      reading.asOfMs,
      factEventId(reading.asOfMs, `balance|${t.venue}|${t.account}|${asset}|${signature}`),
    );
  }

  #acceptVenuePosition(t: TrackedAccount, position: VenuePosition): void {
    const current = t.venuePositions.get(position.instrument);
    if (current !== undefined && current.tsEventMs > position.tsEventMs) return;
    t.venuePositions.set(position.instrument, position);
    t.venuePositionsAsOfMs = Math.max(t.venuePositionsAsOfMs, position.tsEventMs);
    this.#setMark(t.venue, position.instrument, position.markPrice, position.tsEventMs);
  }

  #publishFundingPayment(t: TrackedAccount, payment: VenueFundingPayment): void {
    const fundingTimeMs = payment.tsEventMs;
    const fact: FundingPaymentFact = {
      venue: t.venue,
      account: t.account,
      instrument: payment.instrument,
      amount: payment.amount,
      currency: this.#settleCurrency(t, payment.instrument),
      rate: payment.rate,
      positionSize: payment.positionSize,
      markPrice: payment.markPrice.gt(0) ? payment.markPrice : undefined,
      fundingTimeMs,
    };
    this.#logger.info(
      { venue: t.venue, account: t.account, instrument: payment.instrument, amount: toWire(payment.amount) },
      'funding payment',
    );
    this.#publish(
      { $case: 'fundingPayment', value: fundingPaymentToProto(fact) },
      fundingTimeMs,
      factEventId(fundingTimeMs, `funding|${t.venue}|${t.account}|${payment.instrument}|${fundingTimeMs}`),
    );
  }

  #settleCurrency(t: TrackedAccount, instrument?: string): string {
    const fromMarkets = instrument === undefined ? undefined : t.settle.get(instrument);
    if (fromMarkets !== undefined) return fromMarkets;
    const anySettle = [...t.settle.values()][0];
    if (anySettle !== undefined) return anySettle;
    const assets = [...(t.balances?.keys() ?? [])];
    return assets.length === 1 ? assets[0]! : '';
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

  async #pollAccount(t: TrackedAccount): Promise<void> {
    const timeout = this.settings.venueCallTimeoutMs;
    const [balances, positions, orders] = await Promise.allSettled([
      withTimeout(t.port.fetchBalances(), timeout, 'fetchBalances'),
      withTimeout(t.port.fetchPositions(), timeout, 'fetchPositions'),
      withTimeout(t.port.fetchOpenOrders(), timeout, 'fetchOpenOrders'),
    ]);
    if (balances.status === 'fulfilled') {
      t.balancesError = undefined;
      t.balances ??= new Map();
      for (const b of balances.value) this.#acceptBalance(t, b);
    } else {
      t.balancesError = message(balances.reason);
      this.#fetchFailed(t, 'balances', balances.reason);
    }
    if (positions.status === 'fulfilled') {
      t.positionsError = undefined;
      const seen = new Set<string>();
      for (const p of positions.value) {
        seen.add(p.instrument);
        this.#acceptVenuePosition(t, p);
      }
      // Instruments the venue no longer lists are flat there.
      for (const instrument of [...t.venuePositions.keys()])
        if (!seen.has(instrument)) t.venuePositions.delete(instrument);
      const asOf = maxDefined(
        ...positions.value.map((p) => p.tsEventMs),
        ...(balances.status === 'fulfilled' ? balances.value.map((b) => b.tsEventMs) : []),
      );
      t.venuePositionsAsOfMs = Math.max(t.venuePositionsAsOfMs, asOf ?? this.#deps.nowMs());
      t.venuePositionsFetched = true;
    } else {
      t.positionsError = message(positions.reason);
      this.#fetchFailed(t, 'positions', positions.reason);
    }
    if (orders.status === 'fulfilled') t.openOrders = orders.value.length;
    else this.#fetchFailed(t, 'open_orders', orders.reason);
    this.#updateBalanceReadiness(t);
    this.#updatePositionsReadiness(t);
  }

  #fetchFailed(t: TrackedAccount, what: string, err: unknown): void {
    this.#metrics.fetchFailures.inc({ venue: t.venue, account: t.account, what });
    this.#logger.warn({ venue: t.venue, account: t.account, what, err: message(err) }, 'venue read failed');
  }

  #updateBalanceReadiness(t: TrackedAccount): void {
    const name = accountComponents.balances(t.venue, t.account);
    const lastError = t.balancesError ? `; last fetch failed: ${t.balancesError}` : '';
    if (t.balances === undefined) {
      this.#deps.health.notReady(
        name,
        t.balancesError
          ? `${t.name} balances: not fetched yet: last fetch failed: ${t.balancesError}`
          : `${t.name} balances: not fetched yet`,
      );
      return;
    }
    const now = this.#deps.nowMs();
    const newest = maxDefined(...[...t.balances.values()].map((b) => b.tsEventMs));
    for (const b of t.balances.values()) {
      this.#metrics.balanceAge.set(
        { venue: t.venue, account: t.account, currency: b.asset },
        Math.max(0, now - b.tsEventMs) / 1000,
      );
    }
    if (newest !== undefined && now - newest > this.settings.balanceStaleAfterMs) {
      this.#deps.health.notReady(
        name,
        `${t.name} balances: stale: last reading is ${now - newest} ms old (bound ${this.settings.balanceStaleAfterMs} ms)${lastError}`,
      );
      return;
    }
    this.#deps.health.ready(name, { currencies: [...t.balances.keys()], lastError: t.balancesError });
  }

  #updatePositionsReadiness(t: TrackedAccount): void {
    const name = accountComponents.positions(t.venue, t.account);
    if (!t.venuePositionsFetched) {
      this.#deps.health.notReady(
        name,
        t.positionsError
          ? `${t.name} positions: not fetched yet: last fetch failed: ${t.positionsError}`
          : `${t.name} positions: not fetched yet`,
      );
      return;
    }
    const age = this.#deps.nowMs() - t.venuePositionsAsOfMs;
    if (age > this.settings.positionStaleAfterMs) {
      this.#deps.health.notReady(
        name,
        `${t.name} positions: venue reading is ${age} ms old (bound ${this.settings.positionStaleAfterMs} ms)` +
          (t.positionsError ? `; last fetch failed: ${t.positionsError}` : ''),
      );
      return;
    }
    this.#deps.health.ready(name);
  }

  async flush(): Promise<void> {
    if (this.#state !== 'running' || !this.#active) return;
    await this.#housekeeping();
  }

  async #housekeeping(): Promise<void> {
    const reconnected: TrackedAccount[] = [];
    for (const t of this.#accounts.values()) {
      for (const asset of [...t.dirtyBalances]) this.#publishBalance(t, asset, true);
      if (t.subscription === undefined) await this.#subscribeUserStream(t);
      else if (this.#updateUserStreamReadiness(t)) reconnected.push(t);
      this.#updateBalanceReadiness(t);
      this.#updatePositionsReadiness(t);
    }
    const now = this.#deps.nowMs();
    for (const key of [...this.#dirtyMarks]) {
      const last = this.#published.get(key);
      if (last === undefined || now - last.publishedAtMs >= this.settings.positionMarkPublishIntervalMs) {
        this.#dirtyMarks.delete(key);
        this.#publishPosition(key, 'mark');
      }
    }
    this.#checkDrift();
    // A user stream that came back may have missed events: read the venue again now.
    if (reconnected.length > 0) await Promise.all(reconnected.map((t) => this.#pollAccount(t)));
  }

  // ---- drift -------------------------------------------------------------------------------------

  #checkDrift(): void {
    const now = this.#deps.nowMs();
    for (const t of this.#accounts.values()) {
      let active = 0;
      if (t.venuePositionsFetched) {
        const instruments = new Set<string>(t.venuePositions.keys());
        for (const p of Object.values(this.#positions.positions)) {
          if (p.venue === t.venue && p.account === t.account) instruments.add(p.instrument);
        }
        for (const instrument of instruments) {
          const key = positionKey(t.venue, t.account, instrument);
          const stored = this.#positions.positions[key];
          const projected = stored === undefined ? ZERO : decimalFromWire(stored.size, 'position.size');
          const venuePosition = t.venuePositions.get(instrument);
          const venueSize = venuePosition?.size ?? ZERO;
          const venueAsOfMs = venuePosition?.tsEventMs ?? t.venuePositionsAsOfMs;
          const verdict = this.#drift.observe(
            {
              key: `${key}|position.size`,
              projected,
              venue: venueSize,
              projectedAsOfMs: stored?.updatedAtMs ?? 0,
              venueAsOfMs,
            },
            now,
          );
          if (verdict.kind === 'agree') {
            const before = this.#confirmed.get(key);
            if (before === undefined || before < venueAsOfMs) this.#confirmed.set(key, venueAsOfMs);
            continue;
          }
          active++;
          if (verdict.kind === 'report') {
            this.#reportDrift(t, {
              venue: t.venue,
              account: t.account,
              instrument,
              currency: '',
              field: 'position.size',
              projected,
              venueValue: venueSize,
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

  /**
   * The venue's wallet balance moves by realized PnL, fees and funding. Those we know from
   * the projection; the rest (deposits, withdrawals, history before we started) is the
   * baseline, fixed at the first reading. A move of the baseline is unexplained: reported
   * after the grace, then accepted as the new baseline (so it is reported once).
   */
  #checkBalanceDrift(t: TrackedAccount, now: EpochMs): number {
    const currency = this.#settleCurrency(t);
    const balance = currency === '' ? undefined : t.balances?.get(currency);
    if (balance === undefined) return 0;
    let explained = ZERO;
    let projectedAsOfMs = 0;
    for (const m of this.#mergedOf(t.venue, t.account)) {
      explained = explained.plus(m.state.netRealizedPnl);
      projectedAsOfMs = Math.max(projectedAsOfMs, m.eventAsOfMs ?? 0);
    }
    const offset = balance.total.minus(explained);
    if (t.balanceBaseline === undefined) {
      t.balanceBaseline = offset;
      return 0;
    }
    const verdict = this.#balanceDrift.observe(
      {
        key: `${accountKey(t.venue, t.account)}|${currency}|balance.total`,
        projected: t.balanceBaseline.plus(explained),
        venue: balance.total,
        projectedAsOfMs,
        venueAsOfMs: balance.tsEventMs,
      },
      now,
    );
    if (verdict.kind === 'agree') return 0;
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
      t.balanceBaseline = offset;
    }
    return 1;
  }

  #reportDrift(t: TrackedAccount, drift: DriftFact): void {
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
    const ts = this.#deps.nowMs();
    this.#publish(
      { $case: 'accountDrift', value: driftToProto(drift) },
      Math.max(drift.venueAsOfMs, 1),
      undefined,
      ts,
    );
  }

  // ---- publishing --------------------------------------------------------------------------------

  #publish(payload: EnvelopePayload, tsEventMs: EpochMs, id?: string, tsInitMs?: EpochMs): void {
    if (!this.#active) return; // a standby publishes nothing
    const { log, subjects, source } = this.#deps;
    const type = payload.$case;
    let envelope: Envelope;
    try {
      envelope = newEnvelope({
        source,
        tsEventMs: Math.max(1, tsEventMs),
        tsInitMs: Math.max(1, tsInitMs ?? this.#deps.nowMs()),
        id,
        payload,
      });
    } catch (err) {
      this.#metrics.publishFailures.inc({ type });
      this.#logger.error({ type, err: message(err) }, 'cannot build event');
      return;
    }
    this.#publishChain = this.#publishChain.then(async () => {
      try {
        await publishEnvelope(log, envelope, subjects);
        this.#metrics.published.inc({ type });
      } catch (err) {
        this.#metrics.publishFailures.inc({ type });
        this.#logger.error({ type, id: envelope.id, err: message(err) }, 'publish failed');
        // Positions are state: the next change or mark republishes; forget what we thought was out.
        if (type === 'position') this.#published.clear();
      }
    });
  }

  #publishPosition(key: string, reason: 'change' | 'mark'): void {
    const reading = this.#positionReadingOf(key, this.#deps.nowMs());
    if (reading === undefined) return;
    const bodySignature = [
      reading.size,
      reading.entryPrice ?? '',
      reading.tradingPnl,
      reading.fees,
      reading.funding,
    ]
      .map(String)
      .join('|');
    const markSignature = `${reading.markPrice ?? ''}|${reading.unrealizedPnl}`;
    const last = this.#published.get(key);
    if (last !== undefined && last.bodySignature === bodySignature) {
      if (last.markSignature === markSignature) return;
      if (
        reason === 'mark' &&
        this.#deps.nowMs() - last.publishedAtMs < this.settings.positionMarkPublishIntervalMs
      ) {
        this.#dirtyMarks.add(key);
        return;
      }
    }
    this.#dirtyMarks.delete(key);
    this.#published.set(key, { bodySignature, markSignature, publishedAtMs: this.#deps.nowMs() });
    this.#publish(
      { $case: 'position', value: positionToProto(reading) },
      reading.asOfMs,
      factEventId(reading.asOfMs, `position|${key}|${bodySignature}|${markSignature}`),
    );
  }

  // ---- queries -----------------------------------------------------------------------------------

  #checkFilter(filter: AccountFilter, includeProjected: boolean): void {
    const known = new Set<string>();
    const knownAccounts = new Set<string>();
    for (const t of this.#accounts.values()) {
      known.add(t.venue);
      knownAccounts.add(accountKey(t.venue, t.account));
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

  #matching(filter: AccountFilter): TrackedAccount[] {
    return [...this.#accounts.values()].filter(
      (t) => (!filter.venue || t.venue === filter.venue) && (!filter.account || t.account === filter.account),
    );
  }

  #balanceReading(t: TrackedAccount, b: VenueBalance, now = this.#deps.nowMs()): BalanceReading {
    const ageMs = Math.max(0, now - b.tsEventMs);
    return {
      venue: t.venue,
      account: t.account,
      currency: b.asset,
      total: b.total,
      available: b.available,
      equity: b.equity,
      unrealizedPnl: b.unrealizedPnl,
      asOfMs: b.tsEventMs,
      ageMs,
      stale: ageMs > this.settings.balanceStaleAfterMs,
      source: 'venue',
    };
  }

  #unavailable(accounts: TrackedAccount[]): void {
    const missing: Record<string, string> = {};
    for (const t of accounts) {
      if (t.balances !== undefined) continue;
      missing[t.name] = t.balancesError ? `last fetch failed: ${t.balancesError}` : 'not fetched yet';
    }
    if (Object.keys(missing).length > 0) throw new BalancesUnavailableError(missing);
  }

  #checkActive(): void {
    if (this.#lease !== undefined && !this.#active) throw new AccountStandbyError(this.#standbyReason);
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
    const venuePosition = tracked?.venuePositions.get(instrument);
    const mark = this.#marks.get(`${venue}|${instrument}`);
    if (stored === undefined && funding === undefined) {
      // The venue holds a position our log never told us about: shown (as the venue's), and drift reports it.
      if (venuePosition === undefined || venuePosition.size.isZero()) return undefined;
      const ageMs = Math.max(0, now - venuePosition.tsEventMs);
      return {
        venue,
        account,
        instrument,
        side: venuePosition.size.isPos() ? 'long' : 'short',
        size: venuePosition.size,
        entryPrice: venuePosition.entryPrice.gt(0) ? venuePosition.entryPrice : undefined,
        markPrice: venuePosition.markPrice.gt(0) ? venuePosition.markPrice : undefined,
        unrealizedPnl: venuePosition.unrealizedPnl,
        tradingPnl: venuePosition.realizedPnl,
        fees: ZERO,
        funding: ZERO,
        netRealizedPnl: venuePosition.realizedPnl,
        leverage: venuePosition.leverage.gt(0) ? venuePosition.leverage : undefined,
        liquidationPrice: venuePosition.liquidationPrice,
        asOfMs: venuePosition.tsEventMs,
        ageMs,
        stale: ageMs > this.settings.positionStaleAfterMs,
        source: 'venue',
        venueSize: venuePosition.size,
      };
    }
    const merged = mergedPosition(venue, account, instrument, stored, funding, mark?.price);
    const asOfMs = maxDefined(merged.eventAsOfMs, mark?.asOfMs, this.#confirmed.get(key)) ?? now;
    const ageMs = Math.max(0, now - asOfMs);
    const s = merged.state;
    return {
      venue,
      account,
      instrument,
      side: s.side,
      size: s.size,
      entryPrice: s.entryPrice,
      markPrice: s.markPrice,
      unrealizedPnl: s.unrealizedPnl,
      tradingPnl: s.tradingPnl,
      fees: s.fees,
      funding: s.funding,
      netRealizedPnl: s.netRealizedPnl,
      leverage: venuePosition?.leverage.gt(0) && !s.size.isZero() ? venuePosition.leverage : undefined,
      liquidationPrice: s.size.isZero() ? undefined : venuePosition?.liquidationPrice,
      asOfMs,
      ageMs,
      stale: ageMs > this.settings.positionStaleAfterMs,
      source: 'projection',
      venueSize: tracked?.venuePositionsFetched ? (venuePosition?.size ?? ZERO) : undefined,
    };
  }

  positions(filter: AccountFilter = {}): PositionReading[] {
    this.#checkActive();
    this.#checkFilter(filter, true);
    const now = this.#deps.nowMs();
    const keys = new Set(projectedKeys(this.#positions, this.#funding));
    for (const t of this.#accounts.values()) {
      for (const instrument of t.venuePositions.keys()) keys.add(positionKey(t.venue, t.account, instrument));
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
      const currency = this.#settleCurrency(t);
      const balance = t.balances?.get(currency) ?? [...(t.balances?.values() ?? [])][0];
      const positions = this.positions({ venue: t.venue, account: t.account }).filter(
        (p) => p.source === 'projection',
      );
      const open = positions.filter((p) => !p.size.isZero());
      const sum = (list: PositionReading[], f: (p: PositionReading) => Decimal) =>
        list.reduce((acc, p) => acc.plus(f(p)), ZERO);
      const asOfMs = Math.min(balance?.tsEventMs ?? now, ...open.map((p) => p.asOfMs));
      const ageMs = Math.max(0, now - asOfMs);
      const balanceStale =
        balance === undefined || now - balance.tsEventMs > this.settings.balanceStaleAfterMs;
      return {
        venue: t.venue,
        account: t.account,
        currency: balance?.asset ?? currency,
        equity: balance?.equity ?? ZERO,
        available: balance?.available ?? ZERO,
        unrealizedPnl: sum(open, (p) => p.unrealizedPnl),
        realizedPnl: sum(open, (p) => p.tradingPnl),
        fees: sum(positions, (p) => p.fees),
        funding: sum(positions, (p) => p.funding),
        openPositions: open.length,
        openOrders: t.openOrders,
        asOfMs,
        ageMs,
        stale: balanceStale || open.some((p) => p.stale),
      };
    });
  }
}

function filterOf(req: { venue: string; account: string; instrument?: string }): AccountFilter {
  return {
    venue: req.venue || undefined,
    account: req.account || undefined,
    instrument: req.instrument || undefined,
  };
}
