/**
 * The execution engine: places, cancels and tracks orders on the configured venue accounts,
 * with the event log as the record of every order fact.
 *
 * Placing an order (`placeOrder`):
 *   1. validate (directory, market rules) — nothing reaches a venue on a bad request;
 *   2. claim `(venue, account, client_order_id)` in the state store (set-if-absent, TTL):
 *      a duplicate — concurrent, on another replica, or later — never sends a second order;
 *   3. write ahead: publish `exec.order` SUBMITTED, the durable record that the order is in
 *      flight, and mark the claim `submitted` (a compare-and-set: only one placement sends),
 *      both at once; the order is sent only when both are done (README, "Write ahead and the
 *      mark, at once": why no crash between them can send twice or lose an order);
 *   4. send, with a nonce from the state store when the venue wants one (nonce-sender.ts: a
 *      stale-nonce refusal resyncs the counter from the venue and resends, up to
 *      `staleNonceRetries` times: that order was not placed);
 *   5. publish what the venue answered (ACCEPTED / REJECTED), then fills as they come.
 * A timeout or lost connection while sending (`VenueUnknownOutcomeError`) leaves the order
 * SUBMITTED: a resolver asks the venue (`fetchOrder`, with backoff) until it knows, and marks
 * it REJECTED if the venue still has no such order after `notFoundAfterMs`. Never resent.
 *
 * Every order fact — the REST answer, the user stream, a reconciliation fetch, another
 * replica's event on the log — goes through the same per-order state machine (core's
 * `evolveOrder`, via venue-reports.ts): duplicates change nothing and publish nothing, and
 * what is published has a fact id (wire.ts), so the same fact found twice is stored once.
 *
 * Start: orders are rebuilt from the EXEC stream (the last `rebuildLookbackMs`), the log is
 * followed from there (other replicas' orders), the user streams are subscribed, then each
 * account is reconciled with its venue (open orders, orders we think open, fills) and the
 * missing events are published (reconciliation.ts). Only then is
 * `{venue}/{account}/reconciliation` ready and PlaceOrder accepted for that account.
 *
 * Asking the venue about one order (`fetchOrder`): only "no such order" counts as not found;
 * a transport failure leaves the outcome unknown and the order is asked about again.
 */
import { randomUUID } from 'node:crypto';
import { type EventLog, NoStreamForSubjectError, type TailHandle } from '@perpmesh/bus';
import { decodeEnvelope, type Envelope, type Order, type Subjects } from '@perpmesh/contracts';
import {
  type AccountId,
  type ClientOrderId,
  type EpochMs,
  errorText,
  type InstrumentId,
  isOrderTerminal,
  type OrderEvent,
  type OrderRequest,
  PerpmeshError,
  raceStop,
  sleep,
  ValidationError,
  type VenueId,
  type VenueOrderId,
  validateOrderRequest,
} from '@perpmesh/core';
import { createMetrics, type HealthRegistry, type Logger, type ServiceMetrics } from '@perpmesh/runtime';
import type { StateStore } from '@perpmesh/state';
import {
  PORT_READINESS_REFRESH_MS,
  type PortComponentView,
  PortReadinessMirror,
  type Subscription,
  type UserStreamEvent,
  VENUE_COMPONENT,
  type VenueDirectory,
  VenueError,
  type VenueFill,
  type VenueMarket,
  type VenueOrder,
  VenueOrderNotFoundError,
  type VenuePort,
  VenueRejectedError,
  VenueUnknownOutcomeError,
} from '@perpmesh/venues';
import {
  type Claim,
  claimKey,
  decodeClaim,
  EXEC_MARK_WITH_WRITE_AHEAD_ENV,
  encodeClaim,
  IDEMPOTENCY_SCOPE,
  type SubmittedClaimRepair,
  submittedClaimRepair,
} from './claims.js';
import { ExecutionUnavailableError, OrderNotFoundError } from './errors.js';
import {
  type ExecFoldTarget,
  ExecPublisher,
  type ExecStreamItem,
  execStreamItemOf,
  foldDroppedSubmitted,
  foldExecEnvelope,
  ordersBehindTheLog,
  readExecLookback,
} from './exec-log.js';
import { type ExecutionMetrics, executionMetrics, type OrderStage } from './metrics.js';
import type { NonceKeyGate } from './nonce-ownership.js';
import { NonceSender, NotSentError } from './nonce-sender.js';
import { type ExecutionOptions, resolveExecutionOptions } from './options.js';
import { isFinishedOnTheWire, lastLoggedOrder } from './order-lookup.js';
import {
  newTrackedOrder,
  OrderTable,
  type OrderView,
  orderKey,
  portRequestOf,
  snapshotOf,
  type TrackedOrder,
} from './orders.js';
import { fetchVenueOrder, orderRefOf, reconcileOrders } from './reconciliation.js';
import {
  checkOrderAgainstCapabilities,
  checkOrderAgainstMarket,
  orderRequestFingerprint,
  type PlaceOrderCommand,
} from './validation.js';
import {
  type AccountSetting,
  accountSettingsFor,
  type DeadManSwitchSettings,
  deadManSwitchPlan,
  type StrategyTradingState,
  StrategyTradingStates,
  strategyOfClientOrderId,
  tradingStateOfDecision,
} from './venue-controls.js';
import {
  isVenueMadeFill,
  orderEventOfVenueFill,
  orderEventsOfVenueOrder,
  orderViewFromVenue,
  reportIds,
  reportTarget,
  transitionOrder,
  type VenueReport,
  venueIsAheadOnFills,
  venueOrderIdHintOf,
  venueReportOf,
} from './venue-reports.js';
import { execFilter, orderEventEnvelope, orderToProto, venueMadeFillEnvelope } from './wire.js';

/** Test-only hooks. Production wiring never sets them. */
export interface ExecutionTestHooks {
  /**
   * Called after the venue acknowledged a placement, before anything about the answer is
   * applied or published. Throwing (e.g. `SimulatedCrashError`) simulates a process killed
   * between the venue's ack and the event publish.
   */
  afterVenueAck?: (order: OrderView, venueOrder: VenueOrder) => void | Promise<void>;
}

export interface ExecutionEngineDeps {
  readonly log: EventLog;
  readonly state: StateStore;
  readonly venues: VenueDirectory;
  readonly subjects: Subjects;
  readonly health: HealthRegistry;
  readonly logger: Logger;
  readonly nowMs: () => EpochMs;
  /** Producer id on every envelope: `execution/<instance>`. */
  readonly source: string;
  readonly metrics?: ServiceMetrics;
  readonly config?: Partial<ExecutionOptions>;
  /**
   * The accounts this service trades, as `{ venue, account }`; default every port of the
   * directory. Orders of other accounts on the log are ignored.
   */
  readonly accounts?: readonly { venue: VenueId; account: AccountId }[];
  /** Waits between resolver polls; tests pass one that moves a manual clock. Default: a timer. */
  readonly sleep?: (ms: number) => Promise<void>;
  readonly hooks?: ExecutionTestHooks;
  /** Leverage / margin mode per venue, account and instrument, applied before an account is ready. */
  readonly accountSettings?: readonly AccountSetting[];
  /** The venues' dead-man switch (scheduleCancelAll); off when absent or `afterMs` 0. */
  readonly deadManSwitch?: DeadManSwitchSettings;
  /**
   * Which strict-nonce API keys this replica may sign with (nonce-ownership.ts); absent: all
   * of them (one process).
   */
  readonly nonceKeys?: NonceKeyGate;
  /**
   * The claim's `submitted` mark and the write-ahead publish run at once (default) or one
   * after the other (`false`, or `PERPMESH_EXEC_MARK_WITH_WRITE_AHEAD=sequential`); the order
   * is sent only once both are done either way.
   */
  readonly markWithWriteAhead?: boolean;
}

/** One process: every key is signed with here. */
const EVERY_KEY_HERE: NonceKeyGate = { enter: () => () => {}, signsHere: () => true };

export interface PlaceOrderResult {
  readonly order: OrderView;
  /** The client_order_id was known: this is the existing order, nothing new was sent. */
  readonly replayed: boolean;
}

export interface OrderLocator {
  readonly venue: VenueId;
  readonly account: AccountId;
  /** Optional check: the order must be on this instrument. */
  readonly instrument?: InstrumentId | undefined;
  readonly clientOrderId?: ClientOrderId | undefined;
  readonly venueOrderId?: VenueOrderId | undefined;
}

export interface OrderFilter {
  readonly venue?: VenueId | undefined;
  readonly account?: AccountId | undefined;
  readonly instrument?: InstrumentId | undefined;
}

interface Orphan {
  readonly atMs: EpochMs;
  readonly apply: (order: TrackedOrder) => Promise<unknown> | undefined;
}

interface AccountRuntime {
  readonly port: VenuePort;
  subscription: Subscription | undefined;
  reconciled: boolean;
  reconciling: Promise<void> | undefined;
  /** Last seen readiness of the port's user stream (to reconcile after a reconnect). */
  userStreamReady: boolean | undefined;
  fillCatchUp: { timer: NodeJS.Timeout; sinceMs: EpochMs } | undefined;
  /** The dead-man switch's refresh timer while armed. */
  deadManTimer: NodeJS.Timeout | undefined;
  /** Refreshes the armed switch now (a resume re-arms without waiting a period). */
  deadManRefresh: (() => Promise<void>) | undefined;
  /** Every strategy trading here is HALTED: orders canceled, the switch no longer refreshed. */
  killed: boolean;
  /** Leverage and margin mode from config were set: a bring-up retry does not set them again. */
  settingsApplied: boolean;
  /** Setting them now (bring-up and a key takeover share one run). */
  settingsApplying: Promise<void> | undefined;
}

const accountKey = (venue: VenueId, account: AccountId) => `${venue}/${account}`;

export class ExecutionEngine {
  readonly #log: EventLog;
  readonly #state: StateStore;
  readonly #venues: VenueDirectory;
  readonly #subjects: Subjects;
  readonly #health: HealthRegistry;
  readonly #logger: Logger;
  readonly #nowMs: () => EpochMs;
  readonly #source: string;
  readonly #options: ExecutionOptions;
  readonly #hooks: ExecutionTestHooks;
  readonly #sleepDep: (ms: number) => Promise<void>;
  readonly #metrics: ExecutionMetrics;
  readonly #accountSettings: readonly AccountSetting[];
  readonly #deadManSwitch: DeadManSwitchSettings | undefined;
  readonly #nonceKeys: NonceKeyGate;
  readonly #markWithWriteAhead: boolean;
  /** The kill switch is HALTED: dead-man switches are not refreshed. */
  #halted = false;
  /** Every strategy's kill switch as the strategies publish it (trading_state decisions). */
  readonly #strategyStates = new StrategyTradingStates();
  #stratTail: TailHandle | undefined;

