/**
 * One strategy instance at run time: the I/O around its pure decider.
 *
 * Life: standby until it holds the strategy's lease → load the persisted state (or a fresh
 * one) → resend what a crash may have left unsent (its outbox) → `markets`, balances and a
 * `start` input (own open orders from ListOpenOrders, filtered by `${strategyId}_`, and
 * positions from the account service) → live inputs: MD (books, funding; from now), EXEC
 * and ACCT (from the sequences its state has applied, so a restart resumes exactly),
 * ticks, balance polls → on stop: `operator cancel_all` (open orders canceled, positions
 * kept), save, release the lease.
 *
 * Every input goes through ONE queue. A step that decides something is handled as:
 *   1. save state + applied sequences + the step's outbox (decision envelopes and
 *      commands), compare-and-set (a fencing token: a stale instance fails here);
 *   2. publish each decision on strat.{strategy}.{kind} (ids deterministic: a resend is
 *      stored once);
 *   3. send its commands with correlation_id = the decision's envelope id (PlaceOrder is
 *      idempotent by client order id: a resend after a crash places nothing new).
 * Steps that decide nothing are saved at the next tick.
 */

import type { EventLog, StoredMessage, TailHandle } from '@perpmesh/bus';
import {
  decodeEnvelope,
  Envelope,
  factEventId,
  newEnvelope,
  orderTypeToProto,
  publishEnvelope,
  StrategyDecision,
  type Subjects,
  sideToProto,
  timeInForceToProto,
} from '@perpmesh/contracts';
import { Decimal, type EpochMs, PerpmeshError } from '@perpmesh/core';
import type { HealthRegistry, Logger } from '@perpmesh/runtime';
import { type AppliedSeqs, Lease, ProjectionConflictError, type StateStore } from '@perpmesh/state';
import type { AnyStrategyDecider } from '../config.js';
import {
  type Decision,
  type OrderIntent,
  type OrderRef,
  type OrderSnapshot,
  type SerializedStrategyState,
  type StepResult,
  type StrategyCommand,
  type StrategyDecisionRecord,
  type StrategyInput,
  toStrategyDecisionRecord,
} from '../model.js';
import { type AnyStrategyDefinition, lookupStrategy } from '../registry.js';
import { isOwnClientOrderId, openOrders, type WorldState } from '../world.js';
import type { StrategyInstanceSpec, StrategyRuntimeSettings } from './config.js';
import {
  type AccountReader,
  DRY_RUN_REASON,
  type MarketsSource,
  type OrderGateway,
  OrderRefusedError,
} from './gateway.js';
import { balanceInput, inputFromEnvelope, positionSnapshot } from './inputs.js';

/** The lease scope of strategy instances (`idem:strategy-lease:<strategyId>`). */
export const STRATEGY_LEASE_SCOPE = 'strategy-lease';

export type RunnerState = 'standby' | 'starting' | 'running' | 'stopping' | 'stopped' | 'failed';

/** The stream names (namespaced) the runner reads with `tail`. */
export interface RunnerStreams {
  readonly exec: string;
  readonly acct: string;
}

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
}

/** The persisted record: strategy state + what was decided but maybe not yet sent. */
interface PersistedRecord {
  readonly format: 'perpmesh.strategy.runtime';
  readonly version: 1;
  readonly strategy: SerializedStrategyState;
  readonly outbox: OutboxEntry[];
}

type WireIntent = {
  clientOrderId: string;
  venue: string;
  account: string;
  instrument: string;
  side: OrderIntent['side'];
  type: OrderIntent['type'];
  timeInForce: OrderIntent['timeInForce'];
  price: string;
  size: string;
  reduceOnly: boolean;
};

type WireCommand =
  | { kind: 'place'; correlationId: string; order: WireIntent }
  | { kind: 'cancel'; correlationId: string; ref: OrderRef };

interface OutboxEntry {
  /** Envelope bytes as base64 (proto), published in order; `published` marks progress. */
  envelopes: Array<{ id: string; base64: string; published: boolean }>;
  commands: Array<WireCommand & { done: boolean }>;
}

type AnyState = ReturnType<AnyStrategyDecider['initialState']>;

