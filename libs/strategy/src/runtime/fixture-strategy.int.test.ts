/**
 * Adding a strategy is one folder plus one registry line: a fixture strategy defined in
 * THIS file (its own config, decider and needs) is registered and runs through the real
 * runtime (runner, stepper, embedded log and store, execution over gRPC, a paper venue):
 * its decision is on the log and its order reaches the venue. The same stack shows that a
 * failed final save on a clean stop is reported, not swallowed.
 */
import assert from 'node:assert/strict';
import { after, afterEach, before, describe, test } from 'node:test';
import { roundToStep } from '@perpmesh/core';
import type { StateStore } from '@perpmesh/state';
import { eventually } from '@perpmesh/testing';
import { z } from 'zod';
import {
  accountIdSchema,
  instrumentIdSchema,
  parseWith,
  positiveConfigDecimal,
  strategyIdSchema,
  venueIdSchema,
} from '../codec.js';
import { buildDecider } from '../engine.js';
import { registerStrategy, type StrategyDefinition } from '../registry.js';
import { riskConfigSchema } from '../risk.js';
import { bestBid, marketKey } from '../world.js';
import { BTC, Stack } from './stack.test-helper.js';

// ---- the fixture strategy: what a strategies/<name>/ folder would hold --------------------

const onceConfigSchema = z.object({
  kind: z.literal('fixture_once').optional(),
  strategyId: strategyIdSchema,
  venue: venueIdSchema,
  account: accountIdSchema,
  instrument: instrumentIdSchema,
  size: positiveConfigDecimal,
  risk: riskConfigSchema,
});
type OnceConfig = z.output<typeof onceConfigSchema>;
const onceStateCodec = z.object({ placed: z.boolean() });
type OnceState = z.output<typeof onceStateCodec>;

/** Places one post-only buy 1% under the best bid, once, after the start snapshot. */
const onceDecider = (config: OnceConfig) =>
  buildDecider<OnceState, OnceConfig>(config, {
    kind: 'fixture_once',
    strategyCodec: onceStateCodec,
    initialStrategyState: () => ({ placed: false }),
    react(step) {
      if (step.strategy.placed || !step.world.started) return;
      const key = marketKey(config.venue, config.instrument);
      const bid = bestBid(step.world.books[key]);
      const market = step.world.markets[key];
      if (!bid || !market) return;
      const result = step.place(
        [
          {
            venue: config.venue,
            account: config.account,
            instrument: config.instrument,
            side: 'buy',
            type: 'limit',
            timeInForce: 'post_only',
            price: roundToStep(bid.mul('0.99'), market.tickSize, 'down'),
            size: config.size,
            reduceOnly: false,
            role: 'fixture',
          },
        ],
        {
          kind: 'place',
          reasonCode: 'fixture_once',
          message: 'the fixture places its one order',
          inputs: {},
        },
      );
      step.strategy.placed = result.ok;
    },
    closeAll: () => undefined,
  });

const fixtureOnceStrategy: StrategyDefinition<OnceConfig, OnceState> = {
  kind: 'fixture_once',
  parseConfig: (raw, field) => parseWith(onceConfigSchema, raw, field),
  makeDecider: onceDecider,
  accounts: (c) => [{ venue: c.venue, account: c.account }],
  markets: (c) => [{ venue: c.venue, instrument: c.instrument }],
};

// ---- the test ----------------------------------------------------------------------------

const VENUE = 'paper';

const instance = {
  id: 'once-1',
  kind: 'fixture_once',
  mode: 'live',
  venue: VENUE,
  account: 'main',
  instrument: BTC,
  size: '0.01',
  risk: {
    leverage: '5',
    maxLeverage: '10',
    maxNotionalPerInstrument: '100000',
    maxNotionalPerVenue: '100000',
    maxBalanceAgeMs: '10h',
  },
};

/** The stack's store, with saves that fail while `failing` is set. */
function flakyStore(store: StateStore): { store: StateStore; fail(on: boolean): void } {
  let failing = false;
  const wrapped = new Proxy(store, {
    get(target, prop, receiver) {
      if (prop === 'saveProjection' && failing) {
        return () => Promise.reject(new Error('state store unreachable'));
      }
      const value = Reflect.get(target, prop, receiver);
      return typeof value === 'function' ? value.bind(target) : value;
    },
  });
  return {
    store: wrapped,
    fail: (on) => {
      failing = on;
    },
  };
}

describe('a strategy registered from a test file runs through the runner', () => {
  let unregister: (() => void) | undefined;
  let stack: Stack | undefined;
  before(() => {
    unregister = registerStrategy(fixtureOnceStrategy);
  });
  after(() => unregister?.());
  afterEach(async () => {
    await stack?.close();
    stack = undefined;
  });

  const open = () =>
    Stack.open({
      venues: [{ venueId: VENUE }],
      accounts: [{ venueId: VENUE, accountId: 'main', deposit: '100000' }],
      instances: [instance],
    });

  test('its decision is published and its order reaches the venue', async () => {
    stack = await open();
    await stack.startStrategy();
    // The world moves until market data has a book for the strategy to act on.
    const decision = await eventually('the fixture decision on the log', async () => {
      await stack!.step(1_000);
      return (await stack!.decisions('once-1')).find((d) => d.reasonCode === 'fixture_once');
    });
    assert.equal(decision.kind, 'place');
    assert.equal(decision.orderIntents.length, 1);
    const clientOrderId = decision.orderIntents[0]!.clientOrderId;
    await eventually('the order on the venue', () =>
      stack!.venueOpenOrders(VENUE).find((o) => o.clientOrderId === clientOrderId),
    );
    assert.deepEqual(
      stack.spy(VENUE).created.map((c) => c.clientOrderId),
      [clientOrderId],
    );
    assert.equal(stack.strategy!.runner('once-1').status.state, 'running');
  });

  test('a failed final save on a clean stop is logged, returned and shown in status and readiness', async () => {
    stack = await open();
    const flaky = flakyStore(stack.state);
    const service = await stack.startStrategy({ state: flaky.store });
    const runner = service.runner('once-1');
    await eventually('the fixture order on the venue', async () => {
      await stack!.step(1_000);
      return stack!.venueOpenOrders(VENUE).length === 1;
    });
    // A step that decides nothing leaves unsaved state for the final save.
    await runner.refreshBalances();
    flaky.fail(true);

    const result = await runner.stop();
    assert.equal(result.saved, false);
    assert.match(result.saveError?.message ?? '', /state store unreachable/);
    assert.equal(runner.status.state, 'stopped');
    assert.match(runner.status.reason, /final save FAILED: state store unreachable/);
    const component = stack.strategyHealth.component('strategy/once-1/started');
    assert.match(component?.reason ?? '', /final save FAILED/);
    flaky.fail(false);
  });

  test('a clean stop whose final save works says so', async () => {
    stack = await open();
    const service = await stack.startStrategy();
    await stack.step(1_000);
    await service.runner('once-1').refreshBalances();
    const result = await service.runner('once-1').stop();
    assert.deepEqual(result, { saved: true });
    assert.equal(service.runner('once-1').status.reason, 'stopped');
  });
});