  readonly #orders = new OrderTable();
  readonly #accounts = new Map<string, AccountRuntime>();
  readonly #markets = new Map<VenueId, Map<InstrumentId, VenueMarket>>();
  /** A venue's markets being loaded: the accounts of one venue, brought up together, share the call. */
  readonly #marketsLoading = new Map<VenueId, Promise<void>>();
  readonly #orphans = new Map<string, Orphan[]>();
  /** Orders this process is placing (claim to the venue's answer). */
  readonly #placing = new Set<TrackedOrder>();
  /** Orders a placement resolver of this process is asking the venue about. */
  readonly #resolving = new Set<TrackedOrder>();
  readonly #inflight = new Set<Promise<unknown>>();
  readonly #publisher: ExecPublisher;
  readonly #sender: NonceSender;
  /** Folding the EXEC log into the order table (rebuild, other replicas' events). */
  readonly #foldTarget: ExecFoldTarget;
  #tail: TailHandle | undefined;
  /** The EXEC tail is running: other replicas' orders reach the table (a repair's proof needs it). */
  #followingLog = false;
  /**
   * Ids of SUBMITTED events the log refused (queued for retry) whose order left the table
   * while its claim stays (until a release succeeds; for good when it failed, or after a
   * repair's write): once a retry stores one, its order is folded back in
   * (`foldDroppedSubmitted`). A released id is dropped: its retry places afresh. Bounded by the
   * publisher's retry queue, which holds the same events.
   */
  readonly #unrecordedWithClaim = new Set<string>();
  #housekeeping: NodeJS.Timeout | undefined;
  #openStreams = 0;
  #phase: 'idle' | 'starting' | 'running' | 'stopped' = 'idle';
  readonly #stop = new AbortController();
  /** Every component of every account's port into health (`venue <venue>/<account>: ...`). */
  readonly #portReadiness: PortReadinessMirror;
  readonly #stopped: Promise<void>;