/** While stopping: how often open orders are re-read, and stragglers re-canceled. */
const STOP_POLL_MS = 100;
const STOP_RECANCEL_MS = 1_000;
const TERMINAL_STATUSES: ReadonlySet<string> = new Set(['filled', 'canceled', 'rejected', 'expired']);

/** Counts saves, so every save moves `applied` forward even when no event was consumed. */
const SAVES = 'SAVES';

export const projectionName = (strategyId: string) => `strategy:${strategyId}`;

export class StrategyRunner {
  readonly #d: RunnerDeps;
  readonly #lease: Lease;
  readonly #component: string;
  readonly #definition: AnyStrategyDefinition;
  #status: RunnerState = 'standby';
  #reason = 'waiting for the lease';
  #state: AnyState;
  #applied: Record<string, number> = {};
  #savedApplied: AppliedSeqs | undefined;
  #outbox: OutboxEntry[] = [];
  #dirty = false;
  #queue: Promise<unknown> = Promise.resolve();
  #tails: TailHandle[] = [];
  #timers: NodeJS.Timeout[] = [];
  #loop: Promise<void> | undefined;
  #stopRequested = false;
  #wake: (() => void) | undefined;
  #failure: Error | undefined;
  readonly #recent: StrategyDecisionRecord[] = [];
  readonly #inputsSeen = {
    books: new Set<string>(),
    funding: new Set<string>(),
    balances: new Set<string>(),
  };

  constructor(deps: RunnerDeps) {
    this.#d = deps;
    this.#state = deps.decider.initialState();
    this.#component = `strategy/${deps.spec.id}/started`;
    this.#definition = lookupStrategy(deps.spec.config.kind, 'kind');
    this.#lease = new Lease({
      store: deps.state,
      scope: STRATEGY_LEASE_SCOPE,
      name: deps.spec.id,
      holder: deps.holder,
      ttlMs: deps.settings.leaseTtlMs,
      nowMs: deps.nowMs,
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
    return this.#state.world;
  }
  /** The strategy's own part of the state (the arb book for funding_arb). */
  get strategyState(): unknown {
    return this.#state.strategy;
  }
  recentDecisions(): StrategyDecisionRecord[] {
    return [...this.#recent];
  }

  /** Starts the life loop (standby → running, retrying after failures). Resolves at once. */
  launch(): void {
    if (this.#loop) return;
    this.#stopRequested = false;
    this.#loop = this.#life().catch((err) => {
      this.#d.logger.error({ err, strategyId: this.id }, 'strategy runner loop failed');
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

  async #life(): Promise<void> {
    while (!this.#stopRequested) {
      try {
        this.#setStatus('standby', 'waiting for the lease');
        while (!this.#stopRequested && !(await this.#lease.tryAcquire())) {
          const holder = await this.#lease.current();
          this.#setStatus(
            'standby',
            `standby: another instance holds the lease (${holder?.holder ?? 'unknown'})`,
          );
          await this.#sleep(this.#d.settings.retryIntervalMs);
        }
        if (this.#stopRequested) break;
        await this.#start();
        // Run until stop() or a failure.
        await new Promise<void>((resolve) => {
          this.#wake = resolve;
          if (this.#stopRequested || this.#failure) resolve();
        });
        if (this.#failure) {
          const err = this.#failure;
          this.#failure = undefined;
          await this.#teardown(false);
          this.#setStatus('failed', `failed: ${err.message}; retrying`);
          await this.#sleep(this.#d.settings.retryIntervalMs);
        }
      } catch (err) {
        await this.#teardown(false).catch(() => undefined);
        this.#setStatus('failed', `failed: ${(err as Error).message}; retrying`);
        this.#d.logger.error({ err, strategyId: this.id }, 'strategy instance failed; retrying');
        await this.#sleep(this.#d.settings.retryIntervalMs);
      }
    }
  }

  #sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const t = setTimeout(resolve, ms);
      const prev = this.#wake;
      this.#wake = () => {
        clearTimeout(t);
        resolve();
        prev?.();
      };
    });
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
    const w = this.#state.world;
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
    const saved = await d.state.loadProjection<PersistedRecord>(projectionName(this.id));
    if (saved) {
      this.#state = d.decider.deserialize(saved.state.strategy) as AnyState;
      this.#applied = { ...saved.applied };
      this.#savedApplied = { ...saved.applied };
      this.#outbox = saved.state.outbox ?? [];
      d.logger.info(
        { strategyId: this.id, applied: saved.applied, pending: this.#outbox.length },
        'strategy state restored',
      );
    } else {
      this.#state = d.decider.initialState();
      const [exec, acct] = await Promise.all([
        d.log.streamInfo(d.streams.exec),
        d.log.streamInfo(d.streams.acct),
      ]);
      // Nothing before now is ours to replay: the start snapshot stands for it.
      this.#applied = { [d.streams.exec]: exec.lastSeq, [d.streams.acct]: acct.lastSeq, [SAVES]: 0 };
      this.#savedApplied = undefined;
      this.#outbox = [];
    }
    // A crash may have left decisions unpublished or commands unsent: finish them first.
    await this.#flushOutbox();

    this.#setStatus('starting', 'starting: reading markets, balances, open orders and positions');
    const markets = await d.markets.loadMarkets(this.#venues());
    await this.#submit({ kind: 'markets', nowMs: d.nowMs(), markets });
    await this.#pollBalances();
    const accounts = this.#accounts();
    const [orders, positions] = await Promise.all([
      d.gateway.listOpenOrders(accounts),
      d.account.positions(accounts),
    ]);
    const instruments = new Set(this.#neededMarkets().map((k) => k.split('|')[1]));
    await this.#submit({
      kind: 'start',
      nowMs: d.nowMs(),
      openOrders: orders.filter((o) => isOwnClientOrderId(this.id, o.clientOrderId)),
      positions: positions.map(positionSnapshot).filter((p) => instruments.has(p.instrument)),
    });

    // Live inputs. EXEC / ACCT resume after what the state has applied.
    const root = d.subjects.root === undefined ? '' : `${d.subjects.root}.`;
    const onMsg = (stream: string | undefined) => async (msg: StoredMessage) => {
      let envelope: Envelope;
      try {
        envelope = decodeEnvelope(msg.data);
      } catch (err) {
        d.logger.warn({ err, subject: msg.subject }, 'undecodable event skipped');
        return;
      }
      const input = inputFromEnvelope(envelope, {
        nowMs: d.nowMs(),
        balanceStaleAfterMs: d.settings.balanceStaleAfterMs,
      });
      if (stream && msg.seq <= (this.#applied[stream] ?? 0)) return;
      if (!input) {
        if (stream) this.#markApplied(stream, msg.seq);
        return;
      }
      await this.#submit(input, stream ? { stream, seq: msg.seq } : undefined);
    };
    this.#tails.push(
      await d.log.tail(
        `${root}exec.>`,
        { from: { startSeq: (this.#applied[d.streams.exec] ?? 0) + 1 } },
        onMsg(d.streams.exec),
      ),
      await d.log.tail(
        `${root}acct.>`,
        { from: { startSeq: (this.#applied[d.streams.acct] ?? 0) + 1 } },
        onMsg(d.streams.acct),
      ),
      await d.log.tail(d.subjects.filter('mdBook'), { from: 'new' }, onMsg(undefined)),
      await d.log.tail(d.subjects.filter('mdFunding'), { from: 'new' }, onMsg(undefined)),
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
      setInterval(() => {
        void this.#lease.renew().then(
          (held) => {
            if (!held) this.#fail(new LeaseLostError(this.id));
          },
          (err) => d.logger.warn({ err, strategyId: this.id }, 'lease renewal failed'),
        );
      }, d.settings.leaseRenewIntervalMs),
    );
    for (const t of this.#timers) t.unref?.();
    this.#setStatus('running', '');
    d.logger.info(
      { strategyId: this.id, kind: d.spec.config.kind, mode: this.dryRun ? 'DRY-RUN' : 'live' },
      this.dryRun ? 'DRY-RUN strategy running: orders are recorded, never sent' : 'strategy running',
    );
  }

  #fail(err: Error): void {
    if (this.#status !== 'running' && this.#status !== 'starting') return;
    this.#d.logger.error({ err, strategyId: this.id }, 'strategy instance stopping after an error');
    this.#failure = err;
    this.#wake?.();
  }

  /** One timer tick: time-based rules, and the save of steps that decided nothing. */
  async tick(): Promise<void> {
    await this.#submit({ kind: 'tick', nowMs: this.#d.nowMs() });
    await this.#enqueue(async () => {
      if (this.#outbox.length > 0) await this.#flushOutbox();
      if (this.#dirty) await this.#persist();
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
    if (this.#status !== 'running') {
      return Promise.reject(new StrategyNotRunningError(this.id, this.#status, this.#reason));
    }
    return this.#submit({ kind: 'operator', action, note, nowMs: this.#d.nowMs() });
  }

  // ---- stop --------------------------------------------------------------------------

  /**
   * SIGTERM / SIGINT: cancel every own open order (positions kept) and wait until the
   * execution service shows none of them open, save, release the lease so a standby takes
   * over at once.
   */
  async stop(): Promise<void> {
    this.#stopRequested = true;
    if (this.#status === 'running') {
      this.#status = 'stopping';
      try {
        await this.#submit(
          { kind: 'operator', action: 'cancel_all', note: 'service stopping', nowMs: this.#d.nowMs() },
          undefined,
          true,
        );
      } catch (err) {
        this.#d.logger.error({ err, strategyId: this.id }, 'cancel on stop failed');
      }
      await this.#confirmCanceled().catch((err) =>
        this.#d.logger.error({ err, strategyId: this.id }, 'could not confirm the cancels on stop'),
      );
    }
    this.#wake?.();
    await this.#loop;
    await this.#teardown(true);
    this.#setStatus('stopped', 'stopped');
    this.#d.health.notReady(this.#component, `${this.#component}: stopped`);
  }

  /**
   * Sending the cancels is not enough: an order left on the book after the process exits
   * trades with nobody watching it. Ask the execution service (the venue's view) until no
   * own order is open, re-canceling the stragglers (a cancel lost on the way, an order the
   * saved state did not know), for at most `stopCancelTimeoutMs`.
   */
  async #confirmCanceled(): Promise<void> {
    const d = this.#d;
    const accounts = this.#accounts();
    const deadline = Date.now() + (d.settings.stopCancelTimeoutMs ?? 10_000);
    let lastCancelAt = Date.now();
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

  async #teardown(releaseLease: boolean): Promise<void> {
    for (const t of this.#timers) clearInterval(t);
    this.#timers = [];
    const tails = this.#tails;
    this.#tails = [];
    await Promise.allSettled(tails.map((t) => t.stop()));
    await this.#queue.catch(() => undefined);
    if (this.#dirty && this.#lease.held) await this.#persist().catch(() => undefined);
    if (releaseLease) await this.#lease.release().catch(() => undefined);
  }

  // ---- the queue ---------------------------------------------------------------------

  #enqueue<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.#queue.then(fn, fn);
    this.#queue = run.catch(() => undefined);
    return run;
  }

  #markApplied(stream: string, seq: number): void {
    if (seq > (this.#applied[stream] ?? 0)) {
      this.#applied[stream] = seq;
      this.#dirty = true;
    }
  }

  /** Feeds one input through the decider (queued). */
  #submit(
    input: StrategyInput,
    applied?: { stream: string; seq: number },
    evenWhenStopping = false,
  ): Promise<StepResult<unknown>> {
    return this.#enqueue(async () => {
      if (!evenWhenStopping && this.#status !== 'running' && this.#status !== 'starting') {
        return { state: this.#state, commands: [], decisions: [] };
      }
      if (applied && applied.seq <= (this.#applied[applied.stream] ?? 0)) {
        return { state: this.#state, commands: [], decisions: [] };
      }
      const previous = this.#state;
      const result = this.#d.decider.step(this.#state as never, input) as StepResult<AnyState>;
      this.#state = result.state;
      if (applied) this.#markApplied(applied.stream, applied.seq);
      this.#dirty = true;
      this.#noteInput(input);
      if (result.decisions.length === 0 && result.commands.length === 0) return result;
      this.#outbox.push(this.#outboxEntry(result.decisions, result.commands));
      try {
        await this.#persist();
      } catch (err) {
        // Not saved = not decided: nothing is published or sent; the instance restarts from the store.
        this.#state = previous;
        this.#outbox.pop();
        this.#fail(err as Error);
        throw err;
      }
      await this.#flushOutbox();
      return result;
    });
  }

  #noteInput(input: StrategyInput): void {
    const before =
      this.#inputsSeen.books.size + this.#inputsSeen.funding.size + this.#inputsSeen.balances.size;
    if (input.kind === 'book') this.#inputsSeen.books.add(`${input.venue}|${input.instrument}`);
    if (input.kind === 'funding') this.#inputsSeen.funding.add(`${input.venue}|${input.instrument}`);
    if (input.kind === 'balance') this.#inputsSeen.balances.add(`${input.venue}|${input.account}`);
    const after =
      this.#inputsSeen.books.size + this.#inputsSeen.funding.size + this.#inputsSeen.balances.size;
    if (after !== before || input.kind === 'balance' || input.kind === 'tick') this.#refreshReadiness();
  }

  async #persist(): Promise<void> {
    const d = this.#d;
    const applied = { ...this.#applied, [SAVES]: (this.#applied[SAVES] ?? 0) + 1 };
    const record: PersistedRecord = {
      format: 'perpmesh.strategy.runtime',
      version: 1,
      strategy: d.decider.serialize(this.#state as never),
      outbox: this.#outbox,
    };
    try {
      await d.state.saveProjection(projectionName(this.id), record, applied, this.#savedApplied);
    } catch (err) {
      if (err instanceof ProjectionConflictError) throw new LeaseLostError(this.id, err);
      throw err;
    }
    // Two copies: markApplied moves the working one; the saved one is the CAS expectation.
    this.#applied = { ...applied };
    this.#savedApplied = { ...applied };
    this.#dirty = false;
  }

  #outboxEntry(decisions: ReadonlyArray<Decision>, commands: ReadonlyArray<StrategyCommand>): OutboxEntry {
    const d = this.#d;
    const envelopeIds = new Map<string, string>();
    const envelopes = decisions.map((decision) => {
      const record = toStrategyDecisionRecord(decision, { dryRun: this.dryRun, commands });
      this.#remember(record);
      const envelope = newEnvelope({
        // Deterministic: a resend of this decision after a crash is stored once.
        id: factEventId(Math.max(1, decision.nowMs), `strat|${decision.strategyId}|${decision.decisionId}`),
        source: d.source,
        tsEventMs: Math.max(1, decision.nowMs),
        tsInitMs: Math.max(1, d.nowMs()),
        payload: { $case: 'strategyDecision', value: decisionToProto(record) },
      });
      envelopeIds.set(decision.decisionId, envelope.id);
      if (this.dryRun) {
        d.logger.info(
          { strategyId: this.id, decision: decision.kind, reasonCode: decision.reasonCode, dryRun: true },
          `DRY-RUN ${decision.kind}: ${decision.message}`,
        );
      } else {
        d.logger.info(
          { strategyId: this.id, decision: decision.kind, reasonCode: decision.reasonCode },
          `${decision.kind}: ${decision.message}`,
        );
      }
      return {
        id: envelope.id,
        base64: Buffer.from(Envelope.encode(envelope).finish()).toString('base64'),
        published: false,
      };
    });
    const wire: Array<WireCommand & { done: boolean }> = [];
    for (const c of commands) {
      const correlationId = envelopeIds.get(c.decisionId) ?? '';
      if (c.kind === 'place')
        wire.push({ kind: 'place', correlationId, order: intentToWire(c.order), done: false });
      else if (c.kind === 'cancel') {
        wire.push({
          kind: 'cancel',
          correlationId,
          ref: {
            clientOrderId: c.clientOrderId,
            venue: c.venue,
            account: c.account,
            instrument: c.instrument,
          },
          done: false,
        });
      } else {
        for (const ref of c.orders)
          wire.push({ kind: 'cancel', correlationId, ref: { ...ref }, done: false });
      }
    }
    return { envelopes, commands: wire };
  }

  #remember(record: StrategyDecisionRecord): void {
    this.#recent.push(record);
    if (this.#recent.length > this.#d.settings.decisionsKept) this.#recent.shift();
  }

  /**
   * Publishes pending decisions and sends pending commands, in order. A transport failure
   * leaves the rest for the next tick (resends are idempotent). Order answers that the
   * bus will not carry (refused by execution, dry-run) are fed back as order inputs.
   */
  async #flushOutbox(): Promise<void> {
    const d = this.#d;
    while (this.#outbox.length > 0) {
      const entry = this.#outbox[0]!;
      for (const e of entry.envelopes) {
        if (e.published) continue;
        const envelope = Envelope.decode(Buffer.from(e.base64, 'base64'));
        await publishEnvelope(d.log, envelope, d.subjects);
        e.published = true;
        this.#dirty = true;
      }
      for (const c of entry.commands) {
        if (c.done) continue;
        try {
          if (c.kind === 'place') {
            const intent = intentFromWire(c.order);
            let answer: OrderSnapshot;
            try {
              answer = await d.gateway.place(intent, c.correlationId);
            } catch (err) {
              if (!(err instanceof OrderRefusedError)) throw err;
              d.logger.warn(
                { strategyId: this.id, clientOrderId: intent.clientOrderId, reason: err.reason },
                'order refused by the execution service',
              );
              answer = {
                ...intent,
                status: 'rejected',
                filled: new Decimal(0),
                reason: err.reason,
                tsEventMs: d.nowMs(),
              };
            }
            // Terminal answers the bus may never carry (refusals, dry-run) go back in as facts.
            if (answer.status === 'rejected' || answer.reason === DRY_RUN_REASON) {
              void this.#submit({ kind: 'order', nowMs: d.nowMs(), ...answer }).catch(() => undefined);
            }
          } else {
            await d.gateway.cancel(c.ref);
          }
          c.done = true;
          this.#dirty = true;
        } catch (err) {
          d.logger.warn(
            { err, strategyId: this.id, command: c.kind },
            'order command not delivered; retrying on the next tick',
          );
          return;
        }
      }
      this.#outbox.shift();
    }
  }

  /** Own open orders right now (views). */
  openOrderCount(): number {
    return openOrders(this.#state.world).length;
  }
}

function intentToWire(o: OrderIntent): WireIntent {
  return {
    clientOrderId: o.clientOrderId,
    venue: o.venue,
    account: o.account,
    instrument: o.instrument,
    side: o.side,
    type: o.type,
    timeInForce: o.timeInForce,
    price: o.price === undefined ? '' : o.price.toFixed(),
    size: o.size.toFixed(),
    reduceOnly: o.reduceOnly,
  };
}

function intentFromWire(o: WireIntent): OrderIntent {
  return {
    ...o,
    price: o.price === '' ? undefined : new Decimal(o.price),
    size: new Decimal(o.size),
  };
}

/** The record as the proto message (enums mapped at this one boundary). */
export function decisionToProto(r: StrategyDecisionRecord): StrategyDecision {
  return StrategyDecision.fromPartial({
    strategyId: r.strategyId,
    kind: r.kind,
    decision: r.decision,
    reasonCode: r.reasonCode,
    reason: r.reason,
    inputs: r.inputs,
    orderIntents: r.orderIntents.map((o) => ({
      clientOrderId: o.clientOrderId,
      venue: o.venue,
      account: o.account,
      instrument: o.instrument,
      side: sideToProto(o.side),
      type: orderTypeToProto(o.type),
      timeInForce: timeInForceToProto(o.timeInForce),
      price: o.price,
      size: o.size,
      reduceOnly: o.reduceOnly,
    })),
    dryRun: r.dryRun,
    decisionId: r.decisionId,
    cancelClientOrderIds: r.cancelClientOrderIds,
    decidedAtMs: r.decidedAtMs,
  });
}

export class LeaseLostError extends PerpmeshError {
  constructor(strategyId: string, cause?: unknown) {
    super(
      'STRATEGY_LEASE_LOST',
      `strategy ${strategyId}: another instance took over (lease lost or state saved by someone else)`,
      cause === undefined ? undefined : { cause },
    );
  }
}

export class StrategyNotRunningError extends PerpmeshError {
  constructor(strategyId: string, state: RunnerState, reason: string) {
    super('FAILED_PRECONDITION', `strategy ${strategyId} is ${state}${reason ? ` (${reason})` : ''}`);
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
