import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { dec, ValidationError } from '@perpmesh/core';
import { spec } from '../../decider-spec.js';
import {
  BTC,
  balance,
  book,
  fullyFilled,
  market,
  marketsInput,
  orderUpdate,
  placed,
  start,
  T0,
  tick,
} from '../../fixtures.test-helper.js';
import type { StrategyInput } from '../../model.js';
import { gridDecider, parseGridConfig } from './decider.js';

function gridConfig(overrides: Record<string, unknown> = {}) {
  return parseGridConfig(rawGridConfig(overrides));
}

function rawGridConfig(overrides: Record<string, unknown> = {}) {
  return {
    strategyId: 'grid-1',
    venue: 'paper',
    account: 'main',
    instrument: BTC,
    spacingAbsolute: '100',
    levelsAbove: 3,
    levelsBelow: 3,
    sizePerLevel: '0.01',
    maxActiveOrders: 4,
    placementCooldownMs: 1_000,
    cleanupIntervalMs: 30_000,
    risk: {
      leverage: '5',
      maxLeverage: '10',
      maxNotionalPerInstrument: '100000',
      maxNotionalPerVenue: '100000',
      maxBalanceAgeMs: 3_600_000,
    },
    ...overrides,
  };
}

const setup = (available = '10000', atStart: Parameters<typeof start>[1] = {}): StrategyInput[] => [
  marketsInput(T0, [market('paper')]),
  balance('paper', 'main', T0, available),
  book('paper', T0, '50000'),
  start(T0, atStart),
];

describe('grid', () => {
  const decider = gridDecider(gridConfig());

  test('centers on the mid at start and places the nearest line first; cooldown between placements', () => {
    const then = spec(decider)
      .given([])
      .when(setup())
      .thenDecisions([
        { kind: 'recenter', reasonCode: 'initial_center' },
        { kind: 'place', reasonCode: 'grid_line_empty' },
      ]);
    const [first] = placed(then.result.commands);
    assert.equal(first!.side, 'buy');
    assert.equal(first!.price?.toFixed(), '49900');
    assert.equal(first!.timeInForce, 'post_only');
    assert.equal(first!.size.toFixed(), '0.01');
    const given = spec(decider).given(setup());
    given.when(tick(T0 + 999)).thenNoCommands();
    const second = placed(given.when(tick(T0 + 1_000)).result.commands);
    assert.equal(second.length, 1);
    assert.equal(second[0]!.side, 'sell');
    assert.equal(second[0]!.price?.toFixed(), '50100');
  });

  test('never more than maxActiveOrders open', () => {
    const then = spec(decider)
      .given(setup())
      .when([1, 2, 3, 4, 5, 6].map((s) => tick(T0 + s * 1_000)));
    const orders = placed(then.result.commands);
    assert.equal(orders.length, 3); // plus the one placed at start: 4
    assert.deepEqual(
      orders.map((o) => `${o.side}@${o.price?.toFixed()}`),
      ['sell@50100', 'buy@49800', 'sell@50200'],
    );
  });

  test('a filled buy empties its line; a sell goes one line above it', () => {
    const given = spec(decider).given([...setup(), tick(T0 + 1_000), tick(T0 + 2_000), tick(T0 + 3_000)]);
    const buy = Object.values(given.state.world.orders).find((o) => o.price?.eq(49900))!;
    const then = given
      .when([...fullyFilled(buy, T0 + 3_500, '49900', '0'), tick(T0 + 4_000)])
      .thenDecided({ kind: 'signal', reasonCode: 'line_buy_filled' });
    const next = placed(then.result.commands);
    assert.equal(next.length, 1);
    assert.equal(`${next[0]!.side}@${next[0]!.price?.toFixed()}`, 'sell@50000');
    assert.equal(then.result.state.strategy.emptyLevel, -1);
  });

  test('startup adopts own orders on grid lines and cancels stray ones', () => {
    const onLine = {
      clientOrderId: 'grid-1_a',
      venue: 'paper',
      account: 'main',
      instrument: BTC,
      side: 'buy' as const,
      type: 'limit' as const,
      timeInForce: 'post_only' as const,
      price: dec('49900'),
      size: dec('0.01'),
      reduceOnly: false,
    };
    const stray = { ...onLine, clientOrderId: 'grid-1_b', price: dec('12345') };
    const notOurs = { ...onLine, clientOrderId: 'other_c', price: dec('11111') };
    const then = spec(decider)
      .given([])
      .when(
        setup('10000', {
          openOrders: [
            orderUpdate(onLine, T0, 'accepted'),
            orderUpdate(stray, T0, 'accepted'),
            orderUpdate(notOurs, T0, 'accepted'),
          ],
        }),
      )
      .thenDecided({ kind: 'adopt', reasonCode: 'orders_on_grid_lines' })
      .thenDecided({ kind: 'cancel', reasonCode: 'stray_order' });
    const cancels = then.result.commands.filter((c) => c.kind === 'cancel');
    assert.deepEqual(
      cancels.map((c) => c.kind === 'cancel' && c.clientOrderId),
      ['grid-1_b'],
    );
    // The adopted buy at 49900 is not placed again: the first placement is the sell at 50100.
    assert.equal(placed(then.result.commands)[0]!.price?.toFixed(), '50100');
  });

  test('an existing long position sets the empty line below the center', () => {
    const then = spec(decider)
      .given([])
      .when(
        setup('10000', {
          positions: [{ venue: 'paper', account: 'main', instrument: BTC, size: dec('0.02'), asOfMs: T0 }],
        }),
      );
    assert.equal(then.result.state.strategy.emptyLevel, -2);
  });

  test('re-centers when the price leaves the grid', () => {
    const given = spec(decider).given([...setup(), tick(T0 + 1_000)]);
    const then = given
      .when(book('paper', T0 + 2_000, '50600'))
      .thenDecided({ kind: 'cancel', reasonCode: 'recenter' })
      .thenDecided({ kind: 'recenter', reasonCode: 'price_left_grid' });
    assert.equal(then.result.state.strategy.center?.toFixed(), '50600');
  });

  test('insufficient balance: the placement is denied before any command, with the reason, and waits the cooldown', () => {
    const big = gridDecider(gridConfig({ sizePerLevel: '1' }));
    const then = spec(big)
      .given([])
      .when([...setup('1000'), tick(T0 + 500)])
      .thenNoCommands()
      .thenDecisions([
        { kind: 'recenter', reasonCode: 'initial_center' },
        { kind: 'deny', reasonCode: 'insufficient_available_balance' },
      ]);
    assert.equal(then.result.decisions[1]!.inputs['risk.balance_available'], '1000');
  });

  test('HALTED: nothing is placed', () => {
    spec(decider)
      .given([...setup(), { kind: 'operator', nowMs: T0 + 1, action: 'halt' }])
      .when([tick(T0 + 2_000), tick(T0 + 5_000)])
      .thenNothingHappened();
  });

  test('config: exactly one spacing, errors name the field', () => {
    assert.throws(
      () => parseGridConfig(rawGridConfig({ spacingBps: '10' })),
      (e: unknown) => e instanceof ValidationError && e.field === 'grid.spacingAbsolute',
    );
  });
});
