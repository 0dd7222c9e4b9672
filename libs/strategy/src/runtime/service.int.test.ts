/**
 * The strategy service's modes and controls end to end on paper venues (see
 * stack.test-helper.ts): dry-run never reaches a venue, pre-trade risk denies before any
 * venue call, stop leaves no own order on the book, one active instance per strategy id (a
 * clean stop hands over at once; a stalled holder is fenced when its lease lapses), and
 * StrategyService over a real gRPC server.
 */
import assert from 'node:assert/strict';
import { afterEach, describe, test } from 'node:test';
import { type ServiceError, status } from '@grpc/grpc-js';
import {
  type GetArbBookRequest,
  type GetArbBookResponse,
  type GetTradingStateRequest,
  type GetTradingStateResponse,
  type ListStrategiesRequest,
  type ListStrategiesResponse,
  type SetTradingStateRequest,
  type SetTradingStateResponse,
  StrategyMode,
  TradingState,
} from '@perpmesh/contracts';
import { dec, withTimeout } from '@perpmesh/core';
import type { StateStore } from '@perpmesh/state';
import { eventually } from '@perpmesh/testing';
import type { PaperVenueSetup } from '@perpmesh/venues';
import { MAX_OPERATOR_REASON_CHARS, type OrderRef } from '../model.js';
import { DRY_RUN_REASON, type OrderGateway, OrderGatewayUnavailableError } from './gateway.js';
import { StrategyNotRunningError } from './runner.js';
import { BTC, call, HOUR_MS, MANUAL_SETTINGS, Stack } from './stack.test-helper.js';

const A = 'paper-lighter';
const B = 'paper-extended';
const GRID_VENUE = 'paper';

function hourlyVenue(venueId: string, ratePerHour: string): PaperVenueSetup {
  return {
    venueId,
    overrides: {
      takerFeeRate: '0.0002',
      makerFeeRate: '0',
      funding: {
        intervalMs: HOUR_MS,
        interestRate: ratePerHour,
        premiumClamp: '1',
        divisor: '1',
        capPerInterval: '0.01',
      },
    },
  };
}

const RISK = {
  leverage: '5',
  maxLeverage: '10',
  maxNotionalPerInstrument: '20000',
  maxNotionalPerVenue: '50000',
  maxBalanceAgeMs: 10 * HOUR_MS,
  availableBalanceUsage: '0.5',
};

function arbInstance(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    id: 'arb-1',
    kind: 'funding_arb',
    mode: 'live',
    instruments: [BTC],
    venues: [
      { venue: A, account: 'main' },
      { venue: B, account: 'main' },
    ],
    targetNotionalPerLeg: '6000',
    holdingHorizonMs: 8 * HOUR_MS,
    entryThresholdBps: '5', // carry counts at most maxHoldingMs (2 h) of settlements
    persistenceMs: 0,
    maxHoldingMs: 2 * HOUR_MS,
    reentryCooldownMs: 24 * HOUR_MS,
    legImbalanceBudgetNotionalSeconds: '60000',
    maxBookAgeMs: 10 * HOUR_MS,
    maxFundingAgeMs: 10 * HOUR_MS,
    risk: RISK,
    ...overrides,
  };
}

/** A grid far from the market (0.5% spacing): its post-only limits rest on the book. */
function gridInstance(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    id: 'grid-1',
    kind: 'grid',
    mode: 'live',
    venue: GRID_VENUE,
    account: 'main',
    instrument: BTC,
    spacingBps: '50',
    levelsAbove: 2,
    levelsBelow: 2,
    sizePerLevel: '0.01',
    maxActiveOrders: 4,
    placementCooldownMs: 0,
    maxBookAgeMs: 10 * HOUR_MS,
    risk: RISK,
    ...overrides,
  };
}

const statusOf = (err: unknown) => (err as ServiceError).code;

