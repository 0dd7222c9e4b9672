/**
 * One strategy instance at run time: the lease, the timers and the tails around its
 * stepper (stepper.ts: state + applied sequences + outbox + compare-and-set save).
 *
 * One active instance per strategy id: the lease loop is @perpmesh/state's `ActiveStandby`
 * on `idem:strategy-lease:<strategyId>`. Holding the lease starts the instance
 * (`becomeActive`); losing it, or a failure, stops it (`becomeStandby`); a standby names the
 * holder in its status and readiness and retries every `retryIntervalMs`.
 *
 * Life: standby until it holds the strategy's lease → load the persisted state (or a fresh
 * one) → resend what a crash may have left unsent (its outbox) → `markets`, balances and a
 * `start` input (own open orders from ListOpenOrders, filtered by `${strategyId}_`, and
 * positions from the account service) → live inputs: MD (books, funding; from now), EXEC
 * and ACCT (from the sequences its state has applied, so a restart resumes exactly),
 * ticks, balance polls → on stop: `operator cancel_all` (open orders canceled, positions
 * kept), save, release the lease. A failure while running (a failed save, a closed tail)
 * stops the instance and gives the lease up; it (or another instance) starts again at the
 * next attempt. A lost lease stops it without a last save: whoever holds it now writes.
 *
 * Every input goes through ONE queue into the stepper: a step that decides something is
 * saved (compare-and-set: a stale instance fails there, the second fence after the lease)
 * before its decisions are published and its commands sent. Steps that decide nothing are
 * saved at the next tick.
 */

import type { EventLog, StoredMessage, TailHandle, TailOptions } from '@perpmesh/bus';
import {
  decodeEnvelope,
  type Envelope,
  publishEnvelope,
  type StrategyDecision,
  type Subjects,
} from '@perpmesh/contracts';
import {
  DeadlineExceededError,
  type EpochMs,
  errorText,
  PerpmeshError,
  sleep,
  withTimeout,
} from '@perpmesh/core';
import type { HealthRegistry, Logger } from '@perpmesh/runtime';
import {
  ActiveStandby,
  type ActiveStandbyStatus,
  DEFAULT_STOP_STORE_WAIT_MS,
  type StandbyTransition,
  type StateStore,
} from '@perpmesh/state';
import type { AnyStrategyDecider } from '../config.js';
import {
  checkOperatorReason,
  type StepResult,
  type StrategyDecisionRecord,
  type StrategyInput,
} from '../model.js';
import { type AnyStrategyDefinition, lookupStrategy } from '../registry.js';
import { isOwnClientOrderId, openOrders, type WorldState } from '../world.js';
import { STRATEGY_DEFAULTS, type StrategyInstanceSpec, type StrategyRuntimeSettings } from './config.js';
import type { AccountReader, MarketsSource, OrderGateway } from './gateway.js';
import { balanceInput, inputFromEnvelope, positionSnapshot } from './inputs.js';
import { type JournalOrigin, StrategyInputJournal } from './journal.js';
import type { StrategyActivityObserver, StrategyStageObserver } from './metrics.js';
import { decisionToProto, LeaseLostError, projectionName, StrategyStepper } from './stepper.js';

// Moved to stepper.ts with the save they belong to; still exported from here.
export { decisionToProto, LeaseLostError, projectionName };

/** The lease scope of strategy instances (`idem:strategy-lease:<strategyId>`). */
export const STRATEGY_LEASE_SCOPE = 'strategy-lease';

export type RunnerState = 'standby' | 'starting' | 'running' | 'stopping' | 'stopped' | 'failed';

/** The stream names (namespaced) the runner reads with `tail`. */
export interface RunnerStreams {
  readonly exec: string;
  readonly acct: string;
  /** Where the decisions are published: a start reads its recent ones back for ListDecisions. */
  readonly strat?: string;
  /**
   * Where market data is published: a start reads the latest funding readings and books back,
   * so a venue whose funding market data polls (once a minute) does not leave a restarted
   * strategy waiting for the next poll, nor a quiet book for its next change.
   */
  readonly md?: string;
}

/** How far back a start looks for funding readings (market data's own staleness default). */
export const FUNDING_LOOKBACK_MS = 10 * 60_000;

/**
 * How far back a start looks for the newest book of each market. Market data publishes a
 * book when it changes, so a start that only tailed new books waited for each book's next
 * change (seconds on a quiet paper market: most of `make run`'s wait for ready). A minute of
 * md.book bounds the read; a book unchanged for longer is waited for as before.
 */
export const BOOK_LOOKBACK_MS = 60_000;

