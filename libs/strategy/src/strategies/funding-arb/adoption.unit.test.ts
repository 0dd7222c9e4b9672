import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { dec } from '@perpmesh/core';
import { spec } from '../../decider-spec.js';
import { BTC, fullyFilled, orderUpdate, placed, start, T0, tick } from '../../fixtures.test-helper.js';
import { A, arbConfig, B, market2 } from './arb-fixtures.test-helper.js';
import { fundingArbDecider, legSize } from './index.js';

const decider = fundingArbDecider(arbConfig());
/** The market of the entry tests, without its start input. */
const marketOnly = () => market2('0.001', 8, '-0.0001', 1).filter((i) => i.kind !== 'start');
const position = (venue: string, size: string, asOfMs = T0) => ({
  venue,
  account: 'main',
  instrument: BTC,
  size: dec(size),
  entryPrice: dec('50000'),
  asOfMs,
});

describe('funding arb: adoption at start', () => {
  test('positions that do not hedge each other: adopted, and the larger leg unwound reduce-only to the smaller', () => {
    const then = spec(decider)
      .given(marketOnly())
      .when(start(T0, { positions: [position(A, '-0.3'), position(B, '0.1')] }))
      .thenDecisions([
        { kind: 'adopt', reasonCode: 'positions_adopted_unbalanced' },
        { kind: 'unwind', reasonCode: 'imbalance_remaining' },
      ]);
    const arb = then.result.state.strategy.arbs[BTC]!;
    assert.equal(arb.phase, 'unwinding');
    assert.equal(arb.targetSize.toFixed(), '0.1');
    assert.equal(legSize(arb.short).toFixed(), '-0.3');
    const [order] = placed(then.result.commands);
    assert.equal(order!.venue, A);
    assert.equal(order!.side, 'buy');
    assert.equal(order!.size.toFixed(), '0.2');
    assert.equal(order!.reduceOnly, true);
  });

  test('a lone position is paired with another configured venue at zero and unwound, never hedged by a new entry', () => {
    const then = spec(decider)
      .given(marketOnly())
      .when([start(T0, { positions: [position(A, '-0.3')] }), tick(T0 + 60_000)]);
    const adopt = then.result.decisions.find((d) => d.kind === 'adopt')!;
    assert.equal(adopt.reasonCode, 'positions_adopted_unbalanced');
    assert.equal(adopt.inputs.long_venue, B);
    const orders = placed(then.result.commands);
    assert.ok(orders.length > 0);
    for (const o of orders) {
      assert.equal(o.venue, A);
      assert.equal(o.reduceOnly, true);
    }
    assert.ok(!then.result.decisions.some((d) => d.kind === 'enter'));
  });

  test('an own open order no arb in the book accounts for is canceled at start', () => {
    const stray = {
      clientOrderId: 'arb-1_42',
      venue: A,
      account: 'main',
      instrument: BTC,
      side: 'buy' as const,
      type: 'limit' as const,
      timeInForce: 'gtc' as const,
      price: dec('49000'),
      size: dec('0.1'),
      reduceOnly: false,
    };
    const then = spec(decider)
      .given(marketOnly())
      .when(start(T0, { openOrders: [orderUpdate(stray, T0, 'accepted')] }))
      .thenDecided({ kind: 'cancel', reasonCode: 'stray_order_at_start' });
    const cancels = then.result.commands.filter((c) => c.kind === 'cancel');
    assert.equal(cancels.length, 1);
  });

  test('a saved leg that differs from the venue position takes the venue size; the arb is kept and rebalanced', () => {
    const given = spec(decider).given([...market2('0.001', 8, '-0.0001', 1), tick(T0 + 30_000)]);
    const orders = Object.values(given.state.world.orders);
    const t = T0 + 31_000;
    const opened = spec(decider).given(
      orders.flatMap((o) => fullyFilled(o, t, o.side === 'sell' ? '49999.5' : '50000.5', '5')),
      given.state,
    );
    assert.equal(opened.state.strategy.arbs[BTC]!.phase, 'open');
    const then = spec(decider)
      .given([], opened.state)
      .when(start(t + 1_000, { positions: [position(A, '-0.1', t + 1_000), position(B, '0.2', t + 1_000)] }))
      .thenDecisions([
        { kind: 'adopt', reasonCode: 'position_mismatch' },
        { kind: 'signal', reasonCode: 'leg_imbalance_detected' },
      ]);
    const mismatch = then.result.decisions[0]!;
    assert.equal(mismatch.inputs.venue, A);
    assert.equal(mismatch.inputs.leg_size, '-0.2');
    assert.equal(mismatch.inputs.venue_size, '-0.1');
    assert.equal(mismatch.inputs.then, 'unwind_leading_leg');
    assert.equal(legSize(then.result.state.strategy.arbs[BTC]!.short).toFixed(), '-0.1');
    assert.equal(then.result.state.strategy.arbs[BTC]!.arbId, opened.state.strategy.arbs[BTC]!.arbId);
  });
});
