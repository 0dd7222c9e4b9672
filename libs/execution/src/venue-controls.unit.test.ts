import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { dec, ValidationError } from '@perpmesh/core';
import { StrategyHaltedError } from './errors.js';
import {
  accountSettingsFor,
  deadManSwitchPlan,
  StrategyTradingStates,
  strategyOfClientOrderId,
  tradingStateOfDecision,
} from './venue-controls.js';

describe('accountSettingsFor', () => {
  const settings = [
    { venue: 'paper', account: 'main', instrument: 'BTC-USDC-PERP', leverage: dec(5) },
    { venue: 'paper', account: 'other', instrument: 'BTC-USDC-PERP', leverage: dec(3) },
    { venue: 'okx', account: 'main', instrument: 'BTC-USDT-PERP', marginMode: 'isolated' as const },
  ];

  test("picks the account's settings when the venue supports them", () => {
    assert.deepEqual(
      accountSettingsFor(settings, 'paper', 'main', { setLeverage: true }).map((s) => s.leverage?.toFixed()),
      ['5'],
    );
    assert.deepEqual(accountSettingsFor(settings, 'paper', 'nobody', {}), []);
    assert.equal(
      accountSettingsFor(settings, 'okx', 'main', { marginModes: ['cross', 'isolated'] })[0]?.marginMode,
      'isolated',
    );
  });

  test('a setting the venue cannot take is a ValidationError naming it', () => {
    assert.throws(
      () => accountSettingsFor(settings, 'paper', 'main', { setLeverage: false }),
      (e: unknown) =>
        e instanceof ValidationError && /leverage$/.test(e.field) && /does not support/.test(e.message),
    );
    assert.throws(
      () => accountSettingsFor(settings, 'okx', 'main', { marginModes: ['cross'] }),
      (e: unknown) =>
        e instanceof ValidationError && /marginMode$/.test(e.field) && /offers: cross/.test(e.message),
    );
  });
});

describe('deadManSwitchPlan', () => {
  test('off without settings, with 0, or on a venue without the switch', () => {
    assert.equal(deadManSwitchPlan(undefined, { scheduleCancelAll: true }), undefined);
    assert.equal(deadManSwitchPlan({ afterMs: 0, refreshMs: 1 }, { scheduleCancelAll: true }), undefined);
    assert.equal(deadManSwitchPlan({ afterMs: 60_000, refreshMs: 20_000 }, {}), undefined);
  });

  test("raises the deadline to the venue's minimum and keeps the refresh under a third of it", () => {
    assert.deepEqual(deadManSwitchPlan({ afterMs: 60_000, refreshMs: 20_000 }, { scheduleCancelAll: true }), {
      afterMs: 60_000,
      refreshMs: 20_000,
    });
    assert.deepEqual(
      deadManSwitchPlan(
        { afterMs: 2_000, refreshMs: 20_000 },
        { scheduleCancelAll: true, scheduleCancelAllMinMs: 5_000 },
      ),
      { afterMs: 5_000, refreshMs: 1_666 },
    );
  });
});

describe('the kill switch as execution follows it', () => {
  test('a client order id names its strategy by the prefix before `_`', () => {
    assert.equal(strategyOfClientOrderId('arb-1_42'), 'arb-1');
    assert.equal(strategyOfClientOrderId('operator-order'), undefined);
    assert.equal(strategyOfClientOrderId('_x'), undefined);
  });

  test('only a trading_state decision with a known state moves the switch', () => {
    const decision = (kind: string, state: string) => ({
      strategyId: 'arb-1',
      kind,
      inputs: { trading_state: state },
    });
    assert.deepEqual(tradingStateOfDecision(decision('trading_state', 'halted')), {
      strategyId: 'arb-1',
      state: 'halted',
    });
    assert.equal(tradingStateOfDecision(decision('enter', 'halted')), undefined);
    assert.equal(tradingStateOfDecision(decision('trading_state', 'paused')), undefined);
  });

  test('HALTED or REDUCING refuses new exposure with StrategyHaltedError; reduce-only and other strategies pass', () => {
    const states = new StrategyTradingStates();
    const order = (clientOrderId: string, reduceOnly = false) => ({ clientOrderId, reduceOnly });
    assert.equal(states.refusal(order('arb-1_1')), undefined);
    assert.equal(states.set('arb-1', 'halted'), true);
    assert.equal(states.set('arb-1', 'halted'), false, 'no change');
    const refused = states.refusal(order('arb-1_2'));
    assert.ok(refused instanceof StrategyHaltedError);
    assert.equal(refused.code, 'FAILED_PRECONDITION');
    assert.equal(refused.strategyId, 'arb-1');
    assert.match(refused.message, /arb-1 is HALTED/);
    assert.equal(states.refusal(order('arb-1_3', true)), undefined, 'reduce-only passes');
    assert.equal(states.refusal(order('grid-1_1')), undefined, 'another strategy passes');
    assert.equal(states.refusal(order('manual')), undefined, 'an id of no strategy passes');
    states.set('arb-1', 'reducing');
    assert.ok(states.refusal(order('arb-1_4')) instanceof StrategyHaltedError);
    states.set('arb-1', 'active');
    assert.equal(states.refusal(order('arb-1_5')), undefined, 'resume allows again');
  });

  test('an account is killed only when it has strategies and all are HALTED', () => {
    const states = new StrategyTradingStates();
    assert.equal(states.allHalted([]), false);
    states.set('arb-1', 'halted');
    assert.equal(states.allHalted(['arb-1']), true);
    assert.equal(states.allHalted(['arb-1', 'grid-1']), false);
    states.set('grid-1', 'reducing');
    assert.equal(states.allHalted(['arb-1', 'grid-1']), false);
  });
});