/** How long a start waits for the latest books or funding read back from the log. */
const READBACK_TIMEOUT_MS = 10_000;

/** How far back (events of the STRAT stream, per decision kept) a start looks for this strategy's decisions. */
const DECISION_LOOKBACK_FACTOR = 10;

export interface RunnerDeps {
  readonly spec: StrategyInstanceSpec;
  readonly decider: AnyStrategyDecider;
  readonly log: EventLog;
  readonly state: StateStore;
  readonly subjects: Subjects;
  readonly streams: RunnerStreams;
  readonly gateway: OrderGateway;
  readonly account: AccountReader;
  readonly markets: MarketsSource;
  readonly health: HealthRegistry;
  readonly logger: Logger;
  readonly nowMs: () => EpochMs;
  readonly source: string;
  /** Lease holder name: unique per process. */
  readonly holder: string;
  readonly settings: StrategyRuntimeSettings;
  /** Told how long each stage of a deciding step took (metrics.ts); none: not measured. */
  readonly onStage?: StrategyStageObserver;
  /** Told every decision once it is made (the alarm webhook); must return at once. */
  readonly onDecision?: (record: StrategyDecisionRecord) => void;
  /** Told of every decision and input (metrics.ts counters); none: not counted. */
  readonly activity?: StrategyActivityObserver;
}

/** What a stop did; `saveError` set when the final save failed (the last steps are not stored). */
export interface RunnerStopResult {
  readonly saved: boolean;
  readonly saveError?: Error;
}

/** While stopping: how often open orders are re-read, and stragglers re-canceled. */
const STOP_POLL_MS = 100;
const STOP_RECANCEL_MS = 1_000;
/** While stopping: the longest wait for the state store per step (the cancel step, the final save). */
const STOP_STORE_WAIT_MS = DEFAULT_STOP_STORE_WAIT_MS;
/**
 * Once the cancel step did not finish in time: how long each later store step of the stop
 * waits (a skipped final save costs nothing but a re-read of the log at the next start).
 */
const STUCK_STORE_WAIT_MS = 500;
const TERMINAL_STATUSES: ReadonlySet<string> = new Set(['filled', 'canceled', 'rejected', 'expired']);