describe('strategy service modes and controls (end to end on paper venues)', () => {
  let stack: Stack | undefined;
  afterEach(async () => {
    await stack?.close();
    stack = undefined;
  });

  test('a start reads the latest funding and books back from the log: no wait for the next reading of a polled venue, nor for a book to change', async () => {
    stack = await Stack.open({
      venues: [hourlyVenue(A, '0.0005'), hourlyVenue(B, '-0.0005')],
      accounts: [A, B].map((venueId) => ({ venueId, accountId: 'main', deposit: '100000' })),
      instances: [arbInstance({ mode: 'dry_run' })],
    });
    // Market data publishes funding readings and books; then nothing moves while the strategy starts.
    await stack.step(10_000);
    const md = await stack.envelopes('MD');
    const readings = md.filter((e) => e.payload?.$case === 'fundingRate');
    assert.ok(readings.length > 2, 'several funding readings per venue on the log before the start');
    assert.ok(
      md.some((e) => e.payload?.$case === 'orderBook'),
      'books on the log before the start',
    );
    // What the start reads back: the newest event per subject, not every event of the lookback
    // (tens of thousands on a streaming venue kept a loaded start there for minutes).
    const readBack: string[] = [];
    const log = stack.log;
    const read = log.read.bind(log);
    log.read = (o) => {
      const messages = read(o);
      if (!o.filterSubject?.includes('funding') && !o.filterSubject?.includes('book')) return messages;
      return {
        async *[Symbol.asyncIterator]() {
          for await (const m of messages) {
            readBack.push(m.subject);
            yield m;
          }
        },
      };
    };
    const service = await stack.startStrategy();
    const runner = service.runners()[0]!;
    const markets = [`${A}|${BTC}`, `${B}|${BTC}`].sort();
    assert.deepEqual(Object.keys(runner.world.funding).sort(), markets);
    assert.equal(readBack.length, new Set(readBack).size, `one event per subject read back: ${readBack}`);
    // The books read back are applied once the instance runs.
    await eventually(
      'the books read back',
      () => (Object.keys(runner.world.books).length === markets.length ? true : undefined),
      5_000,
    );
    assert.deepEqual(Object.keys(runner.world.books).sort(), markets);
    // A book read back counts as received when it was stored, not at the start.
    for (const key of markets) assert.ok(runner.world.books[key]!.receivedAtMs < stack.hub.nowMs);
  });

  test('dry-run: the venue receives nothing, the recorder has every intended order, every decision says DRY-RUN', async () => {
    stack = await Stack.open({
      venues: [hourlyVenue(A, '0.0005'), hourlyVenue(B, '-0.0005')],
      accounts: [A, B].map((venueId) => ({ venueId, accountId: 'main', deposit: '100000' })),
      instances: [arbInstance({ mode: 'dry_run' })],
    });
    const service = await stack.startStrategy();
    await stack.step(10_000);
    await stack.step(1_000);
    await stack.step(1_000);

    const decisions = await stack.decisions('arb-1');
    const enter = decisions.find((d) => d.kind === 'enter');
    assert.ok(enter, `the strategy decided to enter: ${JSON.stringify(decisions.map((d) => d.reasonCode))}`);
    for (const d of decisions) {
      assert.equal(d.dryRun, true, `${d.kind} ${d.reasonCode} carries dry_run`);
      assert.match(d.reason, /^DRY-RUN: /, `${d.kind} says DRY-RUN`);
    }
    const recorder = service.recorder('arb-1');
    assert.ok(recorder);
    const intended = decisions.flatMap((d) => d.orderIntents.map((o) => o.clientOrderId)).sort();
    assert.ok(intended.length >= 2);
    assert.deepEqual(recorder.orders.map((o) => o.intent.clientOrderId).sort(), intended);
    for (const o of recorder.orders.filter((r) =>
      enter.orderIntents.some((i) => i.clientOrderId === r.intent.clientOrderId),
    )) {
      assert.equal(o.correlationId, enter.envelopeId, 'correlation id = the decision event id');
    }
    // The recorder's answer is not a fill: the arb ends as an entry that never happened.
    const closed = decisions.find((d) => d.kind === 'closed');
    assert.equal(closed?.reasonCode, 'entry_failed');
    const runner = service.runner('arb-1');
    assert.ok(
      Object.values(runner.world.orders).every((o) => o.status === 'expired' && o.reason === DRY_RUN_REASON),
    );

    // Nothing reached a venue: no order call, no fill, no position, no exec event.
    for (const v of [A, B]) {
      assert.equal(stack.spy(v).created.length, 0, `${v} saw no order`);
      assert.equal(stack.hub.fills(v, 'main', 0).length, 0);
      assert.equal(stack.position(v).toFixed(), '0');
    }
    const exec = await stack.envelopes('EXEC');
    assert.equal(exec.length, 0, 'execution never heard of these orders');

    const client = stack.strategyClient();
    try {
      const list = await call<ListStrategiesRequest, ListStrategiesResponse>(
        client.listStrategies.bind(client),
        {},
      );
      assert.equal(list.strategies[0]?.mode, StrategyMode.STRATEGY_MODE_DRY_RUN);
      assert.match(list.strategies[0]?.reason ?? '', /^DRY-RUN/);
      const book = await call<GetArbBookRequest, GetArbBookResponse>(client.getArbBook.bind(client), {
        strategyId: 'arb-1',
      });
      assert.equal(book.dryRun, true);
    } finally {
      client.close();
    }
  });

  test('insufficient balance: the order is denied before any venue call, with a reason code', async () => {
    stack = await Stack.open({
      venues: [{ venueId: GRID_VENUE }],
      // 0.01 BTC at ~60,000 needs ~120 of margin at 5x; the account has 50.
      accounts: [{ venueId: GRID_VENUE, accountId: 'main', deposit: '50' }],
      instances: [gridInstance()],
    });
    await stack.startStrategy();
    await stack.step(10_000);
    const deny = await eventually('a deny decision', async () =>
      (await stack!.decisions('grid-1')).find((d) => d.kind === 'deny'),
    );
    assert.equal(deny.reasonCode, 'insufficient_available_balance');
    assert.match(deny.reason, /needs [\d.]+ margin\+fee, available 50 /);
    assert.equal(deny.inputs['risk.venue'], GRID_VENUE);
    assert.ok(dec(deny.inputs['risk.required_margin']!).gt(deny.inputs['risk.usable_available']!));
    assert.equal(deny.orderIntents.length, 0);
    const all = await stack.decisions('grid-1');
    assert.equal(all.filter((d) => d.orderIntents.length > 0).length, 0, 'no order was decided');
    assert.equal(stack.spy(GRID_VENUE).created.length, 0, 'the venue saw no order call');
    assert.equal((await stack.envelopes('EXEC')).length, 0, 'nothing reached the execution service');
  });

  test('stop cancels every open strategy order and waits until the venue shows none (a lost cancel is re-sent); positions kept', async () => {
    stack = await Stack.open({
      venues: [{ venueId: GRID_VENUE }],
      accounts: [{ venueId: GRID_VENUE, accountId: 'main', deposit: '100000' }],
      instances: [gridInstance()],
    });
    // The first cancel of one order is lost on the way (the execution service never gets it).
    let lost: string | undefined;
    const wrapOrders = (inner: OrderGateway): OrderGateway => ({
      dryRun: inner.dryRun,
      place: (intent, correlationId) => inner.place(intent, correlationId),
      listOpenOrders: (accounts) => inner.listOpenOrders(accounts),
      close: () => inner.close(),
      cancel: async (ref: OrderRef, correlationId?: string) => {
        if (lost === undefined) {
          lost = ref.clientOrderId;
          throw new OrderGatewayUnavailableError('CancelOrder: connection reset (test)');
        }
        return inner.cancel(ref, correlationId);
      },
    });
    await stack.startStrategy({ wrapOrders });
    for (let i = 0; i < 6 && stack.venueOpenOrders(GRID_VENUE).length < 4; i++) await stack.step(1_000);
    const resting = stack.venueOpenOrders(GRID_VENUE);
    assert.equal(resting.length, 4, 'the grid rests 4 orders');
    const positionBefore = stack.position(GRID_VENUE).toFixed();

    await stack.stopStrategy();

    assert.ok(lost, 'one cancel was lost');
    assert.deepEqual(stack.venueOpenOrders(GRID_VENUE), [], 'no strategy order left on the book');
    assert.equal(stack.position(GRID_VENUE).toFixed(), positionBefore, 'positions kept');
    const cancel = (await stack.decisions('grid-1')).find((d) => d.reasonCode === 'operator_cancel_all');
    assert.ok(cancel, 'the stop is a decision');
    assert.equal(cancel.cancelClientOrderIds.length, 4);
  });

  test('stop during a state store outage ends (bounded), cancels the orders through execution and names the skipped save', async () => {
    stack = await Stack.open({
      venues: [{ venueId: GRID_VENUE }],
      accounts: [{ venueId: GRID_VENUE, accountId: 'main', deposit: '100000' }],
      instances: [gridInstance()],
    });
    const outage = storeOutage(stack.state);
    const strategy = await stack.startStrategy({ state: outage.store });
    for (let i = 0; i < 6 && stack.venueOpenOrders(GRID_VENUE).length < 4; i++) await stack.step(1_000);
    assert.equal(stack.venueOpenOrders(GRID_VENUE).length, 4, 'the grid rests 4 orders');
    const positionBefore = stack.position(GRID_VENUE).toFixed();
    try {
      // The strategy's store stops answering (a redis-server restart); execution's still works.
      outage.begin();
      await stack.strategyServer?.close(100);
      stack.strategyServer = undefined;
      // The guard only catches a hang: the stop's own bounds are a few seconds.
      await withTimeout(strategy.stop(), 60_000, 'the strategy stop during the outage');
      stack.strategy = undefined;

      assert.deepEqual(stack.venueOpenOrders(GRID_VENUE), [], 'no strategy order left on the book');
      assert.equal(stack.position(GRID_VENUE).toFixed(), positionBefore, 'positions kept');
      const status = strategy.runner('grid-1').status;
      assert.equal(status.state, 'stopped');
      assert.match(status.reason, /final save FAILED: a step still waits for the state store/);
    } finally {
      outage.end();
    }
  });

  test('one active instance per strategy id: a second service waits as standby and takes over on stop', async () => {
    stack = await Stack.open({
      venues: [{ venueId: GRID_VENUE }],
      accounts: [{ venueId: GRID_VENUE, accountId: 'main', deposit: '100000' }],
      instances: [gridInstance()],
    });
    const first = await stack.startStrategy();
    const second = stack.newStrategyService();
    await second.start();
    try {
      await eventually('the second instance in standby', () =>
        /another instance holds the lease \(test-1\)/.test(second.runner('grid-1').status.reason)
          ? true
          : undefined,
      );
      assert.equal(second.runner('grid-1').status.state, 'standby');
      await stack.step(1_000);
      assert.equal(first.runner('grid-1').status.state, 'running');
      assert.equal(second.runner('grid-1').status.state, 'standby', 'still standby while the lease is held');
      for (let i = 0; i < 10 && first.runner('grid-1').recentDecisions().length === 0; i++)
        await stack.step(1_000);
      const decidedBefore = first.runner('grid-1').recentDecisions();
      assert.ok(decidedBefore.length > 0, 'the first instance decided something');
      await stack.stopStrategy();
      await second.runner('grid-1').whenRunning(5_000);
      // It resumed from the first one's saved state: the same decision sequence goes on.
      assert.ok(second.runner('grid-1').world.decisionSeq >= first.runner('grid-1').world.decisionSeq);
      // ListDecisions (the runner's recent decisions) is not empty after the takeover: the
      // earlier decisions were read back from the log.
      const seen = new Set(
        second
          .runner('grid-1')
          .recentDecisions()
          .map((d) => d.decisionId),
      );
      for (const d of decidedBefore)
        assert.ok(
          seen.has(d.decisionId),
          `decision ${d.decisionId} (${d.reasonCode}) listed after the takeover`,
        );
    } finally {
      await second.stop();
    }
  });

  test('a stalled holder stops working once its lease lapses; the standby takes over', async () => {
    stack = await Stack.open({
      venues: [{ venueId: GRID_VENUE }],
      accounts: [{ venueId: GRID_VENUE, accountId: 'main', deposit: '100000' }],
      instances: [gridInstance()],
    });
    // The lease lasts an hour of the stack's clock; renewals (wall clock) run every 50 ms.
    const settings = { ...MANUAL_SETTINGS, leaseTtlMs: HOUR_MS, leaseRenewIntervalMs: 50 };
    const stall = stallableLeaseRenewals(stack.state);
    const first = stack.newStrategyService({ state: stall.store, settings });
    await first.start();
    const second = stack.newStrategyService({ settings });
    try {
      await first.runner('grid-1').whenRunning(10_000);
      await second.start();
      await eventually('the second instance in standby', () =>
        /another instance holds the lease \(test-1\)/.test(second.runner('grid-1').status.reason)
          ? true
          : undefined,
      );
      // The first holder stalls (its renewals hang), and its lease lapses.
      stall.hang(true);
      stack.hub.advanceTo(stack.hub.nowMs + HOUR_MS + 1);

      await second.runner('grid-1').whenRunning(5_000);
      await eventually('the stalled holder fenced', () =>
        first.runner('grid-1').status.state === 'standby' ? true : undefined,
      );
      assert.match(first.runner('grid-1').status.reason, /lease expired at .* while its renewal was pending/);
      await assert.rejects(first.runner('grid-1').operator('halt', 'test'), StrategyNotRunningError);

      stall.hang(false);
      await eventually('the ex-holder names the new holder', () =>
        /another instance holds the lease \(test-2\)/.test(first.runner('grid-1').status.reason)
          ? true
          : undefined,
      );
      assert.equal(second.runner('grid-1').status.state, 'running');
    } finally {
      stall.hang(false);
      await second.stop();
      await first.stop();
    }
  });

  test('StrategyService over gRPC: ListStrategies, Get/SetTradingState (halt cancels), GetArbBook errors name the field', async () => {
    stack = await Stack.open({
      venues: [{ venueId: GRID_VENUE }],
      accounts: [{ venueId: GRID_VENUE, accountId: 'main', deposit: '100000' }],
      instances: [gridInstance()],
    });
    await stack.startStrategy();
    for (let i = 0; i < 6 && stack.venueOpenOrders(GRID_VENUE).length < 4; i++) await stack.step(1_000);
    const client = stack.strategyClient();
    try {
      const list = await call<ListStrategiesRequest, ListStrategiesResponse>(
        client.listStrategies.bind(client),
        {},
      );
      assert.equal(list.strategies.length, 1);
      const s = list.strategies[0]!;
      assert.equal(s.strategyId, 'grid-1');
      assert.equal(s.kind, 'grid');
      assert.equal(s.mode, StrategyMode.STRATEGY_MODE_LIVE);
      assert.equal(s.state, 'running');
      assert.equal(s.tradingState, TradingState.TRADING_STATE_ACTIVE);
      assert.equal(s.openOrders, 4);

      const halted = await call<SetTradingStateRequest, SetTradingStateResponse>(
        client.setTradingState.bind(client),
        { strategyId: 'grid-1', state: TradingState.TRADING_STATE_HALTED, reason: 'test kill switch' },
      );
      assert.deepEqual(halted.previous, [TradingState.TRADING_STATE_ACTIVE]);
      assert.equal(halted.strategies[0]?.tradingState, TradingState.TRADING_STATE_HALTED);
      await stack.step(1_000);
      assert.deepEqual(stack.venueOpenOrders(GRID_VENUE), [], 'HALTED canceled the open orders');
      const placedBefore = stack.spy(GRID_VENUE).created.length;
      await stack.step(1_000);
      assert.equal(stack.spy(GRID_VENUE).created.length, placedBefore, 'HALTED places nothing');
      const got = await call<GetTradingStateRequest, GetTradingStateResponse>(
        client.getTradingState.bind(client),
        {
          strategyId: '',
        },
      );
      assert.equal(got.strategies[0]?.tradingState, TradingState.TRADING_STATE_HALTED);
      const halt = (await stack.decisions('grid-1')).find((d) => d.reasonCode === 'operator_halt');
      assert.equal(halt?.inputs.note, 'test kill switch');

      await call<SetTradingStateRequest, SetTradingStateResponse>(client.setTradingState.bind(client), {
        strategyId: 'grid-1',
        state: TradingState.TRADING_STATE_ACTIVE,
        reason: 'resume',
      });
      await stack.step(1_000);
      assert.ok(stack.venueOpenOrders(GRID_VENUE).length > 0, 'ACTIVE places again');

      await assert.rejects(
        call<SetTradingStateRequest, SetTradingStateResponse>(client.setTradingState.bind(client), {
          strategyId: 'grid-1',
          state: TradingState.TRADING_STATE_UNSPECIFIED,
          reason: '',
        }),
        (err) => statusOf(err) === status.INVALID_ARGUMENT && /state/.test((err as ServiceError).details),
      );
      // An operator's reason lands in decisions, logs and events: bounded, and the field named.
      const before = (await stack.decisions('grid-1')).length;
      await assert.rejects(
        call<SetTradingStateRequest, SetTradingStateResponse>(client.setTradingState.bind(client), {
          strategyId: 'grid-1',
          state: TradingState.TRADING_STATE_HALTED,
          reason: 'r'.repeat(MAX_OPERATOR_REASON_CHARS + 1),
        }),
        (err) =>
          statusOf(err) === status.INVALID_ARGUMENT &&
          /reason: must be at most 500 characters, got 501/.test((err as ServiceError).details),
      );
      assert.equal((await stack.decisions('grid-1')).length, before, 'nothing decided on a refused reason');
      await assert.rejects(
        call<GetArbBookRequest, GetArbBookResponse>(client.getArbBook.bind(client), { strategyId: 'grid-1' }),
        (err) =>
          statusOf(err) === status.INVALID_ARGUMENT &&
          /grid-1 is a grid strategy/.test((err as ServiceError).details),
      );
      await assert.rejects(
        call<GetArbBookRequest, GetArbBookResponse>(client.getArbBook.bind(client), { strategyId: 'nope' }),
        (err) => statusOf(err) === status.NOT_FOUND && /nope/.test((err as ServiceError).details),
      );
    } finally {
      client.close();
    }
  });
});

