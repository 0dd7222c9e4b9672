/**
 * The strategy STEPPER: one strategy's state, the stream sequences it has applied, its
 * outbox, and the compare-and-set save of all three. No lease, no timer, no tail: whoever
 * holds it feeds it inputs one at a time (the runner from live tails; a replay from the
 * log) and says when to release what was decided.
 *
 * A step that decides something is handled as:
 *   1. `step(input)`: the decider runs, the decision envelopes and commands go to the
 *      outbox, and state + applied sequences + outbox are saved compare-and-set (the saved
 *      `applied` is the expectation: a stale instance fails here, `LeaseLostError`). Not
 *      saved = not decided: the step is rolled back and the error thrown.
 *   2. `release()`: each decision is published (ids deterministic: a resend is stored
 *      once), then its commands are sent with correlation_id = the decision's envelope id
 *      (PlaceOrder is idempotent by client order id: a resend after a crash places nothing
 *      new). Nothing leaves before step 1 saved it.
 * Steps that decide nothing only mark the state dirty; `saveIfDirty()` saves them.
 *
 * Not safe for concurrent calls: one call at a time (the runner queues every input).
 */

import { performance } from 'node:perf_hooks';
import type { ProjectionStore } from '@perpmesh/bus';
import {
  Envelope,
  factEventId,
  newEnvelope,
  orderTypeToProto,
  StrategyDecision,
  sideToProto,
  timeInForceToProto,
} from '@perpmesh/contracts';
import { type ClientOrderId, Decimal, type EpochMs, PerpmeshError } from '@perpmesh/core';
import type { Logger } from '@perpmesh/runtime';
import { type AppliedSeqs, ProjectionConflictError } from '@perpmesh/state';
import type { AnyStrategyDecider } from '../config.js';
import {
  type Decision,
  type OrderIntent,
  type OrderIntentRecord,
  type OrderRef,
  type OrderSnapshot,
  orderIntentRecord,
  type SerializedStrategyState,
  type StepResult,
  type StrategyCommand,
  type StrategyDecisionRecord,
  type StrategyInput,
  toStrategyDecisionRecord,
} from '../model.js';
import { DRY_RUN_REASON, type OrderGateway, OrderRefusedError } from './gateway.js';
import type { JournalOrigin, StrategyInputJournal } from './journal.js';
import type { StrategyStageObserver } from './metrics.js';

/** The persisted record: strategy state + what was decided but maybe not yet sent. */
export interface PersistedRecord {
  readonly format: 'perpmesh.strategy.runtime';
  readonly version: 1;
  readonly strategy: SerializedStrategyState;
  readonly outbox: OutboxEntry[];
}

type WireCommand =
  | { kind: 'place'; correlationId: string; order: OrderIntentRecord }
  | { kind: 'cancel'; correlationId: string; ref: OrderRef };

/** One decided step not yet fully released. */
export interface OutboxEntry {
  /** Envelope bytes as base64 (proto), published in order; `published` marks progress. */
  envelopes: Array<{ id: string; base64: string; published: boolean }>;
  commands: Array<WireCommand & { done: boolean }>;
}

export type StrategyStateOf = ReturnType<AnyStrategyDecider['initialState']>;

/** Counts saves, so every save moves `applied` forward even when no event was consumed. */
export const SAVES = 'SAVES';

export const projectionName = (strategyId: string) => `strategy:${strategyId}`;

export interface StepperDeps {
  readonly strategyId: string;
  readonly decider: AnyStrategyDecider;
  /**
   * Where the strategy's state is loaded from and saved: the StateStore live, an
   * in-memory store in a backtest or replay (only the projection calls are used).
   */
  readonly store: ProjectionStore;
  /** Publishes one decision envelope (on strat.{strategy}.{kind}). */
  readonly publish: (envelope: Envelope) => Promise<unknown>;
  /** Where commands go: the execution service, or a dry-run recorder. */
  readonly gateway: Pick<OrderGateway, 'place' | 'cancel' | 'dryRun'>;
  readonly logger: Logger;
  readonly nowMs: () => EpochMs;
  /** The envelopes' source (`strategy/<instance>`). */
  readonly source: string;
  /** Told when a deciding step could not be saved (the step is undone and its error thrown). */
  readonly onSaveFailed?: (err: Error) => void;
  /** Records every consumed input and periodic snapshots (journal.ts); replay reads it. */
  readonly journal?: StrategyInputJournal;
  /** Told how long each stage of a deciding step took (metrics.ts). */
  readonly onStage?: StrategyStageObserver;
}