export class StrategyRunner {
  readonly #d: RunnerDeps;
  /** The strategy's lease: starts and stops the instance (becomeActive / becomeStandby). */
  readonly #standby: ActiveStandby;
  readonly #stepper: StrategyStepper;
  readonly #component: string;
  readonly #definition: AnyStrategyDefinition;
  #status: RunnerState = 'standby';
  #reason = 'waiting for the lease';
  #queue: Promise<unknown> = Promise.resolve();
  #tails: TailHandle[] = [];
  #timers: NodeJS.Timeout[] = [];
  #launched = false;
  #stopRequested = false;
  /** A failure while starting: `#start` throws it once it is through. */
  #startFailure: Error | undefined;
  /**
   * The stop's cancel step did not finish within STOP_STORE_WAIT_MS (the store in an outage,
   * or execution slow to take the cancels): later waits of the stop are cut short.
   */
  #cancelStepStuck = false;
  /** What the stop's teardown did (the final save). */
  #stopResult: RunnerStopResult | undefined;
  readonly #journal: StrategyInputJournal;
  /** The newest decisions (published or not), oldest first, for ListDecisions and CloseAll. */
  #recent: StrategyDecision[] = [];
  readonly #inputsSeen = {
    books: new Set<string>(),
    funding: new Set<string>(),
    balances: new Set<string>(),
  };

  constructor(deps: RunnerDeps) {
    this.#d = deps;
    this.#component = `strategy/${deps.spec.id}/started`;
    this.#definition = lookupStrategy(deps.spec.config.kind, 'kind');
    this.#journal = new StrategyInputJournal({
      log: deps.log,
      subjects: deps.subjects,
      strategyId: deps.spec.id,
      config: deps.spec.config,
      dryRun: deps.gateway.dryRun,
      balanceStaleAfterMs: deps.settings.balanceStaleAfterMs,
      logger: deps.logger,
    });
    this.#stepper = new StrategyStepper({
      journal: this.#journal,
      strategyId: deps.spec.id,
      decider: deps.decider,
      store: deps.state,
      publish: (envelope: Envelope) => publishEnvelope(deps.log, envelope, deps.subjects),
      gateway: deps.gateway,
      logger: deps.logger,
      nowMs: deps.nowMs,
      source: deps.source,
      // Not saved = not decided: the instance restarts from the store.
      onSaveFailed: (err) => this.#fail(err),
      ...(deps.onStage ? { onStage: deps.onStage } : {}),
    });
    this.#standby = new ActiveStandby({
      store: deps.state,
      scope: STRATEGY_LEASE_SCOPE,
      name: deps.spec.id,
      holder: deps.holder,
      ttlMs: deps.settings.leaseTtlMs,
      renewIntervalMs: deps.settings.leaseRenewIntervalMs,
      retryIntervalMs: deps.settings.retryIntervalMs,
      nowMs: deps.nowMs,
      log: deps.logger,
      hooks: {
        becomeActive: () => this.#becomeActive(),
        becomeStandby: (transition) => this.#becomeStandby(transition),
        onStatus: (status) => this.#onLeaseStatus(status),
      },
    });
    deps.health.register(this.#component, `${this.#component}: waiting for the lease`);
  }

  get id(): string {
    return this.#d.spec.id;
  }
  get spec(): StrategyInstanceSpec {
    return this.#d.spec;
  }
  get status(): { state: RunnerState; reason: string } {
    return { state: this.#status, reason: this.#status === 'running' ? '' : this.#reason };
  }
  get dryRun(): boolean {
    return this.#d.gateway.dryRun;
  }
  get world(): WorldState {
    return this.#stepper.state.world;
  }
  /** The strategy's own part of the state (the arb book for funding_arb). */
  get strategyState(): unknown {
    return this.#stepper.state.strategy;
  }
  recentDecisions(): StrategyDecision[] {
    return [...this.#recent];
  }

  /** Starts contending for the lease (standby → running, retrying after failures). Returns at once. */
  launch(): void {
    if (this.#launched || this.#stopRequested) return;
    this.#launched = true;
    this.#standby.start().catch((err: unknown) => {
      this.#d.logger.error({ err, strategyId: this.id }, 'strategy lease loop failed');
    });
  }

  /** Resolves once the instance runs (tests); rejects when it failed or stopped first. */
  async whenRunning(timeoutMs = 30_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (this.#status !== 'running') {
      if (this.#status === 'stopped') throw new Error(`strategy ${this.id} stopped`);
      if (Date.now() > deadline) throw new Error(`strategy ${this.id} not running: ${this.#reason}`);
      await sleep(20);
    }
  }

  /** The lease is ours: start the instance. Throwing gives the lease up (ActiveStandby). */
  async #becomeActive(): Promise<void> {
    this.#startFailure = undefined;
    try {
      await this.#start();
    } catch (err) {
      const error = err instanceof Error ? err : new Error(String(err));
      this.#setStatus('failed', `failed: ${error.message}; retrying`);
      this.#d.logger.error({ err: error, strategyId: this.id }, 'strategy instance failed; retrying');
      throw error;
    }
  }

  /**
   * Stop the instance: on stop(), a failure, or a lost lease. The unsaved state is saved
   * unless the lease was lost (another instance may already write; the compare-and-set save
   * would refuse it anyway).
   */
  async #becomeStandby({ reason, stopping, leaseLost }: StandbyTransition): Promise<void> {
    // A failure already set its status; a lost lease stops every input from now.
    if (!stopping && this.#status !== 'failed') this.#setStatus('standby', `standby: ${reason}`);
    const result = await this.#teardown(!leaseLost, stopping);
    if (stopping) this.#stopResult = result;
  }

  /** A standby says who holds the lease; a failed instance keeps saying why until it retries. */
  #onLeaseStatus(status: ActiveStandbyStatus): void {
    if (status.role !== 'standby' || this.#stopRequested) return;
    const other = status.holder;
    if (other !== undefined) {
      this.#setStatus(
        'standby',
        `standby: another instance holds the lease (${other.holder}) until ${new Date(other.expiresAtMs).toISOString()}`,
      );
    } else if (this.#status !== 'failed') {
      this.#setStatus('standby', `standby: ${status.reason}`);
    }
  }

  #setStatus(state: RunnerState, reason: string): void {
    this.#status = state;
    this.#reason = reason;
    if (state === 'running') this.#refreshReadiness();
    else this.#d.health.notReady(this.#component, `${this.#component}: ${reason}`);
  }

  /** Readiness says what inputs are still missing, by name. */
  #refreshReadiness(): void {
    if (this.#status !== 'running') return;
    const missing: string[] = [];
    const w = this.world;
    const need = this.#neededMarkets();
    for (const key of need) {
      if (!w.books[key]) missing.push(`book ${key.replace('|', ' ')}`);
      if (!w.funding[key]) missing.push(`funding ${key.replace('|', ' ')}`);
    }
    for (const a of this.#accounts()) {
      const b = w.balances[`${a.venue}|${a.account}`];
      if (!b) missing.push(`balance ${a.venue}/${a.account}`);
      else if (b.stale) missing.push(`fresh balance ${a.venue}/${a.account} (stale)`);
    }
    const mode = this.dryRun ? 'DRY-RUN' : 'live';
    if (missing.length === 0) this.#d.health.ready(this.#component, { mode });
    else
      this.#d.health.notReady(
        this.#component,
        `${this.#component} (${mode}): waiting for ${missing.join(', ')}`,
      );
  }

  /** (venue, account) pairs the strategy trades on (its registry definition says). */
  #accounts(): Array<{ venue: string; account: string }> {
    return this.#definition.accounts(this.#d.spec.config);
  }

  /** `venue|instrument` of every market the strategy reads (its registry definition says). */
  #neededMarkets(): string[] {
    return this.#definition.markets(this.#d.spec.config).map((m) => `${m.venue}|${m.instrument}`);
  }

  #venues(): string[] {
    return [...new Set(this.#neededMarkets().map((k) => k.split('|')[0]!))];
  }

  // ---- start -------------------------------------------------------------------------

  async #start(): Promise<void> {
    const d = this.#d;
    this.#setStatus('starting', 'starting: loading state');
    await this.#loadRecentDecisions();
    if (!(await startStep('loading the saved state', () => this.#stepper.restore()))) {
      const [exec, acct] = await startStep('reading where EXEC and ACCT end', () =>
        Promise.all([d.log.streamInfo(d.streams.exec), d.log.streamInfo(d.streams.acct)]),
      );
      // Nothing before now is ours to replay: the start snapshot stands for it.
      this.#stepper.begin({ [d.streams.exec]: exec.lastSeq, [d.streams.acct]: acct.lastSeq });
    }
    // A crash may have left decisions unpublished or commands unsent: finish them first.
    await startStep('sending what the last instance left unsent', () => this.#release());

    this.#setStatus('starting', 'starting: reading markets, balances, open orders and positions');
    const markets = await startStep('reading the markets', () => d.markets.loadMarkets(this.#venues()));
    await this.#submit({ kind: 'markets', nowMs: d.nowMs(), markets });
    await startStep('reading the balances', () => this.#pollBalances());
    const accounts = this.#accounts();
    const [orders, positions] = await Promise.all([
      startStep('listing the open orders', () => d.gateway.listOpenOrders(accounts)),
      startStep('reading the positions', () => d.account.positions(accounts)),
    ]);
    const instruments = new Set(this.#neededMarkets().map((k) => k.split('|')[1]));
    await this.#submit({
      kind: 'start',
      nowMs: d.nowMs(),
      openOrders: orders.filter((o) => isOwnClientOrderId(this.id, o.clientOrderId)),
      positions: positions.map(positionSnapshot).filter((p) => instruments.has(p.instrument)),
      // Places the release above could not deliver: in flight, not done (sent on the next release).
      unsentOrderIds: this.#stepper.unsentOrderIds(),
    });

    // Live inputs. EXEC / ACCT resume after what the state has applied.
    const root = d.subjects.root === undefined ? '' : `${d.subjects.root}.`;
    // `readBack`: a book read back at start counts as received when the log stored it (its
    // age on the log's clock, moved to ours), as a tail open then would have received it:
    // deciders judge a book by when it arrived (the scalper, the grid). A funding reading
    // read back counts as received now (a polled venue's reading stands until its next poll).
    const onMsg =
      (stream: string | undefined, readBack = false) =>
      async (msg: StoredMessage) => {
        let envelope: Envelope;
        try {
          envelope = decodeEnvelope(msg.data);
        } catch (err) {
          d.logger.warn({ err, subject: msg.subject }, 'undecodable event skipped');
          return;
        }
        const ageMs = readBack ? Math.max(0, Date.now() - msg.timestampMs) : 0;
        const input = inputFromEnvelope(envelope, {
          nowMs: d.nowMs() - ageMs,
          balanceStaleAfterMs: d.settings.balanceStaleAfterMs,
        });
        if (stream && this.#stepper.isApplied(stream, msg.seq)) return;
        if (!input) {
          if (stream) this.#stepper.markApplied(stream, msg.seq);
          return;
        }
        // Market data is not counted as applied (tails resume from 'new'); the journal still
        // names the event the input came from.
        await this.#submit(input, stream ? { stream, seq: msg.seq } : undefined, false, {
          stream: msg.stream,
          seq: msg.seq,
        });
      };
    const resumeAfter = (stream: string) => ({ startSeq: (this.#stepper.applied[stream] ?? 0) + 1 });
    const tail = (filter: string, from: TailOptions['from'], stream: string | undefined) =>
      startStep(`opening the tail on ${filter}`, () => d.log.tail(filter, { from }, onMsg(stream)));
    const booksReadBack: StoredMessage[] = [];
    // Named apart: a start held here (the read-backs, once) must say so in its readiness.
    this.#setStatus(
      'starting',
      'starting: opening the live inputs, reading the latest books and funding back',
    );
    this.#tails.push(
      await tail(`${root}exec.>`, resumeAfter(d.streams.exec), d.streams.exec),
      await tail(`${root}acct.>`, resumeAfter(d.streams.acct), d.streams.acct),
      await tail(
        d.subjects.filter('mdBook'),
        await this.#latestOnMd(d.subjects.filter('mdBook'), BOOK_LOOKBACK_MS, async (msg) => {
          booksReadBack.push(msg);
        }),
        undefined,
      ),
      await tail(
        d.subjects.filter('mdFunding'),
        await this.#latestOnMd(d.subjects.filter('mdFunding'), FUNDING_LOOKBACK_MS, onMsg(undefined)),
        undefined,
      ),
    );
    for (const t of this.#tails) {
      t.closed.catch((err: unknown) => this.#fail(err as Error));
    }
    this.#timers.push(
      setInterval(() => {
        void this.tick().catch((err) => this.#fail(err as Error));
      }, d.settings.tickIntervalMs),
      setInterval(() => {
        void this.#pollBalances().catch((err) =>
          d.logger.warn({ err, strategyId: this.id }, 'balance poll failed; balances may go stale'),
        );
      }, d.settings.balancePollIntervalMs),
    );
    for (const t of this.#timers) t.unref?.();
    if (this.#startFailure) throw this.#startFailure;
    this.#setStatus('running', '');
    d.logger.info(
      { strategyId: this.id, kind: d.spec.config.kind, mode: this.dryRun ? 'DRY-RUN' : 'live' },
      this.dryRun ? 'DRY-RUN strategy running: orders are recorded, never sent' : 'strategy running',
    );
    // The books read back go in once running (queued behind anything the tails delivered;
    // an older book than the one held is ignored): an order they lead to (a grid's first
    // lines) is then one a stop cancels, which a stop during the start would not.
    const applyBook = onMsg(undefined, true);
    for (const msg of booksReadBack) void applyBook(msg).catch((err: unknown) => this.#fail(err as Error));
  }

  /** Not saved = not decided, a tail gone: stop, give the lease up, start again at the next attempt. */
  #fail(err: Error): void {
    if (this.#status === 'starting') {
      this.#startFailure ??= err;
      return;
    }
    if (this.#status !== 'running') return;
    this.#d.logger.error({ err, strategyId: this.id }, 'strategy instance stopping after an error');
    this.#setStatus('failed', `failed: ${err.message}; retrying`);
    this.#standby.relinquish(`failed: ${errorText(err)}`).catch((stopErr: unknown) => {
      this.#d.logger.error({ err: stopErr, strategyId: this.id }, 'stopping the failed instance failed');
    });
  }

  /** One timer tick: time-based rules, and the save of steps that decided nothing. */
  async tick(): Promise<void> {
    await this.#submit({ kind: 'tick', nowMs: this.#d.nowMs() });
    await this.#enqueue(async () => {
      if (this.#stepper.outbox.length > 0) await this.#release();
      await this.#stepper.saveIfDirty();
    });
  }

  /** Re-reads the balances from the account service now (the poll timer does it periodically). */
  refreshBalances(): Promise<void> {
    return this.#pollBalances();
  }

  async #pollBalances(): Promise<void> {
    const views = await this.#d.account.balances(this.#accounts());
    for (const { view, stale } of views) {
      if (!view.balance) continue;
      await this.#submit(
        balanceInput(
          view.balance,
          { nowMs: this.#d.nowMs(), balanceStaleAfterMs: this.#d.settings.balanceStaleAfterMs },
          stale,
        ),
      );
    }
  }

  // ---- operator ----------------------------------------------------------------------

  /** Operator command (halt / reduce / resume / close_all / cancel_all); returns the decisions it made. */
  operator(
    action: 'halt' | 'reduce' | 'resume' | 'close_all' | 'cancel_all',
    note: string,
  ): Promise<StepResult<unknown>> {
    try {
      checkOperatorReason(note);
    } catch (err) {
      return Promise.reject(err);
    }
    if (this.#status !== 'running') {
      return Promise.reject(new StrategyNotRunningError(this.id, this.#status, this.#reason));
    }
    return this.#submit({ kind: 'operator', action, note, nowMs: this.#d.nowMs() });
  }

  // ---- stop --------------------------------------------------------------------------

  /**
   * SIGTERM / SIGINT: cancel every own open order (positions kept) and wait until the
   * execution service shows none of them open, then stop the instance (save) and release
   * the lease so a standby takes over at once (ActiveStandby.stop). A failed final save is
   * logged as an error, named in the status and readiness, and returned.
   */
  async stop(): Promise<RunnerStopResult> {
    this.#stopRequested = true;
    if (this.#status === 'running') {
      this.#status = 'stopping';
      // The cancel step is saved before its cancels go out; with the store in an outage it
      // cannot be, so after a bound the open orders are canceled through execution directly.
      let cancelsSent = false;
      try {
        await withTimeout(
          this.#submit(
            { kind: 'operator', action: 'cancel_all', note: 'service stopping', nowMs: this.#d.nowMs() },
            undefined,
            true,
          ),
          STOP_STORE_WAIT_MS,
          'the cancel step on stop (saved first)',
          { keepAlive: true },
        );
        cancelsSent = true;
      } catch (err) {
        if (err instanceof DeadlineExceededError) this.#cancelStepStuck = true;
        this.#d.logger.error(
          { err, strategyId: this.id },
          'cancel on stop failed: canceling the open orders through execution directly',
        );
      }
      // Bounded as a whole: a call to execution in flight at the deadline (its own store
      // restarting too) must not stretch the stop past its limit.
      const confirmMs = this.#d.settings.stopCancelTimeoutMs ?? STRATEGY_DEFAULTS.stopCancelTimeoutMs;
      await withTimeout(this.#confirmCanceled(cancelsSent), confirmMs, 'confirming the cancels on stop', {
        keepAlive: true,
      }).catch((err) =>
        this.#d.logger.error({ err, strategyId: this.id }, 'could not confirm the cancels on stop'),
      );
    }
    // The cancel step did not finish (the store out, most likely): later store waits are cut short.
    await this.#standby.stop(this.#cancelStepStuck ? { storeWaitMs: STUCK_STORE_WAIT_MS } : {});
    // Never active (or it stopped before, e.g. the lease was lost): nothing was saved now.
    const result = this.#stopResult ?? { saved: !this.#stepper.dirty };
    if (result.saveError) {
      this.#setStatus('stopped', `stopped; the final save FAILED: ${errorText(result.saveError)}`);
    } else {
      this.#setStatus('stopped', 'stopped');
    }
    return result;
  }

  /**
   * Sending the cancels is not enough: an order left on the book after the process exits
   * trades with nobody watching it. Ask the execution service (the venue's view) until no
   * own order is open, re-canceling the stragglers (a cancel lost on the way, an order the
   * saved state did not know), for at most `stopCancelTimeoutMs`.
   */
  async #confirmCanceled(cancelsSent: boolean): Promise<void> {
    const d = this.#d;
    const accounts = this.#accounts();
    const deadline = Date.now() + (d.settings.stopCancelTimeoutMs ?? STRATEGY_DEFAULTS.stopCancelTimeoutMs);
    // Cancels just sent get a moment to land; none sent: cancel at the first look.
    let lastCancelAt = cancelsSent ? Date.now() : 0;
    for (;;) {
      const open = (await d.gateway.listOpenOrders(accounts)).filter(
        (o) => isOwnClientOrderId(this.id, o.clientOrderId) && !TERMINAL_STATUSES.has(o.status),
      );
      if (open.length === 0) return;
      if (Date.now() >= deadline) {
        d.logger.error(
          { strategyId: this.id, clientOrderIds: open.map((o) => o.clientOrderId) },
          'own orders still open after stop: cancel them by hand (perpmesh cancel-all)',
        );
        return;
      }
      if (Date.now() - lastCancelAt >= STOP_RECANCEL_MS) {
        lastCancelAt = Date.now();
        for (const o of open) {
          await d.gateway
            .cancel(o)
            .catch((err: unknown) =>
              d.logger.warn(
                { err, strategyId: this.id, clientOrderId: o.clientOrderId },
                'cancel on stop failed',
              ),
            );
        }
      }
      await sleep(STOP_POLL_MS);
    }
  }

  /**
   * Stops tails and timers; saves what is unsaved when `save` (the lease is still ours). On
   * stop() (`stopping`) a step stuck on the store, the journal flush and the final save are
   * waited for at most STOP_STORE_WAIT_MS each: a shutdown during a store or event log outage
   * ends, without the last save (a restart re-reads those steps from the log).
   */
  async #teardown(save: boolean, stopping: boolean): Promise<RunnerStopResult> {
    for (const t of this.#timers) clearInterval(t);
    this.#timers = [];
    const tails = this.#tails;
    this.#tails = [];
    await Promise.allSettled(tails.map((t) => t.stop()));
    const waitMs = this.#cancelStepStuck ? STUCK_STORE_WAIT_MS : STOP_STORE_WAIT_MS;
    const bounded = <T>(work: Promise<T>, what: string) =>
      stopping ? withTimeout(work, waitMs, what, { keepAlive: true }) : work;
    const drained = await bounded(
      this.#queue.catch(() => undefined),
      'the step in flight',
    ).then(
      () => true,
      () => false,
    );
    // The journal goes to the event log: during a nats-server restart its publish retries for
    // seconds; on stop() it gets the same bound (what it drops, it logs).
    await bounded(this.#journal.flush(), 'the journal flush').catch((err: unknown) =>
      this.#d.logger.warn(
        { err: errorText(err), strategyId: this.id },
        'strategy input journal: not flushed before the stop (replay will stop there)',
      ),
    );
    let result: RunnerStopResult = { saved: !this.#stepper.dirty };
    if (!drained) {
      const saveError = new Error(
        `a step still waits for the state store after ${waitMs} ms: the final save is skipped`,
      );
      this.#d.logger.error(
        { err: saveError, strategyId: this.id },
        'final save of the strategy state skipped: the last steps are not stored (a restart re-reads them from the log)',
      );
      result = { saved: false, saveError };
    } else if (this.#stepper.dirty && save) {
      try {
        await bounded(this.#stepper.save(), 'the final save');
        result = { saved: true };
      } catch (err) {
        const saveError = err instanceof Error ? err : new Error(String(err));
        this.#d.logger.error(
          { err: saveError, strategyId: this.id },
          'final save of the strategy state failed: the last steps are not stored (a restart re-reads them from the log)',
        );
        result = { saved: false, saveError };
      }
    }
    return result;
  }

  // ---- the queue ---------------------------------------------------------------------

  #enqueue<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.#queue.then(fn, fn);
    this.#queue = run.catch(() => undefined);
    return run;
  }

  /** Feeds one input through the stepper (queued); what it decided is saved, then released. */
  #submit(
    input: StrategyInput,
    applied?: { stream: string; seq: number },
    evenWhenStopping = false,
    origin?: JournalOrigin,
  ): Promise<StepResult<unknown>> {
    return this.#enqueue(async () => {
      if (!evenWhenStopping && this.#status !== 'running' && this.#status !== 'starting') {
        return { state: this.#stepper.state, commands: [], decisions: [] };
      }
      // A step whose save fails is undone, and the instance fails (onSaveFailed).
      const outcome = await this.#stepper.step(input, applied, origin);
      this.#noteInput(input);
      for (const record of outcome.records) {
        this.#remember(decisionToProto(record));
        // New decisions only: the ones read back from the stream at start were told before.
        this.#d.activity?.decision(this.id, record);
        this.#d.onDecision?.(record);
      }
      if (outcome.decisions.length > 0 || outcome.commands.length > 0) await this.#release();
      return outcome;
    });
  }

  /** Releases the stepper's outbox; answers the bus will not carry are fed back (queued). */
  async #release(): Promise<void> {
    const answers = await this.#stepper.release();
    for (const answer of answers) void this.#submit(answer).catch(() => undefined);
  }

  #noteInput(input: StrategyInput): void {
    this.#d.activity?.input(this.id, input);
    const before =
      this.#inputsSeen.books.size + this.#inputsSeen.funding.size + this.#inputsSeen.balances.size;
    if (input.kind === 'book') this.#inputsSeen.books.add(`${input.venue}|${input.instrument}`);
    if (input.kind === 'funding') this.#inputsSeen.funding.add(`${input.venue}|${input.instrument}`);
    if (input.kind === 'balance') this.#inputsSeen.balances.add(`${input.venue}|${input.account}`);
    const after =
      this.#inputsSeen.books.size + this.#inputsSeen.funding.size + this.#inputsSeen.balances.size;
    if (after !== before || input.kind === 'balance' || input.kind === 'tick') this.#refreshReadiness();
  }

  #remember(decision: StrategyDecision): void {
    if (this.#recent.some((d) => d.decisionId === decision.decisionId)) return;
    this.#recent.push(decision);
    if (this.#recent.length > this.#d.settings.decisionsKept) this.#recent.shift();
  }

  /**
   * The decisions before this start (a restart, a takeover) read back from the STRAT stream,
   * so ListDecisions is not empty after one: the newest `decisionsKept` of this strategy among
   * the stream's last `DECISION_LOOKBACK_FACTOR` x that many events. A failed read only
   * leaves the list shorter.
   */
  /**
   * Hands the latest market-data event per subject of `filterSubject` (funding readings,
   * books) stored in the last `lookbackMs` to `apply` and returns where that tail starts:
   * right after what was read, so nothing between the read and the tail is missed.
   * Unreadable: the tail starts at new events.
   */
  async #latestOnMd(
    filterSubject: string,
    lookbackMs: number,
    apply: (msg: StoredMessage) => Promise<void>,
  ): Promise<TailOptions['from']> {
    const d = this.#d;
    const stream = d.streams.md;
    if (stream === undefined) return 'new';
    let lastSeq: number;
    const latest = new Map<string, StoredMessage>();
    try {
      lastSeq = (await d.log.streamInfo(stream)).lastSeq;
      if (lastSeq === 0) return 'new';
      const reading = d.log.read({
        stream,
        filterSubject,
        // Stored timestamps are the log's wall clock, not the strategy's (maybe simulated) one.
        fromTimeMs: Date.now() - lookbackMs,
        toSeq: lastSeq,
        // The newest reading per subject only: a venue streaming funding puts tens of thousands
        // of readings in the lookback, and reading them all kept a start on a loaded machine
        // in this step for minutes (never ready; docs/reliability.md). A subject whose newest
        // reading is past lastSeq is left out: the tail below starts there and delivers it.
        lastPerSubject: true,
      });
      let givenUp = false;
      const collect = async () => {
        for await (const msg of reading) {
          // Past the bound: leave the loop, which closes the read (no reading on in the background).
          if (givenUp) break;
          latest.set(msg.subject, msg);
        }
      };
      // A best-effort shortcut: never worth holding the start up (the tail brings readings too).
      await withTimeout(collect(), READBACK_TIMEOUT_MS, `reading the latest ${filterSubject} back`).catch(
        (err: unknown) => {
          givenUp = true;
          throw err;
        },
      );
    } catch (err) {
      d.logger.warn(
        { err: errorText(err), strategyId: this.id },
        `could not read the latest ${filterSubject} back from the log; waiting for the next event`,
      );
      return 'new';
    }
    for (const msg of latest.values()) await apply(msg);
    return { startSeq: lastSeq + 1 };
  }

  async #loadRecentDecisions(): Promise<void> {
    const d = this.#d;
    const stream = d.streams.strat;
    if (stream === undefined) return;
    try {
      const info = await d.log.streamInfo(stream);
      if (info.messages === 0) return;
      const fromSeq = Math.max(
        info.firstSeq,
        info.lastSeq - DECISION_LOOKBACK_FACTOR * d.settings.decisionsKept + 1,
      );
      const found: StrategyDecision[] = [];
      for await (const msg of d.log.read({ stream, fromSeq, toSeq: info.lastSeq })) {
        const payload = decodeEnvelope(msg.data).payload;
        if (payload?.$case === 'strategyDecision' && payload.value.strategyId === this.id)
          found.push(payload.value);
      }
      this.#recent = [];
      for (const decision of found.slice(-d.settings.decisionsKept)) this.#remember(decision);
    } catch (err) {
      d.logger.warn(
        { err: errorText(err), strategyId: this.id },
        'could not read the recent decisions back from the log; ListDecisions starts short',
      );
    }
  }

  /** Own open orders right now (views). */
  openOrderCount(): number {
    return openOrders(this.world).length;
  }
}

export class StrategyNotRunningError extends PerpmeshError {
  constructor(strategyId: string, state: RunnerState, reason: string) {
    super('FAILED_PRECONDITION', `strategy ${strategyId} is ${state}${reason ? ` (${reason})` : ''}`);
  }
}

/** A start step failed; the message names the step ("opening the tail on exec.>: timeout"). */
export class StrategyStartStepError extends Error {
  readonly step: string;
  constructor(step: string, cause: unknown) {
    super(`${step}: ${errorText(cause)}`, { cause });
    this.name = 'StrategyStartStepError';
    this.step = step;
  }
}

/** Runs one step of the instance's start; a failure says which step it was. */
async function startStep<T>(step: string, run: () => Promise<T>): Promise<T> {
  try {
    return await run();
  } catch (err) {
    throw new StrategyStartStepError(step, err);
  }
}