/** The store, except that every call made while the outage lasts hangs until it ends (a store that does not answer). */
function storeOutage(store: StateStore): { store: StateStore; begin(): void; end(): void } {
  let gate: { promise: Promise<void>; open: () => void } | undefined;
  const wrapped = new Proxy(store, {
    get(target, prop, receiver) {
      const value = Reflect.get(target, prop, receiver);
      if (typeof value !== 'function') return value;
      if (prop === 'close') return value.bind(target);
      return async (...args: unknown[]) => {
        if (gate) await gate.promise;
        return value.apply(target, args);
      };
    },
  });
  return {
    store: wrapped,
    begin: () => {
      let open!: () => void;
      const promise = new Promise<void>((resolve) => {
        open = resolve;
      });
      gate ??= { promise, open };
    },
    end: () => {
      gate?.open();
      gate = undefined;
    },
  };
}

/** The store, except that the strategy lease's renewals hang while `hang(true)` (a stalled holder). */
function stallableLeaseRenewals(store: StateStore): { store: StateStore; hang(on: boolean): void } {
  let gate: { promise: Promise<void>; open: () => void } | undefined;
  const wrapped = new Proxy(store, {
    get(target, prop, receiver) {
      const value = Reflect.get(target, prop, receiver);
      if (typeof value !== 'function') return value;
      if (prop !== 'updateIdempotencyValue') return value.bind(target);
      return async (scope: string, ...rest: unknown[]) => {
        if (scope === 'strategy-lease' && gate) await gate.promise;
        return value.call(target, scope, ...rest);
      };
    },
  });
  return {
    store: wrapped,
    hang: (on) => {
      if (on && !gate) {
        let open!: () => void;
        const promise = new Promise<void>((resolve) => {
          open = resolve;
        });
        gate = { promise, open };
      } else if (!on && gate) {
        gate.open();
        gate = undefined;
      }
    },
  };
}