  constructor(deps: ExecutionEngineDeps) {
    this.#log = deps.log;
    this.#state = deps.state;
    this.#venues = deps.venues;
    this.#subjects = deps.subjects;
    this.#health = deps.health;
    this.#logger = deps.logger.child({ component: 'execution' });
    this.#nowMs = deps.nowMs;
    this.#source = deps.source;
    this.#options = resolveExecutionOptions(deps.config);
    this.#hooks = deps.hooks ?? {};
    this.#accountSettings = deps.accountSettings ?? [];
    this.#deadManSwitch = deps.deadManSwitch;
    this.#nonceKeys = deps.nonceKeys ?? EVERY_KEY_HERE;
    this.#markWithWriteAhead =
      deps.markWithWriteAhead ?? process.env[EXEC_MARK_WITH_WRITE_AHEAD_ENV] !== 'sequential';
    this.#sleepDep = deps.sleep ?? ((ms) => sleep(ms, { unref: true }));
    this.#metrics = executionMetrics(deps.metrics ?? createMetrics('execution', { defaultMetrics: false }));
    this.#stopped = new Promise<void>((resolve) =>
      this.#stop.signal.addEventListener('abort', () => resolve(), { once: true }),
    );
    const refs = deps.accounts ?? deps.venues.all().map((p) => ({ venue: p.venue, account: p.account }));
    for (const { venue, account } of refs) {
      const port = deps.venues.port(venue, account);
      this.#accounts.set(accountKey(venue, account), {
        port,
        subscription: undefined,
        reconciled: false,
        reconciling: undefined,
        userStreamReady: undefined,
        fillCatchUp: undefined,
        deadManTimer: undefined,
        deadManRefresh: undefined,
        killed: false,
        settingsApplied: false,
        settingsApplying: undefined,
      });
      this.#health.register(
        `${venue}/${account}/reconciliation`,
        `${venue}/${account}: not reconciled with the venue yet (service starting)`,
      );
      this.#health.register(
        `${venue}/${account}/execution_user_stream`,
        `${venue}/${account}: user stream not subscribed yet`,
      );
    }
    this.#portReadiness = new PortReadinessMirror({
      health: this.#health,
      ports: () => [...this.#accounts.values()].map((a) => a.port),
      nowMs: this.#nowMs,
    });
    this.#health.register(
      'execution/order-state',
      'orders not rebuilt from the event log yet (service starting)',
    );
    this.#publisher = new ExecPublisher({
      log: this.#log,
      subjects: this.#subjects,
      health: this.#health,
      logger: this.#logger,
      onPublishFailure: () => this.#metrics.publishFailures.inc(),
      onPublishBatch: (events) => this.#metrics.publishBatch.observe(events),
      track: (promise) => this.#track(promise),
      onStoredLate: (envelope) => {
        if (!this.#unrecordedWithClaim.delete(envelope.id)) return;
        if (foldDroppedSubmitted(this.#foldTarget, envelope)) {
          this.#logger.warn(
            { eventId: envelope.id },
            'a SUBMITTED the log refused at first was stored by a retry; its order is tracked again and settled with the venue',
          );
        }
      },
    });
    this.#sender = new NonceSender({
      state: this.#state,
      nowMs: this.#nowMs,
      staleNonceRetries: this.#options.staleNonceRetries,
      onStaleNonce: (port, attempt, err) => {
        this.#metrics.nonceResyncs.inc({ venue: port.venue });
        this.#logger.warn(
          { venue: port.venue, account: port.account, attempt, err: errorText(err) },
          'stale nonce; resyncing and retrying with a fresh one',
        );
      },
      onStage: (stage, seconds) => this.#metrics.orderStage.observe({ stage }, seconds),
      onVenueBatch: (orders) => this.#metrics.venueBatch.observe(orders),
    });
    this.#foldTarget = {
      orders: this.#orders,
      trades: (venue, account) => this.#accounts.has(accountKey(venue, account)),
      added: (order) => this.#flushOrphans(order),
      apply: (order, event, fill) => {
        this.#apply(order, event, { publish: false, ...(fill ? { fill } : {}) });
      },
      holdFill: (venue, account, fill) =>
        this.#holdOrphan(venue, account, fill.clientOrderId, (o) => this.#applyVenueFill(o, fill, false)),
    };
  }

  // ---- lifecycle --------------------------------------------------------------------------------

  /**
   * Rebuilds orders from the log, follows it, subscribes the user streams and reconciles
   * every account. Resolves once every account had its first reconciliation attempt; an
   * account whose venue is unreachable stays not ready (with the reason) and is retried.
   */
  async start(): Promise<void> {
    if (this.#phase !== 'idle')
      throw new PerpmeshError('FAILED_PRECONDITION', `execution engine is ${this.#phase}`);
    this.#phase = 'starting';
    this.#portReadiness.start(PORT_READINESS_REFRESH_MS);
    const lastSeq = await this.#rebuild();
    this.#tail = await this.#log.tail(
      execFilter(this.#subjects),
      { from: { startSeq: lastSeq + 1 } },
      // Our own events come back here: their message id is the envelope id, so they are
      // skipped before decoding (two per placement on the hot path).
      async (msg) => {
        if (msg.id !== '' && this.#publisher.takeOwn(msg.id)) return;
        this.#onLogMessage(msg.data);
      },
    );
    this.#followingLog = true;
    this.#tail.closed.then(
      () => {
        this.#followingLog = false;
      },
      (err) => {
        this.#followingLog = false;
        this.#logger.error({ err }, 'exec log tail ended');
      },
    );
    // The strategies' kill switches: every trading_state decision from the start of the
    // stream (rare records), then live.
    try {
      this.#stratTail = await this.#log.tail(
        this.#subjects.filter('strat', { kind: 'trading_state' }),
        { from: { startSeq: 1 } },
        async (msg) => this.#onStrategyDecision(msg.data),
      );
      this.#stratTail.closed.catch((err) => this.#logger.error({ err }, 'strategy trading-state tail ended'));
    } catch (err) {
      // A log without the STRAT stream (a test rig of execution alone): no strategy can halt here.
      if (!(err instanceof NoStreamForSubjectError)) throw err;
      this.#logger.warn({}, "no STRAT stream: the strategies' kill switch cannot reach execution");
    }
    await Promise.all([...this.#accounts.values()].map((acct) => this.#bringUp(acct)));
    this.#housekeeping = setInterval(() => this.#housekeep(), this.#options.housekeepingIntervalMs);
    this.#housekeeping.unref();
    this.#phase = 'running';
  }

  /** Stops following venues and the log; waits for publishes in flight. Idempotent. */
  async stop(): Promise<void> {
    if (this.#phase === 'stopped') return;
    this.#phase = 'stopped';
    this.#stop.abort();
    this.#portReadiness.stop();
    if (this.#housekeeping) clearInterval(this.#housekeeping);
    for (const acct of this.#accounts.values()) {
      if (acct.fillCatchUp) clearTimeout(acct.fillCatchUp.timer);
      acct.fillCatchUp = undefined;
      // The venue's switch stays armed: if no one refreshes it, the venue cancels our orders.
      if (acct.deadManTimer) clearInterval(acct.deadManTimer);
      acct.deadManTimer = undefined;
      const sub = acct.subscription;
      acct.subscription = undefined;
      await sub?.close().catch((err) => this.#logger.warn({ err }, 'closing a user stream failed'));
    }
    await this.#tail?.stop().catch(() => undefined);
    await this.#stratTail?.stop().catch(() => undefined);
    await this.settled();
  }

  /**
   * Every readiness component of each account's venue port (also in health as
   * `venue <venue>/<account>: <component>`), as of the last read (every second).
   */
  portReadiness(filter: { venue?: string; account?: string } = {}): PortComponentView[] {
    return this.#portReadiness.views(filter);
  }

  /** Resolves when no publish, resolver or reconciliation started so far is still running. */
  async settled(): Promise<void> {
    while (this.#inflight.size > 0) await Promise.allSettled([...this.#inflight]);
  }

  get openStreams(): number {
    return this.#openStreams;
  }

  /** True when every account has been reconciled (PlaceOrder is open on all of them). */
  isReconciled(): boolean {
    return [...this.#accounts.values()].every((a) => a.reconciled);
  }

  // ---- queries ------------------------------------------------------------------------------------

  getOrder(locator: OrderLocator): OrderView {
    this.#portFor(locator.venue, locator.account);
    requireOrderId(locator);
    const order = this.#keptOrder(locator);
    if (!order) throw notKeptError(locator);
    return snapshotOf(order);
  }

  /** The order of `locator` in the table: by its id, on its instrument when one is named. */
  #keptOrder(locator: OrderLocator): TrackedOrder | undefined {
    const order = this.#orders.find(locator.venue, locator.account, locator);
    return order && (!locator.instrument || order.state.instrument === locator.instrument)
      ? order
      : undefined;
  }

  /**
   * GetOrder's answer: the order from the table, else (finished and pruned from it) its last
   * view on the EXEC log (order-lookup.ts), found through its idempotency claim. By venue
   * order id, an order gone from the table is first asked of the venue (which needs the
   * instrument) for its client order id. NOT_FOUND says which of these it could not use.
   */
  async lookUpOrder(locator: OrderLocator): Promise<Order> {
    const { port } = this.#portFor(locator.venue, locator.account);
    requireOrderId(locator);
    const kept = this.#keptOrder(locator);
    return kept ? orderToProto(snapshotOf(kept)) : this.#loggedOrder(locator, port);
  }

  /** A finished order gone from the table, from the log (`lookUpOrder`); NOT_FOUND otherwise. */
  async #loggedOrder(locator: OrderLocator, port: VenuePort): Promise<Order> {
    const where = `${locator.venue}/${locator.account}`;
    let clientOrderId = locator.clientOrderId;
    if (!clientOrderId) {
      if (!locator.instrument) {
        throw new OrderNotFoundError(
          `no order ${describeLocator(locator)} among the orders execution keeps on ${where}; ` +
            'name its instrument to have the venue asked, or look it up by client_order_id',
        );
      }
      const atVenue = await fetchVenueOrder(port, {
        instrument: locator.instrument,
        venueOrderId: locator.venueOrderId as VenueOrderId,
      });
      if (!atVenue) {
        throw new OrderNotFoundError(
          `no order ${describeLocator(locator)} on ${where}: neither execution nor the venue knows it`,
        );
      }
      clientOrderId = atVenue.clientOrderId;
    }
    const raw = await this.#state.getIdempotencyKey(
      IDEMPOTENCY_SCOPE,
      claimKey(locator.venue, locator.account, clientOrderId),
    );
    const claim = raw === undefined ? undefined : decodeClaim(raw);
    const logged = claim
      ? await lastLoggedOrder(this.#log, {
          stream: this.#options.execStream,
          filterSubject: this.#subjects.execOrder(locator.venue, locator.account),
          createdAtMs: claim.at,
          clientOrderId,
          timeoutMs: this.#options.orderLookupTimeoutMs,
        })
      : undefined;
    const matches =
      logged !== undefined &&
      (!locator.instrument || logged.instrument === locator.instrument) &&
      (!locator.venueOrderId || logged.venueOrderId === locator.venueOrderId);
    if (!matches) {
      throw new OrderNotFoundError(
        claim
          ? `no order ${describeLocator(locator)} on ${where}: its client order id was claimed, but the event log holds no order of it`
          : `no order ${describeLocator(locator)} on ${where}: not among the orders execution keeps, and no claim of its ` +
              `client order id is left (claims live ${this.#options.idempotencyTtlMs} ms)`,
      );
    }
    return logged;
  }

  listOpenOrders(filter: OrderFilter = {}): OrderView[] {
    if (filter.venue && !this.#venues.has(filter.venue)) {
      throw new ValidationError('venue', `unknown venue ${JSON.stringify(filter.venue)}`);
    }
    return this.#orders
      .open({
        ...(filter.venue ? { venue: filter.venue } : {}),
        ...(filter.account ? { account: filter.account } : {}),
        ...(filter.instrument ? { instrument: filter.instrument } : {}),
      })
      .sort((a, b) => a.state.createdAtMs - b.state.createdAtMs)
      .map(snapshotOf);
  }

  /** Markets of a venue as loaded at start (undefined before). */
  markets(venue: VenueId): VenueMarket[] | undefined {
    const m = this.#markets.get(venue);
    return m ? [...m.values()] : undefined;
  }

  // ---- PlaceOrder ---------------------------------------------------------------------------------

  async placeOrder(command: PlaceOrderCommand): Promise<PlaceOrderResult> {
    const validationStarted = performance.now();
    const request = validateOrderRequest(command.request);
    const { venue, account, clientOrderId } = request;
    const { port, acct } = this.#portFor(venue, account);
    const market = this.#market(venue, request.instrument);
    checkOrderAgainstMarket(request, market);
    checkOrderAgainstCapabilities(request, port.capabilities);
    // A HALTED / REDUCING strategy's new exposure is refused; a replay of a known order is not new.
    const refusal = this.#strategyStates.refusal(request);
    if (refusal && !this.#orders.get(venue, account, clientOrderId)) throw refusal;
    // A killed account that a strategy still trading now uses: its switch is refreshed again.
    const strategy = strategyOfClientOrderId(clientOrderId);
    if (acct.killed && strategy !== undefined && this.#strategyStates.state(strategy) !== 'halted') {
      await this.#reviewKill(acct, [strategy]);
    }
    if (!acct.reconciled) {
      throw new ExecutionUnavailableError(
        `${venue}/${account} is not reconciled with the venue yet: ${this.#health.component(`${venue}/${account}/reconciliation`)?.reason ?? 'starting'}`,
      );
    }
    // Only the owner of a strict-nonce key places with it; open until the placement is done.
    const close = this.#nonceKeys.enter(port);
    try {
      return await this.#place(command, request, port, market, validationStarted);
    } finally {
      close();
    }
  }

  /** PlaceOrder after validation: claim, then submit or answer the duplicate. */
  async #place(
    command: PlaceOrderCommand,
    request: OrderRequest,
    port: VenuePort,
    market: VenueMarket,
    validationStarted: number,
  ): Promise<PlaceOrderResult> {
    const { venue, account, clientOrderId } = request;
    const fingerprint = orderRequestFingerprint(request);
    const idemKey = claimKey(venue, account, clientOrderId);
    const deadline = performance.now() + this.#options.duplicateWaitMs;
    this.#stageDone('validation', validationStarted);
    for (let attempt = 0; attempt < 3; attempt++) {
      const local = this.#orders.get(venue, account, clientOrderId);
      if (local) {
        const replay = await this.#replayLocal(local, fingerprint, deadline);
        if (replay !== 'retry') return replay;
        continue;
      }
      const claim: Claim = { s: 'pending', at: this.#nowMs(), fp: fingerprint, by: randomUUID() };
      const claimStarted = performance.now();
      const claiming = this.#state.claimIdempotencyKey(
        IDEMPOTENCY_SCOPE,
        idemKey,
        encodeClaim(claim),
        this.#options.idempotencyTtlMs,
      );
      // The order and its SUBMITTED are built while the claim's round trip is in flight (their
      // CPU off the order's path); used only if this request gets the claim.
      const placement = this.#newPlacement(command, market, claim);
      const result = await claiming;
      this.#stageDone('idempotency_claim', claimStarted);
      if (result.claimed) return this.#submit(port, command, market, claim, idemKey, placement);
      const replay = await this.#replayClaimed(
        port,
        command,
        market,
        fingerprint,
        idemKey,
        result.existingValue,
        deadline,
      );
      if (replay !== 'retry') return replay;
    }
    throw new ExecutionUnavailableError(
      `client_order_id ${clientOrderId} on ${venue}/${account}: another request holds it and its order is not settled; retry`,
    );
  }

  /** A duplicate of an order we know: wait (bounded) for it to leave SUBMITTED, then answer with it. */
  async #replayLocal(
    order: TrackedOrder,
    fingerprint: string,
    deadline: number,
  ): Promise<PlaceOrderResult | 'retry'> {
    if (orderRequestFingerprint(order.state) !== fingerprint) throw this.#reusedId(order.state);
    const { venue, account, clientOrderId } = order.state;
    while (order.state.status === 'submitted') {
      // Nobody here is placing it and it is past the bound: ask the venue instead of replaying it as live.
      this.#resolveStale(order, true);
      const remaining = deadline - performance.now();
      if (remaining <= 0) break;
      // Woken at least every 250 ms: the order may pass the bound while we wait.
      await this.#orders.waitForChange(venue, account, clientOrderId, Math.min(remaining, 250));
      // Removed: the first placement could not record the order and released the id.
      if (this.#orders.get(venue, account, clientOrderId) !== order) return 'retry';
    }
    this.#metrics.placed.inc({ venue, outcome: 'replayed' });
    return { order: snapshotOf(order), replayed: true };
  }

  /** The id is claimed but the order is not in our table (yet): another replica, or older than our memory. */
  async #replayClaimed(
    port: VenuePort,
    command: PlaceOrderCommand,
    market: VenueMarket,
    fingerprint: string,
    idemKey: string,
    existingValue: string,
    deadline: number,
  ): Promise<PlaceOrderResult | 'retry'> {
    const { venue, account, clientOrderId } = command.request;
    let raw = existingValue;
    let claim = decodeClaim(raw);
    while (true) {
      if (claim && claim.fp !== fingerprint) throw this.#reusedId(command.request);
      const local = this.#orders.get(venue, account, clientOrderId);
      if (local) return this.#replayLocal(local, fingerprint, deadline);
      if (claim?.s === 'pending' && this.#nowMs() - claim.at >= this.#options.pendingClaimTakeoverMs) {
        // Its placement stopped before the SUBMITTED event was stored, so it sent nothing. The
        // venue confirms (a claim store that lost a write could say pending for a sent order);
        // then the claim is taken over (compare-and-set, so only one request does) and placed.
        const atVenue = await this.#askVenueForClaimed(port, command.request);
        if (atVenue) return this.#replayFromVenue(command, market, claim, atVenue);
        const mine: Claim = { ...claim, by: randomUUID() };
        if (await this.#state.updateIdempotencyValue(IDEMPOTENCY_SCOPE, idemKey, raw, encodeClaim(mine))) {
          this.#logger.warn({ venue, account, clientOrderId }, 'took over a stale pending order claim');
          return this.#submit(port, command, market, mine, idemKey);
        }
      }
      if (claim?.s === 'submitted' && this.#submittedClaimRepair(claim) === 'repair') {
        // Its placement may have stopped after the mark and before its SUBMITTED was stored
        // (the two run at once), in which case it sent nothing and nothing else knows of the
        // order: it was created after everything the table forgot, so the table would hold it
        // had it been stored. Written ahead from here (the same fact id) and settled with the
        // venue like any order a stopped placement left; never sent from here.
        const atVenue = await this.#askVenueForClaimed(port, command.request);
        if (atVenue) return this.#replayFromVenue(command, market, claim, atVenue);
        // The log tail brought it meanwhile (a slow placement's SUBMITTED): that one is the order.
        const arrived = this.#orders.get(venue, account, clientOrderId);
        if (arrived) return this.#replayLocal(arrived, fingerprint, deadline);
        const adopted = await this.#writeAheadFor(command, market, claim);
        return this.#replayLocal(adopted, fingerprint, deadline);
      }
      const remaining = deadline - performance.now();
      if (remaining <= 0) break;
      await this.#orders.waitForChange(venue, account, clientOrderId, Math.min(remaining, 50));
      const current = await this.#state.getIdempotencyKey(IDEMPOTENCY_SCOPE, idemKey);
      if (current === undefined) return 'retry';
      raw = current;
      claim = decodeClaim(raw);
    }
    // Not in memory: ask the venue, which knows the order if it was ever placed.
    const venueOrder = await this.#askVenueForClaimed(port, command.request);
    if (venueOrder) return this.#replayFromVenue(command, market, claim, venueOrder);
    if (claim?.s === 'submitted' && this.#submittedClaimRepair(claim) === 'forgotten') {
      throw new ExecutionUnavailableError(
        `client_order_id ${clientOrderId} on ${venue}/${account} was claimed at ${new Date(claim.at).toISOString()} and may have been sent, ${venue} has no such order, and ${this.#whyNotVouched()}: it is not written again. The id stays claimed until its claim expires (${this.#options.idempotencyTtlMs} ms after it was made); check its fills, and to place it (again) use a new client_order_id`,
      );
    }
    throw new ExecutionUnavailableError(
      `client_order_id ${clientOrderId} on ${venue}/${account} is being placed by another request and its order is not known here yet; retry, or follow StreamOrderEvents`,
    );
  }

  /** The venue's view of a claimed order; a failed question is no answer: the caller is told so, and retries. */
  async #askVenueForClaimed(port: VenuePort, request: OrderRequest): Promise<VenueOrder | undefined> {
    const { venue, account, clientOrderId, instrument } = request;
    try {
      return await fetchVenueOrder(port, { instrument, clientOrderId });
    } catch (err) {
      throw new ExecutionUnavailableError(
        `client_order_id ${clientOrderId} on ${venue}/${account} is being placed by another request, its order is not known here yet, and asking ${venue} about it failed: ${errorText(err)}; retry`,
      );
    }
  }

  /** A duplicate answered with the venue's view of an order not in our table. */
  #replayFromVenue(
    command: PlaceOrderCommand,
    market: VenueMarket,
    claim: Claim | undefined,
    venueOrder: VenueOrder,
  ): PlaceOrderResult {
    this.#metrics.placed.inc({ venue: command.request.venue, outcome: 'replayed' });
    const local = newTrackedOrder(
      command.request,
      command.correlationId,
      claim?.at ?? this.#nowMs(),
      market.settle,
    );
    return { order: orderViewFromVenue(snapshotOf(local), venueOrder), replayed: true };
  }

  #reusedId(request: OrderRequest): ValidationError {
    return new ValidationError(
      'client_order_id',
      `${request.clientOrderId} was already used for a different order on ${request.venue}/${request.account}`,
    );
  }

  /** The order a claim stands for and its SUBMITTED event (fact id from the claim's time). */
  #newPlacement(
    command: PlaceOrderCommand,
    market: VenueMarket,
    claim: Claim,
  ): { order: TrackedOrder; submitted: Envelope } {
    const order = newTrackedOrder(command.request, command.correlationId, claim.at, market.settle);
    const submitted = orderEventEnvelope(snapshotOf(order), {
      ...this.#ctx(),
      tsEventMs: claim.at,
      cancelRound: false,
    });
    order.submittedEventId = submitted.id;
    return { order, submitted };
  }

  /**
   * A `submitted` claim whose order is in no table here (claims.ts `submittedClaimRepair`):
   * repaired when it is old enough that a live placement would have stored its SUBMITTED
   * (`pendingClaimTakeoverMs`, as for a pending claim; also the margin for the log tail's lag)
   * and its order was created after everything the table forgot, so the table would hold it
   * had it been stored, whatever its age. Otherwise answered as before: from the venue, else
   * UNAVAILABLE.
   */
  #submittedClaimRepair(claim: Claim): SubmittedClaimRepair {
    return submittedClaimRepair(claim, {
      nowMs: this.#nowMs(),
      liveBoundMs: this.#options.pendingClaimTakeoverMs,
      forgottenThroughMs: this.#submittedClaimCover(),
    });
  }

  /**
   * Orders created after this are in the table if their SUBMITTED was stored: what the table
   * forgot (`OrderTable.forgottenThroughMs`), and nothing while the log is not followed (a tail
   * that ended no longer brings other replicas' orders).
   */
  #submittedClaimCover(): EpochMs {
    return this.#followingLog ? this.#orders.forgottenThroughMs : Number.POSITIVE_INFINITY;
  }

  /** Why the table cannot tell whether an order was stored (`#submittedClaimRepair` said `forgotten`). */
  #whyNotVouched(): string {
    if (!this.#followingLog)
      return 'this execution no longer follows the event log, so it cannot tell whether the order was recorded';
    return `orders created up to ${new Date(this.#orders.forgottenThroughMs).toISOString()} may have been recorded, finished and forgotten here`;
  }

  /**
   * Stores the SUBMITTED of a `submitted` claim's order (same fact id as its placement's) and
   * puts the order in the table, unsent: the caller settles it with the venue (`#replayLocal`
   * -> `#resolveStale`: the claim says it may have been sent, so it is only ever asked about).
   */
  async #writeAheadFor(command: PlaceOrderCommand, market: VenueMarket, claim: Claim): Promise<TrackedOrder> {
    const { venue, account, clientOrderId } = command.request;
    const { order, submitted } = this.#newPlacement(command, market, claim);
    this.#orders.add(order);
    this.#placing.add(order);
    try {
      if (!(await this.#publisher.publish(order, [submitted]))) {
        this.#orders.remove(order);
        this.#unrecordedWithClaim.add(submitted.id);
        throw new ExecutionUnavailableError(
          `client_order_id ${clientOrderId} on ${venue}/${account}: its placement stopped and writing its SUBMITTED event from here failed; retry`,
        );
      }
    } finally {
      this.#placing.delete(order);
    }
    this.#logger.warn(
      { venue, account, clientOrderId },
      'order claim marked submitted with no order known here: wrote its SUBMITTED event, settling it with the venue',
    );
    return order;
  }

  async #submit(
    port: VenuePort,
    command: PlaceOrderCommand,
    market: VenueMarket,
    claim: Claim,
    idemKey: string,
    placement = this.#newPlacement(command, market, claim),
  ): Promise<PlaceOrderResult> {
    const started = performance.now();
    const { order, submitted } = placement;
    this.#orders.add(order);
    this.#placing.add(order);
    try {
      return await this.#writeAheadAndSend(port, order, submitted, claim, idemKey, started);
    } finally {
      this.#placing.delete(order);
    }
  }

  async #writeAheadAndSend(
    port: VenuePort,
    order: TrackedOrder,
    submitted: Envelope,
    claim: Claim,
    idemKey: string,
    started: number,
  ): Promise<PlaceOrderResult> {
    const { venue, account, clientOrderId } = order.state;
    this.#flushOrphans(order);

    // Write ahead and mark the claim `submitted`: no SUBMITTED in the log or no mark, no order
    // at the venue. Both at once by default (README, "Write ahead and the mark, at once").
    const sent: Claim = { ...claim, s: 'submitted' };
    const writeAhead = this.#publisher.publish(order, [submitted]).then((stored) => {
      this.#stageDone('write_ahead_publish', started);
      return stored;
    });
    const mark = async (): Promise<boolean> => {
      const markStarted = performance.now();
      const marked = await this.#state.updateIdempotencyValue(
        IDEMPOTENCY_SCOPE,
        idemKey,
        encodeClaim(claim),
        encodeClaim(sent),
      );
      this.#stageDone('claim_submitted', markStarted);
      return marked;
    };
    let stored: boolean;
    let marking: Promise<boolean> | undefined;
    if (this.#markWithWriteAhead) {
      marking = mark();
      // Settled before the write-ahead's outcome is read, so a failed mark is never left unobserved.
      marking.catch(() => undefined);
      stored = await writeAhead;
    } else {
      stored = await writeAhead;
      if (stored) marking = mark();
    }
    if (!stored) {
      this.#orders.remove(order);
      // Until the claim is released, a retry that stores the queued SUBMITTED brings the order back.
      this.#unrecordedWithClaim.add(submitted.id);
      // The mark may have landed (at once; its outcome unknown if it failed): release whichever
      // value the claim holds as ours.
      const marked = marking === undefined ? false : await marking.catch(() => undefined);
      if (await this.#releaseClaim(idemKey, marked === false ? [claim] : [sent, claim], order)) {
        this.#unrecordedWithClaim.delete(submitted.id);
      }
      this.#metrics.placed.inc({ venue, outcome: 'not_recorded' });
      throw new ExecutionUnavailableError(
        `order ${clientOrderId} was not placed: the event log did not store its SUBMITTED event, so nothing was sent to ${venue}`,
      );
    }
    const marked = await (marking as Promise<boolean>);
    if (!marked) {
      // Another request took the claim over while our SUBMITTED event was being stored: it sends, we do not.
      this.#logger.warn(
        { venue, account, clientOrderId },
        'order claim taken over before sending; not sending',
      );
      return { order: snapshotOf(order), replayed: true };
    }

    if (!(await this.#send(port, order))) return { order: snapshotOf(order), replayed: false };
    this.#metrics.placeLatency.observe({ venue }, (performance.now() - started) / 1000);
    return { order: snapshotOf(order), replayed: false };
  }

  /**
   * Deletes the claim of a placement that sent nothing, if it still holds one of `values`
   * (each a compare-and-delete, so a claim another request took over stays). True when deleted.
   */
  async #releaseClaim(idemKey: string, values: readonly Claim[], order: TrackedOrder): Promise<boolean> {
    const { venue, account, clientOrderId } = order.state;
    try {
      for (const value of values) {
        if (await this.#state.releaseIdempotencyKey(IDEMPOTENCY_SCOPE, idemKey, encodeClaim(value)))
          return true;
      }
    } catch (err) {
      this.#logger.error({ err, venue, account, clientOrderId }, 'releasing an order claim failed');
    }
    return false;
  }

  /**
   * Sends an order whose claim this placement holds as `submitted` and applies the venue's
   * answer. False when the outcome was a failure (handled by `#placementFailed`).
   */
  async #send(port: VenuePort, order: TrackedOrder): Promise<boolean> {
    let venueOrder: VenueOrder;
    try {
      venueOrder = await this.#sender.send(port, portRequestOf(order.state));
    } catch (err) {
      await this.#placementFailed(port, order, err);
      return false;
    }
    await this.#hooks.afterVenueAck?.(snapshotOf(order), venueOrder);
    const acceptStarted = performance.now();
    await this.#applyVenueOrder(this.#accountOf(order), order, venueOrder);
    this.#stageDone('acceptance_publish', acceptStarted);
    if (venueIsAheadOnFills(order.state, venueOrder)) await this.#awaitAnnouncedFills(order, venueOrder);
    const { venue } = order.state;
    this.#metrics.placed.inc({ venue, outcome: order.state.status === 'rejected' ? 'rejected' : 'accepted' });
    this.#cancelIfKilledMeanwhile(order);
    return true;
  }

  /**
   * The venue's answer counts fills we have not seen (a market order's answer can overtake its
   * fills on the user stream, and a snapshot carries no trade ids): the PlaceOrder answer waits
   * for them, from the stream or the fill catch-up, at most `fillAnswerWaitMs`, so a filled
   * order is answered FILLED with its fills folded. Past the bound it answers with what it has.
   */
  async #awaitAnnouncedFills(order: TrackedOrder, venueOrder: VenueOrder): Promise<void> {
    const started = performance.now();
    const deadline = started + this.#options.fillAnswerWaitMs;
    const { venue, account, clientOrderId } = order.state;
    while (venueIsAheadOnFills(order.state, venueOrder)) {
      const remaining = deadline - performance.now();
      if (remaining <= 0 || this.#stop.signal.aborted) {
        this.#logger.warn(
          {
            venue,
            account,
            clientOrderId,
            filledAtVenue: venueOrder.filled.toFixed(),
            filledHere: order.state.filled.toFixed(),
          },
          'the venue answered with fills that did not arrive in time; answering with the fills known',
        );
        break;
      }
      // Kept alive: the fill catch-up's timer is not, and a caller waits for this answer. Woken
      // at least every 250 ms to see a stop.
      await this.#orders.waitForChange(venue, account, clientOrderId, Math.min(remaining, 250), {
        keepAlive: true,
      });
    }
    this.#stageDone('announced_fills', started);
  }

  /**
   * The account was killed while this order was on its way (its strategy HALTED after the
   * order passed the check, before the kill's cancel-all saw it): cancel it now, as the
   * cancel-all would have. Orders the cancel-all reached are `cancel_requested` already.
   */
  #cancelIfKilledMeanwhile(order: TrackedOrder): void {
    const acct = this.#accountOf(order);
    if (!acct?.killed || !this.#strategyStates.refusal(order.state)) return;
    const { status } = order.state;
    if (status === 'cancel_requested' || isOrderTerminal(status)) return;
    this.#track(this.#cancelOne(acct, order, ''));
  }

  /**
   * A SUBMITTED order past `pendingClaimTakeoverMs` that no placement or resolver of this
   * process handles: another replica's that stopped in flight, or ours from before a crash.
   * Settled by asking the venue (`#settleUnhandled`) instead of being replayed as live.
   * `resend`: a client is asking for this very order now (a duplicate PlaceOrder).
   */
  #resolveStale(order: TrackedOrder, resend: boolean): void {
    if (order.state.status !== 'submitted' || this.#placing.has(order) || this.#resolving.has(order)) return;
    if (this.#nowMs() - order.state.createdAtMs < this.#options.pendingClaimTakeoverMs) return;
    const acct = this.#accountOf(order);
    if (acct) this.#track(this.#settleUnhandled(acct.port, order, resend));
  }

  /**
   * An unsettled order no one here is placing. A claim still `pending` means nothing was
   * sent (`#settleNeverSent`); otherwise (`submitted`, or gone) it may have been, and the
   * placement resolver asks the venue until it knows.
   */
  async #settleUnhandled(port: VenuePort, order: TrackedOrder, resend: boolean): Promise<void> {
    if (this.#resolving.has(order) || this.#placing.has(order)) return;
    const { venue, account, clientOrderId } = order.state;
    this.#placing.add(order);
    let maybeSent = false;
    try {
      maybeSent = await this.#settleNeverSent(port, order, resend);
    } catch (err) {
      // No answer from the claim store or the venue: housekeeping asks again.
      this.#logger.warn(
        { venue, account, clientOrderId, err: errorText(err) },
        'settling an order a stopped placement left failed; asking again later',
      );
    } finally {
      this.#placing.delete(order);
    }
    if (maybeSent && order.state.status === 'submitted')
      await this.#resolvePlacement(port, order, order.state.createdAtMs);
  }

  /**
   * When the order's claim is still `pending` (its placement stopped before marking it, so
   * nothing was sent) and the venue confirms it has no such order, the claim is taken over
   * by compare-and-set (a slow live holder then finds it moved and does not send). Then the
   * order is sent from here when a client asks for it now (`resend`), else REJECTED: an
   * order nobody is waiting for is not sent late, at a stale price. True when the claim says
   * the order may have been sent (the caller resolves it with the venue).
   */
  async #settleNeverSent(port: VenuePort, order: TrackedOrder, resend: boolean): Promise<boolean> {
    const { venue, account, clientOrderId, instrument } = order.state;
    const idemKey = claimKey(venue, account, clientOrderId);
    const raw = await this.#state.getIdempotencyKey(IDEMPOTENCY_SCOPE, idemKey);
    const claim = raw === undefined ? undefined : decodeClaim(raw);
    if (raw === undefined || claim?.s !== 'pending') return true;
    // A young pending claim may belong to a live placement still writing ahead: housekeeping
    // looks again once it is past the bound.
    const ageMs = this.#nowMs() - order.state.createdAtMs;
    if (ageMs < this.#options.pendingClaimTakeoverMs) return false;
    const atVenue = await fetchVenueOrder(port, { instrument, clientOrderId });
    if (order.state.status !== 'submitted') return false;
    if (atVenue) {
      await this.#applyVenueOrder(this.#accountOf(order), order, atVenue);
      return false;
    }
    const mine: Claim = { ...claim, s: 'submitted', by: randomUUID() };
    // Moved meanwhile: its holder (or another taker) settles it; housekeeping looks again.
    if (!(await this.#state.updateIdempotencyValue(IDEMPOTENCY_SCOPE, idemKey, raw, encodeClaim(mine))))
      return false;
    if (resend) {
      this.#logger.warn(
        { venue, account, clientOrderId, ageMs },
        'order stopped before it was sent (claim still pending, unknown to the venue); sending it from here',
      );
      await this.#send(port, order);
      return false;
    }
    this.#logger.warn(
      { venue, account, clientOrderId, ageMs },
      'order stopped before it was sent (claim still pending, unknown to the venue); rejecting it',
    );
    await this.#apply(
      order,
      {
        kind: 'rejected',
        reason: `not sent: its placement stopped before sending it and ${venue} has no such order after ${ageMs} ms; rejected rather than sent late`,
        tsEventMs: this.#nowMs(),
      },
      { publish: true },
    );
    return false;
  }

  #stageDone(stage: OrderStage, startedMs: number): void {
    this.#metrics.orderStage.observe({ stage }, (performance.now() - startedMs) / 1000);
  }

  async #placementFailed(port: VenuePort, order: TrackedOrder, err: unknown): Promise<PlaceOrderResult> {
    const { venue, account, clientOrderId } = order.state;
    const definitive =
      err instanceof NotSentError ||
      err instanceof ValidationError ||
      (err instanceof VenueError && !(err instanceof VenueUnknownOutcomeError));
    if (!definitive) {
      // The venue may have the order: ask it, never resend.
      this.#metrics.unknownOutcomes.inc({ venue });
      this.#metrics.placed.inc({ venue, outcome: 'unknown' });
      this.#logger.warn(
        { venue, account, clientOrderId, err: errorText(err) },
        'order placement outcome unknown; resolving with the venue',
      );
      this.#track(this.#resolvePlacement(port, order, this.#nowMs()));
      return { order: snapshotOf(order), replayed: false };
    }
    const reason =
      err instanceof VenueRejectedError
        ? `${err.reason}: ${err.venueMessage ?? err.message}`
        : err instanceof PerpmeshError
          ? `${err.code.toLowerCase()}: ${err.message}`
          : errorText(err);
    await this.#apply(order, { kind: 'rejected', reason, tsEventMs: this.#nowMs() }, { publish: true });
    this.#metrics.placed.inc({ venue, outcome: 'rejected' });
    return { order: snapshotOf(order), replayed: false };
  }

  /** Asks the venue about an order whose placement outcome is unknown, until it knows. */
  async #resolvePlacement(port: VenuePort, order: TrackedOrder, sinceMs: EpochMs): Promise<void> {
    if (this.#resolving.has(order)) return;
    this.#resolving.add(order);
    try {
      await this.#resolvePlacementLoop(port, order, sinceMs);
    } finally {
      this.#resolving.delete(order);
    }
  }

  async #resolvePlacementLoop(port: VenuePort, order: TrackedOrder, sinceMs: EpochMs): Promise<void> {
    const { instrument, clientOrderId, venue } = order.state;
    let delay = this.#options.resolveInitialDelayMs;
    while (!this.#stop.signal.aborted && order.state.status === 'submitted') {
      await this.#sleep(delay);
      delay = Math.min(delay * 2, this.#options.resolveMaxDelayMs);
      if (this.#stop.signal.aborted || order.state.status !== 'submitted') return;
      let venueOrder: VenueOrder | undefined;
      try {
        venueOrder = await fetchVenueOrder(port, { instrument, clientOrderId });
      } catch (err) {
        this.#logger.debug(
          { venue, clientOrderId, err: errorText(err) },
          'fetchOrder failed; will ask again',
        );
        continue;
      }
      const acct = this.#accountOf(order);
      if (venueOrder) {
        await this.#applyVenueOrder(acct, order, venueOrder);
        if (acct && venueOrder.filled.gt(order.state.filled))
          await this.#syncFills(acct, order.state.createdAtMs);
        return;
      }
      const elapsedMs = this.#nowMs() - sinceMs;
      if (elapsedMs >= this.#options.notFoundAfterMs) {
        await this.#apply(
          order,
          {
            kind: 'rejected',
            reason: `not found at venue after ${elapsedMs} ms: the placement's outcome was unknown and ${venue} has no such order; it was not resent`,
            tsEventMs: this.#nowMs(),
          },
          { publish: true },
        );
        return;
      }
    }
  }

  // ---- CancelOrder / CancelAllOrders ----------------------------------------------------------------

  /** `correlationId`: what asked for the cancel (a decision's envelope id), for the cancel's events. */
  async cancelOrder(locator: OrderLocator, correlationId = ''): Promise<OrderView> {
    const { acct } = this.#portFor(locator.venue, locator.account);
    requireOrderId(locator);
    if (locator.instrument) this.#market(locator.venue, locator.instrument);
    const order = this.#keptOrder(locator);
    if (!order) throw notKeptError(locator);
    if (isOrderTerminal(order.state.status)) return snapshotOf(order);
    const close = this.#nonceKeys.enter(acct.port);
    try {
      await this.#cancelOne(acct, order, correlationId);
    } finally {
      close();
    }
    return snapshotOf(order);
  }

  /**
   * CancelOrder's answer on the wire: `cancelOrder`, except that a finished order gone from the
   * table is answered as it ended (its last view on the log, `lookUpOrder`), as a finished order
   * still kept is, instead of NOT_FOUND. Nothing is sent for it.
   */
  async cancelOrderAnswer(locator: OrderLocator, correlationId = ''): Promise<Order> {
    try {
      return orderToProto(await this.cancelOrder(locator, correlationId));
    } catch (err) {
      if (!(err instanceof OrderNotFoundError)) throw err;
      const { port } = this.#portFor(locator.venue, locator.account);
      const logged = await this.#loggedOrder(locator, port).catch((lookUpErr: unknown) => {
        if (lookUpErr instanceof OrderNotFoundError) return undefined;
        throw lookUpErr;
      });
      if (logged && isFinishedOnTheWire(logged)) return logged;
      throw err;
    }
  }

  async cancelAllOrders(filter: {
    venue: VenueId;
    account: AccountId;
    instrument?: InstrumentId;
    /** What asked for the cancel (a decision's envelope id), for the cancels' events. */
    correlationId?: string;
  }): Promise<OrderView[]> {
    const { port, acct } = this.#portFor(filter.venue, filter.account);
    if (filter.instrument) this.#market(filter.venue, filter.instrument);
    const close = this.#nonceKeys.enter(port);
    try {
      return await this.#cancelAll(port, acct, filter);
    } finally {
      close();
    }
  }

  async #cancelAll(
    port: VenuePort,
    acct: AccountRuntime,
    filter: { venue: VenueId; account: AccountId; instrument?: InstrumentId; correlationId?: string },
  ): Promise<OrderView[]> {
    const correlationId = filter.correlationId ?? '';
    const targets = this.#orders.open({
      venue: filter.venue,
      account: filter.account,
      ...(filter.instrument ? { instrument: filter.instrument } : {}),
    });
    if (port.capabilities.cancelAllOrders) {
      await Promise.all(targets.map((o) => this.#requestCancel(o, correlationId)));
      try {
        const canceled = await this.#sender.sign(port, (nonce) =>
          port.cancelAllOrders(filter.instrument, nonce === undefined ? {} : { nonce }),
        );
        for (const venueOrder of canceled) {
          const order = this.#findVenueOrder(filter.venue, filter.account, venueOrder);
          if (order) await this.#applyVenueOrder(acct, order, venueOrder);
        }
      } catch (err) {
        if (!(err instanceof VenueUnknownOutcomeError)) throw err;
        this.#logger.warn(
          { ...filter, err: errorText(err) },
          'cancel-all outcome unknown; checking each order',
        );
      }
    }
    // Without cancel-all, or for what it did not report: one by one.
    await Promise.all(
      targets
        .filter((o) => !isOrderTerminal(o.state.status))
        .map((o) => this.#cancelOne(acct, o, correlationId)),
    );
    return targets.map(snapshotOf);
  }

  /** CANCEL_REQUESTED; a new cancel round remembers who asked (its events' correlation id). */
  #requestCancel(order: TrackedOrder, correlationId: string): Promise<unknown> | undefined {
    if (order.state.status !== 'cancel_requested') order.cancelCorrelationId = correlationId;
    return this.#apply(order, { kind: 'cancel_requested', tsEventMs: this.#nowMs() }, { publish: true });
  }

  async #cancelOne(acct: AccountRuntime, order: TrackedOrder, correlationId: string): Promise<void> {
    const { port } = acct;
    const s = order.state;
    await this.#requestCancel(order, correlationId);
    const ref = orderRefOf(order);
    try {
      const venueOrder = await this.#sender.sign(port, (nonce) =>
        port.cancelOrder(ref, nonce === undefined ? {} : { nonce }),
      );
      await this.#applyVenueOrder(acct, order, venueOrder);
      if (order.state.status === 'cancel_requested' && !['canceled', 'expired'].includes(venueOrder.status)) {
        await this.#cancelRefused(
          order,
          `${port.venue} answered the cancel with status ${venueOrder.status}`,
        );
      }
    } catch (err) {
      if (err instanceof VenueUnknownOutcomeError) {
        this.#track(this.#resolveCancel(acct, order, this.#nowMs()));
        return;
      }
      if (err instanceof VenueOrderNotFoundError || err instanceof VenueRejectedError) {
        // Gone (filled, canceled, never there) or refused: learn the truth from the venue.
        let venueOrder: VenueOrder | undefined;
        try {
          venueOrder = await fetchVenueOrder(port, ref);
        } catch (fetchErr) {
          // No answer is not "no such order": keep asking until the venue's answer settles it.
          this.#logger.warn(
            { venue: port.venue, clientOrderId: s.clientOrderId, err: errorText(fetchErr) },
            'cancel refused and asking the venue about the order failed; resolving with the venue',
          );
          this.#track(this.#resolveCancel(acct, order, this.#nowMs()));
          return;
        }
        if (venueOrder) await this.#applyVenueOrder(acct, order, venueOrder);
        if (order.state.status === 'cancel_requested') await this.#cancelRefused(order, errorText(err));
        return;
      }
      await this.#cancelRefused(order, errorText(err));
      throw err;
    }
  }

  async #cancelRefused(order: TrackedOrder, reason: string): Promise<void> {
    await this.#apply(
      order,
      { kind: 'cancel_rejected', reason, tsEventMs: this.#nowMs() },
      { publish: true },
    );
  }

  /**
   * A cancel whose outcome is unknown: ask until the venue's answer settles it. Refused when
   * the venue, asked for `notFoundAfterMs`, never reported the order ended; a failed question
   * is asked again and never counts as an answer.
   */
  async #resolveCancel(acct: AccountRuntime, order: TrackedOrder, sinceMs: EpochMs): Promise<void> {
    const s = order.state;
    let delay = this.#options.resolveInitialDelayMs;
    while (!this.#stop.signal.aborted && order.state.status === 'cancel_requested') {
      await this.#sleep(delay);
      delay = Math.min(delay * 2, this.#options.resolveMaxDelayMs);
      if (this.#stop.signal.aborted || order.state.status !== 'cancel_requested') return;
      let venueOrder: VenueOrder | undefined;
      try {
        venueOrder = await fetchVenueOrder(acct.port, orderRefOf(order));
      } catch (err) {
        this.#logger.debug(
          { venue: s.venue, clientOrderId: s.clientOrderId, err: errorText(err) },
          'fetchOrder failed; will ask again',
        );
        continue;
      }
      if (venueOrder) await this.#applyVenueOrder(acct, order, venueOrder);
      if (order.state.status !== 'cancel_requested') return;
      if (this.#nowMs() - sinceMs >= this.#options.notFoundAfterMs) {
        await this.#cancelRefused(order, 'cancel outcome unknown and the venue still reports the order open');
        return;
      }
    }
  }

  // ---- StreamOrderEvents -----------------------------------------------------------------------------

  /** Exec events from now on, filtered by venue / account; ends when `signal` aborts. */
  async *streamOrderEvents(filter: OrderFilter, signal: AbortSignal): AsyncGenerator<ExecStreamItem> {
    if (filter.venue && !this.#venues.has(filter.venue)) {
      throw new ValidationError('venue', `unknown venue ${JSON.stringify(filter.venue)}`);
    }
    if (
      filter.account &&
      !this.#venues
        .all()
        .some((p) => p.account === filter.account && (!filter.venue || p.venue === filter.venue))
    ) {
      throw new ValidationError('account', `unknown account ${JSON.stringify(filter.account)}`);
    }
    const queue: ExecStreamItem[] = [];
    let wake: (() => void) | undefined;
    let overflow = false;
    const handle = await this.#log.tail(execFilter(this.#subjects), { from: 'new' }, async (msg) => {
      const item = execStreamItemOf(msg.data, filter);
      if (!item) return;
      if (queue.length >= this.#options.streamBufferLimit) overflow = true;
      else queue.push(item);
      wake?.();
    });
    const onAbort = () => wake?.();
    signal.addEventListener('abort', onAbort);
    this.#stop.signal.addEventListener('abort', onAbort);
    this.#openStreams += 1;
    try {
      while (!signal.aborted && !this.#stop.signal.aborted) {
        const next = queue.shift();
        if (next) {
          yield next;
          continue;
        }
        if (overflow) {
          throw new PerpmeshError(
            'RESOURCE_EXHAUSTED',
            `the client fell ${this.#options.streamBufferLimit} events behind; reconnect and catch up with GetOrder`,
          );
        }
        await new Promise<void>((resolve) => {
          wake = resolve;
        });
        wake = undefined;
      }
    } finally {
      this.#openStreams -= 1;
      signal.removeEventListener('abort', onAbort);
      this.#stop.signal.removeEventListener('abort', onAbort);
      await handle.stop().catch(() => undefined);
    }
  }

  // ---- applying facts ---------------------------------------------------------------------------------

  /**
   * Folds one event into the order (venue-reports.ts `transitionOrder`); publishes what
   * changed when `publish`. Resolves once published (or queued for retry). An illegal move
   * is logged and counted, never thrown: venues report the same order over racing channels
   * and a bad report must not stop us.
   */
  #apply(
    order: TrackedOrder,
    event: OrderEvent,
    opts: { publish: boolean; fill?: VenueFill },
  ): Promise<unknown> | undefined {
    const transition = transitionOrder(order, event, {
      fill: opts.fill,
      ctx: opts.publish ? this.#ctx() : undefined,
    });
    if (transition.kind === 'illegal') {
      const prev = order.state;
      this.#metrics.drift.inc({ venue: prev.venue, kind: transition.error.code.toLowerCase() });
      this.#logger.warn(
        {
          venue: prev.venue,
          account: prev.account,
          clientOrderId: prev.clientOrderId,
          err: transition.error.message,
        },
        'order report does not fit the order state; ignored',
      );
      return undefined;
    }
    if (transition.kind === 'unchanged') return undefined;
    order.state = transition.order.state;
    order.cancelRequests = transition.order.cancelRequests;
    order.feeCurrency = transition.order.feeCurrency;
    this.#orders.changed(order);
    return transition.envelopes.length > 0 ? this.#publisher.publish(order, transition.envelopes) : undefined;
  }

  /** A venue's view of one of our orders (REST answer, user stream, fetch) → the events it implies. */
  async #applyVenueOrder(
    acct: AccountRuntime | undefined,
    order: TrackedOrder,
    venueOrder: VenueOrder,
  ): Promise<void> {
    const hint = venueOrderIdHintOf(order, venueOrder);
    if (hint !== undefined) {
      order.venueOrderIdHint = hint;
      this.#orders.changed(order);
    }
    const pending = orderEventsOfVenueOrder(venueOrder).map((event) =>
      this.#apply(order, event, { publish: true }),
    );
    if (acct && venueIsAheadOnFills(order.state, venueOrder))
      this.#scheduleFillCatchUp(acct, order.state.createdAtMs);
    await Promise.all(pending);
  }

  #applyVenueFill(order: TrackedOrder, fill: VenueFill, publish: boolean): Promise<unknown> | undefined {
    return this.#apply(order, orderEventOfVenueFill(fill), { publish, fill });
  }

  #applyReport(acct: AccountRuntime, order: TrackedOrder, report: VenueReport): Promise<unknown> | undefined {
    return report.kind === 'order'
      ? this.#applyVenueOrder(acct, order, report.order)
      : this.#applyVenueFill(order, report.fill, true);
  }

  #findVenueOrder(
    venue: VenueId,
    account: AccountId,
    ids: { clientOrderId?: string; venueOrderId?: string },
  ) {
    return this.#orders.find(venue, account, ids);
  }

  // ---- user streams -------------------------------------------------------------------------------------

  #onUserEvent(acct: AccountRuntime, event: UserStreamEvent): void {
    const report = venueReportOf(event);
    if (!report) return; // balances, positions and funding payments are the account service's
    if (report.kind === 'fill' && isVenueMadeFill(report.fill)) {
      this.#publishVenueMadeFill(acct, report.fill);
      return;
    }
    const { venue, account } = acct.port;
    const target = reportTarget(reportIds(report), (ids) => this.#findVenueOrder(venue, account, ids));
    if (target.kind === 'order') this.#track(this.#applyReport(acct, target.order, report));
    else if (target.kind === 'hold')
      this.#holdOrphan(venue, account, target.clientOrderId, (o) => this.#applyReport(acct, o, report));
  }

  /**
   * A liquidation / ADL fill: exec.fill with its origin, so the account projection moves the
   * position as the venue did. Its fact id makes the stream's and fetchFills' copies one.
   */
  #publishVenueMadeFill(acct: AccountRuntime, fill: VenueFill): void {
    const { venue, account } = acct.port;
    this.#logger.warn(
      { venue, account, instrument: fill.instrument, origin: fill.origin, tradeId: fill.tradeId },
      'venue-made fill (liquidation / auto-deleveraging) on the account',
    );
    this.#track(
      this.#publisher.publish(undefined, [venueMadeFillEnvelope(venue, account, fill, this.#ctx())]),
    );
  }

  /** An event of an order we do not know yet (another replica's, not on our log tail yet): hold it briefly. */
  #holdOrphan(
    venue: VenueId,
    account: AccountId,
    clientOrderId: string,
    apply: (order: TrackedOrder) => Promise<unknown> | undefined,
  ): void {
    if (!clientOrderId) return; // venue-made (liquidation): not an order of ours
    const key = orderKey(venue, account, clientOrderId);
    const list = this.#orphans.get(key) ?? [];
    list.push({ atMs: this.#nowMs(), apply });
    this.#orphans.set(key, list);
  }

  #flushOrphans(order: TrackedOrder): void {
    const { venue, account, clientOrderId } = order.state;
    const key = orderKey(venue, account, clientOrderId);
    const list = this.#orphans.get(key);
    if (!list) return;
    this.#orphans.delete(key);
    for (const orphan of list) this.#track(orphan.apply(order));
  }

  // ---- the log ----------------------------------------------------------------------------------------------

  /** Rebuilds the order table from the EXEC lookback; returns the last sequence read. */
  async #rebuild(): Promise<number> {
    const fromTimeMs = Math.max(0, this.#nowMs() - this.#options.rebuildLookbackMs);
    // Orders whose events all came before the read are not in the table. Stored times are the
    // log's clock, a claim's `at` its placer's: `pendingClaimTakeoverMs` of margin for the skew.
    this.#orders.forgetThrough(fromTimeMs + this.#options.pendingClaimTakeoverMs);
    const { lastSeq, events, droppedBeforeMs } = await readExecLookback(
      this.#log,
      this.#options.execStream,
      fromTimeMs,
      (data) => this.#onLogMessage(data),
    );
    // The log's own limits dropped events inside the window (its max age below the lookback).
    if (droppedBeforeMs !== undefined) {
      this.#orders.forgetThrough(droppedBeforeMs + this.#options.pendingClaimTakeoverMs);
    }
    const caughtUp = this.#publishOrderEventsTheLogMisses();
    const open = this.#orders.open().length;
    this.#health.ready('execution/order-state', {
      events,
      orders: this.#orders.size,
      open,
      lastSeq,
      caughtUp,
    });
    this.#logger.info(
      { events, orders: this.#orders.size, open, lastSeq },
      'orders rebuilt from the event log',
    );
    return lastSeq;
  }

  /** After a rebuild: publishes the order events a crash kept off the log (exec-log.ts `ordersBehindTheLog`). */
  #publishOrderEventsTheLogMisses(): number {
    const behind = ordersBehindTheLog(this.#orders.all());
    for (const order of behind) {
      this.#logger.warn(
        {
          venue: order.state.venue,
          account: order.state.account,
          clientOrderId: order.state.clientOrderId,
          logged: order.logged?.status,
          status: order.state.status,
        },
        'order event missing from the log after a restart; publishing it',
      );
      this.#publisher.publish(order, [
        orderEventEnvelope(snapshotOf(order), {
          ...this.#ctx(),
          tsEventMs: order.state.updatedAtMs,
          reason: order.state.reason ?? '',
          cancelRound: false,
        }),
      ]);
      order.logged = { status: order.state.status, filled: order.state.filled };
    }
    return behind.length;
  }

  #onLogMessage(data: Uint8Array): void {
    let envelope: Envelope;
    try {
      envelope = decodeEnvelope(data);
    } catch (err) {
      this.#logger.warn({ err: errorText(err) }, 'undecodable exec event skipped');
      return;
    }
    if (this.#publisher.takeOwn(envelope.id)) return;
    try {
      foldExecEnvelope(this.#foldTarget, envelope);
    } catch (err) {
      this.#logger.warn(
        { err: errorText(err), eventId: envelope.id },
        'exec event could not be applied; skipped',
      );
    }
  }

  // ---- accounts: markets, user stream, reconciliation ------------------------------------------------------

  async #bringUp(acct: AccountRuntime): Promise<void> {
    const { venue, account } = acct.port;
    try {
      await this.#bringUpOnce(acct);
    } catch (err) {
      this.#bringUpFailed(acct, err);
      this.#logger.warn({ venue, account, err: errorText(err) }, 'account bring-up failed; retrying');
      this.#track(this.#retryBringUp(acct));
    }
  }

  /** Markets, account settings, user stream, reconciliation, then the dead-man switch. */
  async #bringUpOnce(acct: AccountRuntime): Promise<void> {
    await this.#loadMarkets(acct.port);
    await this.#applyAccountSettings(acct);
    await this.#subscribeUserStream(acct);
    await this.#reconcile(acct);
    // A strict-nonce key gained while the steps above ran (`nonceKeyGained` leaves an account
    // not reconciled yet to this step): its settings are set now.
    await this.#applyAccountSettings(acct);
    await this.#armDeadManSwitch(acct);
  }

  /**
   * This replica now signs with a strict-nonce key (it took the key over from a dead or
   * departing owner): the account settings from config (leverage, margin mode), which only a
   * key's owner sets, are set from here too, as a starting owner does (again when this replica
   * had the key before); a failure is retried while the key stays here. An account still
   * being brought up sets them in its bring-up.
   */
  nonceKeyGained(port: Pick<VenuePort, 'venue' | 'account'>): void {
    const acct = this.#accounts.get(accountKey(port.venue, port.account));
    if (acct === undefined || !acct.reconciled || this.#stop.signal.aborted) return;
    // Set again even if this replica set them once: the owners since may run another config.
    acct.settingsApplied = false;
    this.#track(this.#applySettingsAfterTakeover(acct));
  }

  async #applySettingsAfterTakeover(acct: AccountRuntime): Promise<void> {
    const { venue, account } = acct.port;
    let delay = this.#options.reconcileRetryDelayMs;
    while (!this.#stop.signal.aborted && !acct.settingsApplied && this.#nonceKeys.signsHere(acct.port)) {
      try {
        await this.#applyAccountSettings(acct);
        return;
      } catch (err) {
        this.#logger.warn(
          { venue, account, err: errorText(err) },
          'account settings after a nonce key takeover failed; retrying',
        );
        await this.#sleep(delay);
        delay = Math.min(delay * 2, 60_000);
      }
    }
  }

  /**
   * Leverage and margin mode from config, set once: a failure keeps the account not ready (the
   * caller retries, setting them all again); once set, a retry of a later step does not repeat them.
   */
  #applyAccountSettings(acct: AccountRuntime): Promise<void> {
    acct.settingsApplying ??= this.#setAccountSettings(acct).finally(() => {
      acct.settingsApplying = undefined;
    });
    return acct.settingsApplying;
  }

  async #setAccountSettings(acct: AccountRuntime): Promise<void> {
    const { port } = acct;
    if (acct.settingsApplied) return;
    // A strict-nonce key signs on its owner replica only, which sets them (venue settings
    // persist); a replica taking the key over sets them then (`nonceKeyGained`).
    if (!this.#nonceKeys.signsHere(port)) return;
    const settings = accountSettingsFor(this.#accountSettings, port.venue, port.account, port.capabilities);
    for (const s of settings) {
      const { marginMode, leverage } = s;
      if (marginMode !== undefined) {
        const setMarginMode = port.setMarginMode?.bind(port);
        if (!setMarginMode) throw new ValidationError('marginMode', `${port.venue} has no setMarginMode`);
        await this.#sender.sign(port, (nonce) =>
          setMarginMode(s.instrument, marginMode, nonce === undefined ? {} : { nonce }),
        );
      }
      if (leverage !== undefined) {
        const setLeverage = port.setLeverage?.bind(port);
        if (!setLeverage) throw new ValidationError('leverage', `${port.venue} has no setLeverage`);
        await this.#sender.sign(port, (nonce) =>
          setLeverage(s.instrument, leverage, nonce === undefined ? {} : { nonce }),
        );
      }
      this.#logger.info(
        {
          venue: port.venue,
          account: port.account,
          instrument: s.instrument,
          leverage: s.leverage?.toFixed(),
          marginMode: s.marginMode,
        },
        'account setting applied',
      );
    }
    acct.settingsApplied = true;
  }

  /**
   * Arms the venue's dead-man switch and refreshes it every `refreshMs`. A failed refresh makes
   * the switch's component not ready (orders may be canceled by the venue soon); the next
   * refresh tries again. Not refreshed while HALTED.
   */
  async #armDeadManSwitch(acct: AccountRuntime): Promise<void> {
    const { port } = acct;
    const plan = deadManSwitchPlan(this.#deadManSwitch, port.capabilities);
    if (!plan || !port.scheduleCancelAll || acct.deadManTimer || this.#stop.signal.aborted) return;
    const component = `${port.venue}/${port.account}/dead-man-switch`;
    const schedule = port.scheduleCancelAll.bind(port);
    const refresh = async () => {
      if (this.#halted || acct.killed || this.#stop.signal.aborted) return;
      if (!this.#nonceKeys.signsHere(port)) {
        // A strict-nonce key: its owner replica refreshes the switch (this one takes over with the key).
        this.#health.ready(component, { afterMs: plan.afterMs, refreshedBy: 'the API key owner replica' });
        return;
      }
      try {
        await this.#sender.sign(port, (nonce) =>
          schedule(plan.afterMs, nonce === undefined ? {} : { nonce }),
        );
        this.#health.ready(component, { afterMs: plan.afterMs, refreshMs: plan.refreshMs });
      } catch (err) {
        this.#health.notReady(
          component,
          `${port.venue}/${port.account}: could not refresh the venue's scheduled cancel-all (${plan.afterMs} ms): ${errorText(err)}; the venue may cancel the account's orders`,
        );
      }
    };
    acct.deadManRefresh = refresh;
    await refresh();
    acct.deadManTimer = setInterval(() => this.#track(refresh()), plan.refreshMs);
    acct.deadManTimer.unref();
  }

  /**
   * The kill switch. HALTED: stop refreshing the venues' dead-man switches and cancel every
   * open order of every account now (the venue switch, still armed, catches what a lost
   * cancel missed). Any other state: refreshing resumes at the next period.
   */
  async setHalted(halted: boolean): Promise<void> {
    this.#halted = halted;
    if (!halted) return;
    this.#logger.warn({}, 'trading HALTED: canceling every open order');
    // A strict-nonce key's orders are canceled by its owner replica (it follows the same switch).
    const accounts = [...this.#accounts.values()].filter((acct) => this.#nonceKeys.signsHere(acct.port));
    await Promise.all(
      accounts.map((acct) =>
        this.cancelAllOrders({ venue: acct.port.venue, account: acct.port.account }).catch((err) =>
          this.#logger.error(
            { venue: acct.port.venue, account: acct.port.account, err: errorText(err) },
            'cancel-all on HALTED failed; the venue dead-man switch (if armed) remains',
          ),
        ),
      ),
    );
  }

  /** A strategy decision from the bus: a trading_state one moves that strategy's kill switch here. */
  async #onStrategyDecision(data: Uint8Array): Promise<void> {
    let envelope: Envelope;
    try {
      envelope = decodeEnvelope(data);
    } catch (err) {
      this.#logger.warn({ err: errorText(err) }, 'undecodable strategy decision ignored');
      return;
    }
    if (envelope.payload?.$case !== 'strategyDecision') return;
    const change = tradingStateOfDecision(envelope.payload.value);
    if (change) await this.setStrategyTradingState(change.strategyId, change.state);
  }

  /**
   * Follows one strategy's kill switch. HALTED or REDUCING: its new orders are refused
   * (`StrategyHaltedError`), reduce-only ones pass. An account whose every strategy (those
   * with orders here) is HALTED is killed at the venue: every open order canceled now and its
   * dead-man switch no longer refreshed, so the venue's deadline catches a cancel that was
   * lost. A resume of any of them re-arms the switch at once.
   */
  async setStrategyTradingState(strategyId: string, state: StrategyTradingState): Promise<void> {
    if (!this.#strategyStates.set(strategyId, state)) return;
    this.#logger.warn({ strategyId, state }, `strategy ${strategyId} is ${state.toUpperCase()} at execution`);
    await Promise.all([...this.#accounts.values()].map((acct) => this.#reviewKill(acct)));
  }

  /**
   * Kills or revives one account: killed when every strategy with orders here (plus `also`)
   * is HALTED (cancel-all now, the switch no longer refreshed); revived (the switch refreshed
   * at once) when one of them is not.
   */
  async #reviewKill(acct: AccountRuntime, also: readonly string[] = []): Promise<void> {
    const { venue, account } = acct.port;
    const strategies = new Set(also);
    for (const o of this.#orders.all({ venue, account })) {
      const id = strategyOfClientOrderId(o.state.clientOrderId);
      if (id !== undefined) strategies.add(id);
    }
    const killed = this.#strategyStates.allHalted(strategies);
    if (killed === acct.killed) return;
    acct.killed = killed;
    if (!killed) {
      if (acct.deadManRefresh) await acct.deadManRefresh();
      return;
    }
    // The key's owner replica cancels: it follows the same decisions.
    if (!this.#nonceKeys.signsHere(acct.port)) return;
    await this.cancelAllOrders({ venue, account }).catch((err) =>
      this.#logger.error(
        { venue, account, err: errorText(err) },
        'cancel-all for HALTED strategies failed; the venue dead-man switch (if armed) remains',
      ),
    );
  }

  async #retryBringUp(acct: AccountRuntime): Promise<void> {
    let delay = this.#options.reconcileRetryDelayMs;
    while (!this.#stop.signal.aborted && !acct.reconciled) {
      await this.#sleep(delay);
      if (this.#stop.signal.aborted) return;
      delay = Math.min(delay * 2, 60_000);
      try {
        await this.#bringUpOnce(acct);
      } catch (err) {
        this.#bringUpFailed(acct, err);
      }
    }
  }

  /** A failed bring-up keeps the account's reconciliation component not ready, naming why. */
  #bringUpFailed(acct: AccountRuntime, err: unknown): void {
    const { venue, account } = acct.port;
    this.#health.notReady(
      `${venue}/${account}/reconciliation`,
      `${venue}/${account}: could not reconcile with the venue: ${errorText(err)}; retrying`,
    );
  }

  async #subscribeUserStream(acct: AccountRuntime): Promise<void> {
    if (acct.subscription) return;
    acct.subscription = await acct.port.watchUserStream((event) => this.#onUserEvent(acct, event));
    this.#mirrorUserStream(acct);
  }

  /** The port's own user-stream readiness, as `{venue}/{account}/execution_user_stream`. */
  #mirrorUserStream(acct: AccountRuntime): boolean | undefined {
    const name = `${acct.port.venue}/${acct.port.account}/execution_user_stream`;
    const component = acct.port.readiness().find((c) => c.component === VENUE_COMPONENT.userStream);
    const ready = component ? component.ready : acct.subscription !== undefined;
    if (ready) this.#health.ready(name);
    else
      this.#health.notReady(
        name,
        component?.reason || `${acct.port.venue}/${acct.port.account}: user stream not connected`,
      );
    return ready;
  }

  /** The venue's markets, loaded once per venue (a failed load is tried again by the next bring-up). */
  async #loadMarkets(port: VenuePort): Promise<void> {
    if (this.#markets.has(port.venue)) return;
    let loading = this.#marketsLoading.get(port.venue);
    if (!loading) {
      loading = port
        .loadMarkets()
        .then((markets) => {
          this.#markets.set(port.venue, new Map(markets.map((m) => [m.instrument, m])));
        })
        .finally(() => this.#marketsLoading.delete(port.venue));
      this.#marketsLoading.set(port.venue, loading);
    }
    await loading;
  }

  /**
   * Brings our orders of one account in line with the venue: its open orders, each order we
   * think open, and its recent fills. What we lacked is published (fact ids make a fact
   * already on the log a no-op). Concurrent calls share one run.
   */
  #reconcile(acct: AccountRuntime): Promise<void> {
    acct.reconciling ??= this.#reconcileOnce(acct).finally(() => {
      acct.reconciling = undefined;
    });
    return acct.reconciling;
  }

  async #reconcileOnce(acct: AccountRuntime): Promise<void> {
    const { port } = acct;
    const { venue, account } = port;
    const component = `${venue}/${account}/reconciliation`;
    if (!acct.reconciled)
      this.#health.notReady(component, `${venue}/${account}: reconciling orders and fills with the venue`);
    const { openAtVenue, unknownAtVenue } = await reconcileOrders<TrackedOrder>({
      port,
      find: (ids) => this.#findVenueOrder(venue, account, ids),
      localOpen: () => this.#orders.open({ venue, account }),
      applyVenueOrder: (order, venueOrder) => this.#applyVenueOrder(acct, order, venueOrder),
      resolvePlacement: (order) => {
        this.#track(this.#settleUnhandled(port, order, false));
      },
      drift: (kind, detail) => {
        this.#metrics.drift.inc({ venue, kind });
        this.#logger.warn(
          { venue, account, ...detail },
          kind === 'unknown_venue_order'
            ? 'open order at the venue that execution has no record of'
            : 'order open in our state is unknown to the venue',
        );
      },
    });
    await this.#syncFills(acct, Math.max(0, this.#nowMs() - this.#options.fillReconcileLookbackMs));
    acct.reconciled = true;
    this.#health.ready(component, { openAtVenue, unknownAtVenue });
    this.#logger.info({ venue, account, openAtVenue }, 'account reconciled');
  }

  /** Applies the venue's fills since `sinceMs` to our orders (known trade ids change nothing). */
  async #syncFills(acct: AccountRuntime, sinceMs: EpochMs): Promise<void> {
    const { venue, account } = acct.port;
    const fills = await acct.port.fetchFills(sinceMs);
    const pending: (Promise<unknown> | undefined)[] = [];
    for (const fill of fills) {
      if (isVenueMadeFill(fill)) {
        this.#publishVenueMadeFill(acct, fill);
        continue;
      }
      const order = this.#findVenueOrder(venue, account, fill);
      if (order) pending.push(this.#applyVenueFill(order, fill, true));
    }
    await Promise.all(pending);
  }

  /** A snapshot said more was filled than we know: fetch the fills soon, unless the user stream brings them. */
  #scheduleFillCatchUp(acct: AccountRuntime, sinceMs: EpochMs): void {
    if (this.#stop.signal.aborted) return;
    if (acct.fillCatchUp) {
      acct.fillCatchUp.sinceMs = Math.min(acct.fillCatchUp.sinceMs, sinceMs);
      return;
    }
    const entry = {
      sinceMs,
      timer: setTimeout(() => {
        acct.fillCatchUp = undefined;
        this.#track(
          this.#syncFills(acct, entry.sinceMs).catch((err) =>
            this.#logger.warn({ venue: acct.port.venue, err: errorText(err) }, 'fill catch-up failed'),
          ),
        );
      }, this.#options.fillCatchUpDelayMs),
    };
    entry.timer.unref();
    acct.fillCatchUp = entry;
  }

  #housekeep(): void {
    if (this.#stop.signal.aborted) return;
    this.#track(this.#publisher.retryUnpublished());
    const now = this.#nowMs();
    this.#orders.pruneTerminal(now - this.#options.terminalOrderRetentionMs, {
      max: this.#options.maxTerminalOrders,
      changedBeforeMs: now - this.#options.terminalOrderMinRetentionMs,
    });
    for (const [key, list] of this.#orphans) {
      const kept = list.filter((o) => now - o.atMs < this.#options.orphanEventTtlMs);
      if (kept.length === 0) this.#orphans.delete(key);
      else this.#orphans.set(key, kept);
    }
    this.#publisher.forgetOwnIdsBeyond(100_000);
    // Orders another replica (or this process before a crash) left in flight: settle them.
    for (const order of this.#orders.open()) this.#resolveStale(order, false);
    // A user stream that came back may have missed events: reconcile the account.
    for (const acct of this.#accounts.values()) {
      if (!acct.subscription) continue;
      const ready = this.#mirrorUserStream(acct);
      if (ready && acct.userStreamReady === false && acct.reconciled) {
        this.#track(
          this.#reconcile(acct).catch((err) =>
            this.#logger.warn({ err: errorText(err) }, 'reconcile failed'),
          ),
        );
      }
      acct.userStreamReady = ready;
    }
  }

  // ---- helpers ------------------------------------------------------------------------------------------------

  #portFor(venue: VenueId, account: AccountId): { port: VenuePort; acct: AccountRuntime } {
    const port = this.#venues.port(venue, account);
    const acct = this.#accounts.get(accountKey(venue, account));
    if (!acct) {
      throw new ValidationError('account', `${venue}/${account} is not traded by this execution service`);
    }
    return { port, acct };
  }

  #accountOf(order: TrackedOrder): AccountRuntime | undefined {
    return this.#accounts.get(accountKey(order.state.venue, order.state.account));
  }

  #market(venue: VenueId, instrument: InstrumentId): VenueMarket {
    const markets = this.#markets.get(venue);
    if (!markets) throw new ExecutionUnavailableError(`markets of ${venue} are not loaded yet`);
    const market = markets.get(instrument);
    if (!market) {
      throw new ValidationError(
        'instrument',
        `${JSON.stringify(instrument)} is not listed on ${venue} (listed: ${[...markets.keys()].join(', ')})`,
      );
    }
    return market;
  }

  #ctx() {
    return { source: this.#source, tsInitMs: this.#nowMs() };
  }

  #sleep(ms: number): Promise<void> {
    // Not Promise.race: a reaction per call would stay on #stopped until the engine stops.
    return raceStop(this.#sleepDep(ms), this.#stopped);
  }

  #track<T>(promise: Promise<T> | undefined): Promise<T> | undefined {
    if (!promise) return undefined;
    const tracked = promise.catch((err) => {
      this.#logger.error({ err: errorText(err) }, 'background execution task failed');
      return undefined as T;
    });
    this.#inflight.add(tracked);
    void tracked.finally(() => this.#inflight.delete(tracked));
    return tracked;
  }
}

/** A locator must name the order by one of its ids. */
function requireOrderId(locator: OrderLocator): void {
  if (!locator.clientOrderId && !locator.venueOrderId) {
    throw new ValidationError('order_id', 'client_order_id or venue_order_id is required');
  }
}

/** NOT_FOUND for an order not in the table. */
function notKeptError(locator: OrderLocator): OrderNotFoundError {
  return new OrderNotFoundError(
    `no order ${describeLocator(locator)} known on ${locator.venue}/${locator.account}`,
  );
}

function describeLocator(locator: OrderLocator): string {
  return locator.clientOrderId
    ? `client_order_id ${locator.clientOrderId}`
    : `venue_order_id ${locator.venueOrderId}`;
}
