/**
 * The stepper on its own (no lease, timer or tail), on the embedded state store: inputs in,
 * state and applied sequences out, and the outbox saved before anything is released.
 */
import assert from 'node:assert/strict';
import { afterEach, beforeEach, describe, test } from 'node:test';
import { type Envelope, Subjects } from '@perpmesh/contracts';
import { ZERO } from '@perpmesh/core';
import { createLogger, createMetrics } from '@perpmesh/runtime';
import type { StateStore } from '@perpmesh/state';
import { eventually, openTestBackend, type TestBackend } from '@perpmesh/testing';
import { makeStrategyDecider, parseStrategyConfig } from '../config.js';
import { BTC, balance, book, market, marketsInput, start, T0 } from '../fixtures.test-helper.js';
import type { OrderIntent, OrderRef, OrderSnapshot, StrategyInput } from '../model.js';
import {
  DRY_RUN_REASON,
  DryRunRecorder,
  type OrderGateway,
  OrderGatewayUnavailableError,
} from './gateway.js';
import { StrategyInputJournal } from './journal.js';
import { STRATEGY_STAGES, type StrategyStageObserver, strategyStageObserver } from './metrics.js';
import { LeaseLostError, type PersistedRecord, projectionName, StrategyStepper } from './stepper.js';

const logger = createLogger({ service: 'stepper-test', level: 'silent' });
const EXEC = 'EXEC';

const gridConfig = parseStrategyConfig({
  kind: 'grid',
  strategyId: 'grid-1',
  venue: 'paper',
  account: 'main',
  instrument: BTC,
  spacingAbsolute: '100',
  levelsAbove: 2,
  levelsBelow: 2,
  sizePerLevel: '0.01',
  maxActiveOrders: 2,
  placementCooldownMs: '1s',
  risk: {
    leverage: '5',
    maxLeverage: '10',
    maxNotionalPerInstrument: '100000',
    maxNotionalPerVenue: '100000',
    maxBalanceAgeMs: '1h',
  },
});

const SETUP: StrategyInput[] = [
  marketsInput(T0, [market('paper')]),
  balance('paper', 'main', T0, '10000'),
  book('paper', T0, '50000'),
];

/** A gateway that records what it was asked, and what the store held at that moment. */
class WatchingGateway implements Pick<OrderGateway, 'place' | 'cancel' | 'dryRun'> {
  readonly dryRun = false;
  readonly placed: Array<{ intent: OrderIntent; correlationId: string; savedOutbox: number }> = [];
  readonly canceled: OrderRef[] = [];
  readonly cancelCorrelationIds: Array<string | undefined> = [];
  constructor(readonly store: StateStore) {}
  async place(intent: OrderIntent, correlationId: string): Promise<OrderSnapshot> {
    const saved = await this.store.loadProjection<PersistedRecord>(projectionName('grid-1'));
    this.placed.push({ intent, correlationId, savedOutbox: saved?.state.outbox.length ?? 0 });
    return { ...intent, status: 'accepted', filled: ZERO, tsEventMs: T0 };
  }
  async cancel(ref: OrderRef, correlationId?: string): Promise<OrderSnapshot | undefined> {
    this.canceled.push(ref);
    this.cancelCorrelationIds.push(correlationId);
    return undefined;
  }
}