/** A step's outcome: the decider's result plus its decisions as published. */
export interface StepOutcome extends StepResult<unknown> {
  readonly records: ReadonlyArray<StrategyDecisionRecord>;
}

export class StrategyStepper {
  readonly #d: StepperDeps;
  #state: StrategyStateOf;
  #applied: Record<string, number> = { [SAVES]: 0 };
  /** The `applied` of the last save: the compare-and-set expectation (undefined: never saved). */
  #savedApplied: AppliedSeqs | undefined;
  #outbox: OutboxEntry[] = [];
  #dirty = false;

  constructor(deps: StepperDeps) {
    this.#d = deps;
    this.#state = deps.decider.initialState();
  }

  get strategyId(): string {
    return this.#d.strategyId;
  }
  get state(): StrategyStateOf {
    return this.#state;
  }
  /** Per stream, the last sequence folded into the state (plus the save counter). */
  get applied(): Readonly<Record<string, number>> {
    return { ...this.#applied };
  }
  /** Decided but not yet fully released. */
  get outbox(): ReadonlyArray<OutboxEntry> {
    return this.#outbox;
  }
  /** Client order ids whose PlaceOrder is still in the outbox: decided, not yet delivered to execution. */
  unsentOrderIds(): ClientOrderId[] {
    return this.#outbox.flatMap((entry) =>
      entry.commands.flatMap((c) => (c.kind === 'place' && !c.done ? [c.order.clientOrderId] : [])),
    );
  }
  /** Something changed since the last save. */
  get dirty(): boolean {
    return this.#dirty;
  }

  /** Loads the saved record; false (and nothing changed) when there is none. */
  async restore(): Promise<boolean> {
    const saved = await this.#d.store.loadProjection<PersistedRecord>(projectionName(this.strategyId));
    if (!saved) return false;
    this.#state = this.#d.decider.deserialize(saved.state.strategy) as StrategyStateOf;
    this.#applied = { ...saved.applied };
    this.#savedApplied = { ...saved.applied };
    this.#outbox = saved.state.outbox ?? [];
    this.#dirty = false;
    this.#journalRun();
    this.#d.logger.info(
      { strategyId: this.strategyId, applied: saved.applied, pending: this.#outbox.length },
      'strategy state restored',
    );
    return true;
  }

  /** A fresh state that counts `applied` (stream → last sequence) as already seen. */
  begin(applied: Readonly<Record<string, number>>): void {
    this.#state = this.#d.decider.initialState();
    this.#applied = { ...applied, [SAVES]: 0 };
    this.#savedApplied = undefined;
    this.#outbox = [];
    this.#dirty = false;
    this.#journalRun();
  }

  /** A new journal run starting with a snapshot of the state as it is now. */
  #journalRun(): void {
    const journal = this.#d.journal;
    if (!journal) return;
    journal.newRun();
    journal.snapshot(this.#d.decider.serialize(this.#state as never), this.#applied);
  }

