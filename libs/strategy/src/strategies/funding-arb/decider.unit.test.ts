import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { dec, ValidationError } from '@perpmesh/core';
import { spec } from '../../decider-spec.js';
import {
  BTC,
  fullyFilled,
  funding,
  HOUR_MS,
  orderUpdate,
  placed,
  start,
  T0,
  tick,
} from '../../fixtures.test-helper.js';
import type { StrategyInput } from '../../model.js';
import { A, arbConfig, B, byVenue, market2 } from './arb-fixtures.test-helper.js';
import { fundingArbDecider, legSize } from './index.js';

describe('funding arb: restart', () => {
  const decider = fundingArbDecider(arbConfig());

  function scenario(): { inputs: StrategyInput[]; cut: number } {
    const before = [...market2('0.001', 8, '-0.0001', 1), tick(T0 + 30_000)];
    let state = decider.initialState();
    let orders: ReturnType<typeof placed> = [];
    for (const i of before) {
      const r = decider.step(state, i);
      state = r.state;
      orders = orders.concat(placed(r.commands));
    }
    const [short, long] = [byVenue(orders, A), byVenue(orders, B)];
    const t = T0 + 31_000;
    const after = [
      ...fullyFilled(short, t, '49999.5', '5'),
      orderUpdate(long, t, 'accepted'),
      tick(t + 500),
      ...fullyFilled(long, t + 1_000, '50000.5', '5'),
      tick(t + HOUR_MS),
      funding(A, t + HOUR_MS, '-0.001', 8),
      ...fullyFilled({ ...short, clientOrderId: 'x' }, t, '1', '0'), // not ours: ignored
    ];
    return { inputs: [...before, ...after], cut: before.length + 2 };
  }

  test('restoring the serialized state mid-arb and continuing gives the same decisions as never stopping', () => {
    const { inputs, cut } = scenario();
    let straight = decider.initialState();
    const straightDecisions = [];
    for (const i of inputs) {
      const r = decider.step(straight, i);
      straight = r.state;
      straightDecisions.push(...r.decisions, ...r.commands);
    }
    let resumed = decider.initialState();
    const resumedDecisions = [];
    for (const [n, i] of inputs.entries()) {
      if (n === cut) resumed = decider.deserialize(JSON.parse(JSON.stringify(decider.serialize(resumed))));
      const r = decider.step(resumed, i);
      resumed = r.state;
      resumedDecisions.push(...r.decisions, ...r.commands);
    }
    assert.deepEqual(resumedDecisions, straightDecisions);
    const json = (s: typeof resumed) => JSON.stringify(decider.serialize(s));
    assert.equal(json(resumed), json(straight));
    assert.ok(straightDecisions.some((d) => 'kind' in d && d.kind === 'exit'));
  });

  test('restart with a leg in flight: the start input adopts the open order, no duplicate legs', () => {
    const { inputs, cut } = scenario();
    let state = decider.initialState();
    for (const i of inputs.slice(0, cut)) state = decider.step(state, i).state;
    const restored = decider.deserialize(JSON.parse(JSON.stringify(decider.serialize(state))));
    const longOrder = Object.values(restored.world.orders).find((o) => o.venue === B)!;
    const t = T0 + 35_000;
    const then = spec(decider)
      .given([], restored)
      .when([
        start(t, {
          openOrders: [orderUpdate(longOrder, t, 'accepted')],
          positions: [{ venue: A, account: 'main', instrument: BTC, size: dec('-0.2'), asOfMs: t }],
        }),
        tick(t + 100),
        ...fullyFilled(longOrder, t + 200, '50000.5', '5'),
      ])
      .thenNoCommands()
      .thenDecisions([
        { kind: 'adopt', reasonCode: 'orders_resumed' },
        { kind: 'signal', reasonCode: 'legs_filled' },
      ]);
    const arb = then.result.state.strategy.arbs[BTC]!;
    assert.equal(Object.keys(arb.short.orders).length, 1);
    assert.equal(Object.keys(arb.long.orders).length, 1);
    assert.equal(legSize(arb.short).toFixed(), '-0.2');
    assert.equal(legSize(arb.long).toFixed(), '0.2');
  });

  test('state lost: positions found at start are adopted as an arb, never re-entered', () => {
    const t = T0;
    const then = spec(decider)
      .given([])
      .when([
        ...market2('0.001', 8, '-0.0001', 1).filter((i) => i.kind !== 'start'),
        start(t, {
          positions: [
            {
              venue: A,
              account: 'main',
              instrument: BTC,
              size: dec('-0.3'),
              entryPrice: dec('49000'),
              asOfMs: t,
            },
            {
              venue: B,
              account: 'main',
              instrument: BTC,
              size: dec('0.3'),
              entryPrice: dec('49010'),
              asOfMs: t,
            },
          ],
        }),
        tick(t + 60_000),
      ])
      .thenNoCommands()
      .thenDecisions([{ kind: 'adopt', reasonCode: 'positions_adopted' }]);
    assert.equal(then.result.state.strategy.arbs[BTC]!.phase, 'open');
  });

  test('deserialize rejects a state of another strategy, naming the field', () => {
    const other = fundingArbDecider(arbConfig({ strategyId: 'arb-2' }));
    assert.throws(
      () => decider.deserialize(other.serialize(other.initialState())),
      (e: unknown) => e instanceof ValidationError && e.field === 'strategyState.strategyId',
    );
    const json = JSON.parse(JSON.stringify(decider.serialize(decider.initialState())));
    json.state.world.balances['x|y'] = { total: 'abc', available: '1', equity: '1', asOfMs: 0, stale: false };
    assert.throws(
      () => decider.deserialize(json),
      (e: unknown) => e instanceof ValidationError && /balances\.x\|y\.total/.test(e.field),
    );
  });
});