describe('strategy stepper', () => {
  let backend: TestBackend;
  let store: StateStore;
  beforeEach(async () => {
    backend = await openTestBackend('embedded', { prefix: 'STEPPER', streams: false });
    store = backend.state;
  });
  afterEach(async () => {
    await backend.close();
  });

  function stepper(
    gateway: Pick<OrderGateway, 'place' | 'cancel' | 'dryRun'>,
    published: Envelope[] = [],
    onStage?: StrategyStageObserver,
  ) {
    return new StrategyStepper({
      ...(onStage ? { onStage } : {}),
      strategyId: 'grid-1',
      decider: makeStrategyDecider(gridConfig),
      store,
      publish: async (e) => {
        published.push(e);
      },
      gateway,
      logger,
      nowMs: () => T0,
      source: 'strategy/test',
    });
  }

  test('a deciding step is saved with its outbox before anything is published or sent', async () => {
    const gateway = new WatchingGateway(store);
    const published: Envelope[] = [];
    const s = stepper(gateway, published);
    s.begin({ [EXEC]: 7 });
    for (const input of SETUP) await s.step(input);
    assert.equal(s.dirty, true, 'steps that decide nothing wait for a save');
    assert.equal(await store.loadProjection(projectionName('grid-1')), undefined);

    const outcome = await s.step(start(T0), { stream: EXEC, seq: 8 });
    assert.ok(outcome.commands.length > 0, 'the grid places at start');
    assert.equal(outcome.records.length, outcome.decisions.length);

    // Saved: state, applied sequences and the outbox; nothing released yet.
    const saved = await store.loadProjection<PersistedRecord>(projectionName('grid-1'));
    assert.ok(saved);
    assert.equal(saved.applied[EXEC], 8);
    assert.equal(saved.state.outbox.length, 1);
    assert.equal(
      saved.state.outbox[0]!.commands.filter((c) => c.kind === 'place').length,
      outcome.commands.length,
    );
    assert.equal(saved.state.strategy.strategyKind, 'grid');
    assert.equal(published.length, 0);
    assert.equal(gateway.placed.length, 0);
    assert.equal(s.dirty, false);

    // Released: decisions published first, then each command, correlated to its decision.
    assert.deepEqual(await s.release(), []);
    assert.equal(published.length, outcome.decisions.length);
    assert.equal(gateway.placed.length, outcome.commands.length);
    for (const p of gateway.placed) {
      assert.equal(p.savedOutbox, 1, 'the command was in the saved outbox when it was sent');
      const decision = published.find((e) => e.id === p.correlationId)?.payload;
      assert.ok(decision?.$case === 'strategyDecision', 'correlation id = the deciding envelope id');
      assert.ok(decision.value.orderIntents.some((o) => o.clientOrderId === p.intent.clientOrderId));
    }
    assert.equal(s.outbox.length, 0);
    await s.saveIfDirty();
    const after = await store.loadProjection<PersistedRecord>(projectionName('grid-1'));
    assert.equal(after?.state.outbox.length, 0);
  });

  test('the journal flush overlaps the save; the step returns once both are done', async () => {
    let journalPublishes = 0;
    const journal = new StrategyInputJournal({
      log: {
        publish: async () => {
          journalPublishes++;
          return { stream: 'JOURNAL', seq: journalPublishes, duplicate: false };
        },
      },
      subjects: new Subjects(),
      strategyId: 'grid-1',
      config: {},
      dryRun: false,
      balanceStaleAfterMs: 15_000,
      logger,
      flushIntervalMs: 60_000,
    });
    // The store's save waits for the test: the journal must go out meanwhile.
    let openSave!: () => void;
    const saveGate = new Promise<void>((resolve) => {
      openSave = resolve;
    });
    const gatedStore = new Proxy(store, {
      get(target, key) {
        if (key === 'saveProjection') {
          return async (...args: Parameters<StateStore['saveProjection']>) => {
            await saveGate;
            return target.saveProjection(...args);
          };
        }
        const value = Reflect.get(target, key);
        return typeof value === 'function' ? value.bind(target) : value;
      },
    });
    const s = new StrategyStepper({
      strategyId: 'grid-1',
      decider: makeStrategyDecider(gridConfig),
      store: gatedStore,
      publish: async () => {},
      gateway: new WatchingGateway(store),
      logger,
      nowMs: () => T0,
      source: 'strategy/test',
      journal,
    });
    s.begin({ [EXEC]: 7 });
    for (const input of SETUP) await s.step(input);
    let stepped = false;
    const stepping = s.step(start(T0), { stream: EXEC, seq: 8 }).then(() => {
      stepped = true;
    });
    await eventually('the journal published while the save is held', () => journalPublishes === 1);
    assert.equal(stepped, false, 'the step waits for its save');
    assert.equal(await store.loadProjection(projectionName('grid-1')), undefined);
    openSave();
    await stepping;
    assert.ok(await store.loadProjection(projectionName('grid-1')), 'saved');
  });

  test("a cancel is sent with the canceling decision's envelope id as its correlation id", async () => {
    const gateway = new WatchingGateway(store);
    const published: Envelope[] = [];
    const s = stepper(gateway, published);
    s.begin({ [EXEC]: 7 });
    for (const input of SETUP) await s.step(input);
    await s.step(start(T0), { stream: EXEC, seq: 8 });
    await s.release();
    const placed = gateway.placed.length;
    assert.ok(placed > 0, 'the grid places at start');
    const outcome = await s.step({ kind: 'operator', action: 'cancel_all', nowMs: T0 + 1 });
    await s.release();
    const decision = published.find(
      (e) =>
        e.payload?.$case === 'strategyDecision' &&
        e.payload.value.decisionId === outcome.decisions[0]?.decisionId,
    );
    assert.ok(decision, 'the cancel decision is published');
    assert.equal(gateway.canceled.length, placed, 'every own order is canceled');
    assert.deepEqual(
      gateway.cancelCorrelationIds,
      gateway.canceled.map(() => decision.id),
    );
  });

  test('stage histograms: decision and persisted once per deciding step, order_sent once per order', async () => {
    const metrics = createMetrics('strategy', { defaultMetrics: false });
    const s = stepper(new WatchingGateway(store), [], strategyStageObserver(metrics));
    s.begin({ [EXEC]: 7 });
    for (const input of SETUP) await s.step(input);
    const outcome = await s.step(start(T0), { stream: EXEC, seq: 8 });
    await s.release();
    const json = await metrics.registry.getMetricsAsJSON();
    const histogram = json.find((m) => m.name === 'perpmesh_strategy_stage_seconds');
    assert.ok(histogram, 'the stage histogram is registered');
    const counts = new Map<string, number>();
    for (const v of histogram.values as Array<{
      metricName?: string;
      labels: Record<string, string>;
      value: number;
    }>) {
      if (v.metricName?.endsWith('_count')) counts.set(String(v.labels.stage), v.value);
    }
    const places = outcome.commands.filter((c) => c.kind === 'place').length;
    assert.ok(places > 0, 'the grid places at start');
    const expected = { decision: 1, persisted: 1, order_sent: places };
    for (const stage of STRATEGY_STAGES) assert.equal(counts.get(stage), expected[stage], `stage ${stage}`);
  });

  test('applied sequences: an event is folded in once; a restored stepper resumes where the save left', async () => {
    const gateway = new WatchingGateway(store);
    const s = stepper(gateway);
    s.begin({ [EXEC]: 0 });
    await s.step(SETUP[0]!, { stream: EXEC, seq: 1 });
    const again = await s.step(SETUP[0]!, { stream: EXEC, seq: 1 });
    assert.equal(again.decisions.length, 0);
    assert.equal(s.isApplied(EXEC, 1), true);
    s.markApplied(EXEC, 3);
    assert.equal(s.applied[EXEC], 3);
    for (const input of SETUP.slice(1)) await s.step(input);
    await s.step(start(T0), { stream: EXEC, seq: 4 });
    await s.saveIfDirty();

    const restored = stepper(gateway);
    assert.equal(await restored.restore(), true);
    assert.equal(restored.applied[EXEC], 4);
    assert.equal(restored.isApplied(EXEC, 4), true);
    assert.equal(restored.outbox.length, 1, 'a crash before release leaves the outbox to resend');
    assert.deepEqual(
      Object.keys(restored.state.world.orders).sort(),
      Object.keys(s.state.world.orders).sort(),
    );
    await restored.release();
    assert.ok(gateway.placed.length > 0, 'the restored outbox is sent');
  });

  test('unsent order ids: the places a release could not deliver, also after a restore; none once sent', async () => {
    const gateway = new WatchingGateway(store);
    let reachable = false;
    const flaky: Pick<OrderGateway, 'place' | 'cancel' | 'dryRun'> = {
      dryRun: false,
      place: (intent, correlationId) => {
        if (!reachable) return Promise.reject(new OrderGatewayUnavailableError('PlaceOrder: unreachable'));
        return gateway.place(intent, correlationId);
      },
      cancel: (ref, correlationId) => gateway.cancel(ref, correlationId),
    };
    const s = stepper(flaky);
    s.begin({ [EXEC]: 0 });
    for (const input of SETUP) await s.step(input);
    const outcome = await s.step(start(T0), { stream: EXEC, seq: 1 });
    const ids = outcome.commands.flatMap((c) => (c.kind === 'place' ? [c.order.clientOrderId] : []));
    assert.ok(ids.length > 0, 'the grid places at start');
    assert.deepEqual(s.unsentOrderIds(), ids, 'decided, not yet released');
    await s.release();
    assert.deepEqual(s.unsentOrderIds(), ids, 'the failed release delivered none');
    await s.saveIfDirty();

    const restored = stepper(flaky);
    assert.equal(await restored.restore(), true);
    assert.deepEqual(restored.unsentOrderIds(), ids);
    reachable = true;
    await restored.release();
    assert.deepEqual(restored.unsentOrderIds(), []);
    assert.deepEqual(
      gateway.placed.map((p) => p.intent.clientOrderId),
      ids,
    );
  });

  test('compare-and-set: a stale stepper cannot save; its step is undone and reported', async () => {
    const gateway = new WatchingGateway(store);
    const first = stepper(gateway);
    first.begin({ [EXEC]: 0 });
    for (const input of SETUP) await first.step(input);
    await first.save();

    // Another instance takes over and saves.
    const other = stepper(gateway);
    assert.equal(await other.restore(), true);
    await other.save();

    const failures: Error[] = [];
    const stale = new StrategyStepper({
      strategyId: 'grid-1',
      decider: makeStrategyDecider(gridConfig),
      store,
      publish: async () => undefined,
      gateway,
      logger,
      nowMs: () => T0,
      source: 'strategy/test',
      onSaveFailed: (err) => failures.push(err),
    });
    assert.equal(await stale.restore(), true);
    await other.step(balance('paper', 'main', T0, '10000'));
    await other.save();
    const before = stale.state;
    await assert.rejects(stale.step(start(T0), { stream: EXEC, seq: 9 }), LeaseLostError);
    assert.equal(stale.state, before, 'the state is rolled back');
    assert.equal(stale.outbox.length, 0, 'nothing decided stays in the outbox');
    assert.equal(stale.isApplied(EXEC, 9), false);
    assert.equal(failures.length, 1);
    assert.equal(gateway.placed.length, 0, 'nothing was sent');
  });

  test('answers the bus will not carry (dry-run) come back as order inputs', async () => {
    const recorder = new DryRunRecorder({ nowMs: () => T0 });
    const s = stepper(recorder);
    s.begin({});
    for (const input of SETUP) await s.step(input);
    const outcome = await s.step(start(T0));
    const answers = await s.release();
    assert.equal(answers.length, outcome.commands.length);
    for (const a of answers) {
      assert.equal(a.kind, 'order');
      assert.equal((a as Extract<StrategyInput, { kind: 'order' }>).reason, DRY_RUN_REASON);
    }
    assert.equal(recorder.orders.length, outcome.commands.length);
  });
});