  isApplied(stream: string, seq: number): boolean {
    return seq <= (this.#applied[stream] ?? 0);
  }

  /** Counts an event as seen without a step (it carried nothing for the strategy). */
  markApplied(stream: string, seq: number): void {
    if (seq > (this.#applied[stream] ?? 0)) {
      this.#applied[stream] = seq;
      this.#dirty = true;
    }
  }

  /**
   * Feeds one input. `applied` is the event it came from (an input from an already
   * applied event is skipped). A step that decides something is saved before this
   * returns; when the save fails the step is undone and the error thrown. `origin` names
   * the event an input came from when it is not counted as applied (market data), for
   * the journal; it defaults to `applied`.
   */
  async step(
    input: StrategyInput,
    applied?: { stream: string; seq: number },
    origin?: JournalOrigin,
  ): Promise<StepOutcome> {
    if (applied && this.isApplied(applied.stream, applied.seq)) {
      return { state: this.#state, commands: [], decisions: [], records: [] };
    }
    const previous = { state: this.#state, applied: { ...this.#applied }, dirty: this.#dirty };
    const decideStarted = performance.now();
    const result = this.#d.decider.step(this.#state as never, input) as StepResult<StrategyStateOf>;
    const decided = result.decisions.length > 0 || result.commands.length > 0;
    if (decided) this.#d.onStage?.('decision', (performance.now() - decideStarted) / 1000);
    this.#state = result.state;
    if (applied) this.markApplied(applied.stream, applied.seq);
    this.#dirty = true;
    // Journaled before the save: a step whose save fails is undone here and the runner
    // restarts from the store, which opens a new journal run with its own snapshot.
    const journal = this.#d.journal;
    if (journal?.input(input, origin ?? applied, result.decisions, result.commands)) {
      journal.snapshot(this.#d.decider.serialize(this.#state as never), this.#applied);
    }
    if (!decided) return { ...result, records: [] };
    const persistStarted = performance.now();
    const { entry, records } = this.#outboxEntry(result.decisions, result.commands);
    this.#outbox.push(entry);
    // What the decision depended on is in the log before anything it decided leaves. The
    // journal's publish and the save are independent round trips: they overlap (a flush
    // never throws; the input of a step whose save fails is journaled either way, and the
    // restart that follows opens a new journal run).
    const journaled = journal?.flush();
    try {
      await this.save();
    } catch (err) {
      // Not saved = not decided: nothing is published or sent.
      this.#state = previous.state;
      this.#applied = previous.applied;
      this.#dirty = previous.dirty;
      this.#outbox.pop();
      this.#d.onSaveFailed?.(err as Error);
      throw err;
    }
    await journaled;
    this.#d.onStage?.('persisted', (performance.now() - persistStarted) / 1000);
    return { ...result, records };
  }

  /** Saves state + applied + outbox, compare-and-set against the last save. */
  async save(): Promise<void> {
    const d = this.#d;
    const applied: Record<string, number> = { ...this.#applied, [SAVES]: (this.#applied[SAVES] ?? 0) + 1 };
    const record: PersistedRecord = {
      format: 'perpmesh.strategy.runtime',
      version: 1,
      strategy: d.decider.serialize(this.#state as never),
      outbox: this.#outbox,
    };
    try {
      await d.store.saveProjection(projectionName(this.strategyId), record, applied, this.#savedApplied);
    } catch (err) {
      if (err instanceof ProjectionConflictError) throw new LeaseLostError(this.strategyId, err);
      throw err;
    }
    // Events marked applied while the save was in flight stay marked (and dirty).
    const moved = Object.entries(this.#applied).some(([k, v]) => k !== SAVES && v > (applied[k] ?? 0));
    for (const [k, v] of Object.entries(this.#applied)) if (v > (applied[k] ?? 0)) applied[k] = v;
    this.#applied = { ...applied };
    this.#savedApplied = { ...applied };
    this.#dirty = moved;
  }

  async saveIfDirty(): Promise<void> {
    if (this.#dirty) await this.save();
  }

  /**
   * Publishes pending decisions and sends pending commands, in order. A transport failure
   * leaves the rest for the next call (resends are idempotent). Returns the order answers
   * the bus will not carry (refused by execution, dry-run): the caller feeds them back as
   * inputs.
   */
  async release(): Promise<StrategyInput[]> {
    const d = this.#d;
    const answers: StrategyInput[] = [];
    while (this.#outbox.length > 0) {
      const entry = this.#outbox[0]!;
      for (const e of entry.envelopes) {
        if (e.published) continue;
        await d.publish(Envelope.decode(Buffer.from(e.base64, 'base64')));
        e.published = true;
        this.#dirty = true;
      }
      for (const c of entry.commands) {
        if (c.done) continue;
        try {
          if (c.kind === 'place') {
            const sendStarted = performance.now();
            const answer = await this.#place(intentFromWire(c.order), c.correlationId);
            d.onStage?.('order_sent', (performance.now() - sendStarted) / 1000);
            // Terminal answers the bus may never carry (refusals, dry-run) go back in as facts.
            if (answer.status === 'rejected' || answer.reason === DRY_RUN_REASON) {
              answers.push({ kind: 'order', nowMs: d.nowMs(), ...answer });
            }
          } else {
            await d.gateway.cancel(c.ref, c.correlationId);
          }
          c.done = true;
          this.#dirty = true;
        } catch (err) {
          d.logger.warn(
            { err, strategyId: this.strategyId, command: c.kind },
            'order command not delivered; retrying on the next tick',
          );
          return answers;
        }
      }
      this.#outbox.shift();
    }
    return answers;
  }

  async #place(intent: OrderIntent, correlationId: string): Promise<OrderSnapshot> {
    const d = this.#d;
    try {
      return await d.gateway.place(intent, correlationId);
    } catch (err) {
      if (!(err instanceof OrderRefusedError)) throw err;
      d.logger.warn(
        { strategyId: this.strategyId, clientOrderId: intent.clientOrderId, reason: err.reason },
        'order refused by the execution service',
      );
      return {
        ...intent,
        status: 'rejected',
        filled: new Decimal(0),
        reason: err.reason,
        tsEventMs: d.nowMs(),
      };
    }
  }

  #outboxEntry(
    decisions: ReadonlyArray<Decision>,
    commands: ReadonlyArray<StrategyCommand>,
  ): { entry: OutboxEntry; records: StrategyDecisionRecord[] } {
    const d = this.#d;
    const dryRun = d.gateway.dryRun;
    const envelopeIds = new Map<string, string>();
    const records: StrategyDecisionRecord[] = [];
    const envelopes = decisions.map((decision) => {
      const record = toStrategyDecisionRecord(decision, { dryRun, commands });
      records.push(record);
      const envelope = newEnvelope({
        // Deterministic: a resend of this decision after a crash is stored once.
        id: factEventId(Math.max(1, decision.nowMs), `strat|${decision.strategyId}|${decision.decisionId}`),
        source: d.source,
        tsEventMs: Math.max(1, decision.nowMs),
        tsInitMs: Math.max(1, d.nowMs()),
        payload: { $case: 'strategyDecision', value: decisionToProto(record) },
      });
      envelopeIds.set(decision.decisionId, envelope.id);
      d.logger.info(
        {
          strategyId: this.strategyId,
          decision: decision.kind,
          reasonCode: decision.reasonCode,
          ...(dryRun ? { dryRun: true } : {}),
        },
        `${dryRun ? 'DRY-RUN ' : ''}${decision.kind}: ${decision.message}`,
      );
      return {
        id: envelope.id,
        base64: Buffer.from(Envelope.encode(envelope).finish()).toString('base64'),
        published: false,
      };
    });
    const wire: Array<WireCommand & { done: boolean }> = [];
    for (const c of commands) {
      const correlationId = envelopeIds.get(c.decisionId) ?? '';
      if (c.kind === 'place') {
        wire.push({ kind: 'place', correlationId, order: orderIntentRecord(c.order), done: false });
      } else if (c.kind === 'cancel') {
        const ref = {
          clientOrderId: c.clientOrderId,
          venue: c.venue,
          account: c.account,
          instrument: c.instrument,
        };
        wire.push({ kind: 'cancel', correlationId, ref, done: false });
      } else {
        for (const ref of c.orders)
          wire.push({ kind: 'cancel', correlationId, ref: { ...ref }, done: false });
      }
    }
    return { entry: { envelopes, commands: wire }, records };
  }
}

function intentFromWire(o: OrderIntentRecord): OrderIntent {
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

/** The compare-and-set save failed: another instance saved this strategy's state. */
export class LeaseLostError extends PerpmeshError {
  constructor(strategyId: string, cause?: unknown) {
    super(
      'STRATEGY_LEASE_LOST',
      `strategy ${strategyId}: another instance took over (lease lost or state saved by someone else)`,
      cause === undefined ? undefined : { cause },
    );
  }
}
