import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { dec } from '@perpmesh/core';
import { spec } from '../../decider-spec.js';
import {
  BTC,
  balance,
  book,
  fill,
  fullyFilled,
  funding,
  market,
  marketsInput,
  orderUpdate,
  placed,
  start,
  T0,
  tick,
} from '../../fixtures.test-helper.js';
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

  test('a saved open order the venue no longer lists is treated as done, with a decision saying so', () => {
    const given = spec(decider).given([...market2('0.001', 8, '-0.0001', 1), tick(T0 + 30_000)]);
    const ids = Object.keys(given.state.world.orders).sort();
    const then = spec(decider)
      .given([], given.state)
      .when(start(T0 + 40_000))
      .thenDecided({ kind: 'adopt', reasonCode: 'orders_missing_at_start' });
    const missing = then.result.decisions.find((d) => d.reasonCode === 'orders_missing_at_start')!;
    assert.equal(missing.inputs.action, 'treated_as_done');
    assert.deepEqual(missing.inputs.client_order_ids!.split(',').sort(), ids);
    for (const id of ids) assert.equal(then.result.state.world.orders[id]!.status, 'expired');
  });
});

describe('funding arb: a restart mid-entry (both legs sent, fills not all recorded)', () => {
  const t = T0 + 31_000;
  const restartAt = t + 1_000;
  /** The saved state right after the entry: both leg orders sent, the fills of `recorded` venues in the book. */
  const midEntry = (recorded: ReadonlyArray<string>) => {
    const entered = spec(decider).given([...market2('0.001', 8, '-0.0001', 1), tick(T0 + 30_000)]);
    const orders = Object.values(entered.state.world.orders);
    assert.equal(orders.length, 2, 'both legs were sent');
    const saved = spec(decider).given(
      orders
        .filter((o) => recorded.includes(o.venue))
        .flatMap((o) => fullyFilled(o, t, o.side === 'sell' ? '49999.5' : '50000.5', '5')),
      entered.state,
    );
    assert.equal(saved.state.strategy.arbs[BTC]!.phase, 'entering');
    return { saved, orders };
  };
  const restart = (recorded: ReadonlyArray<string>, sizeA: string, sizeB: string) => {
    const { saved, orders } = midEntry(recorded);
    // A flat venue is reported as a zero position (the saved book may hold a fill there).
    const positions = [position(A, sizeA, restartAt), position(B, sizeB, restartAt)];
    // The venues list no open order: both IOC legs are done.
    const then = spec(decider)
      .given([], saved.state)
      .when([start(restartAt, { positions }), tick(restartAt + 1_000)]);
    return { then, orders };
  };
  const reconciled = (then: ReturnType<typeof restart>['then']) => {
    const decisions = then.result.decisions.filter((d) => d.reasonCode === 'position_mismatch');
    assert.equal(
      decisions.length,
      1,
      'one decision per arb says how its legs were reconciled from the venues',
    );
    return decisions[0]!;
  };
  const assertHedgedOpen = (then: ReturnType<typeof restart>['then']) => {
    const arb = then.result.state.strategy.arbs[BTC]!;
    assert.equal(arb.phase, 'open');
    assert.equal(legSize(arb.short).toFixed(), '-0.2');
    assert.equal(legSize(arb.long).toFixed(), '0.2');
    assert.deepEqual(placed(then.result.commands), [], 'no unwind, no hedge');
    assert.ok(!then.result.decisions.some((d) => d.kind === 'unwind' || d.kind === 'hedge'));
  };

  test('no fill recorded, the venues show equal and opposite legs: the arb is open and hedged, nothing unwound', () => {
    const { then, orders } = restart([], '-0.2', '0.2');
    then.thenDecisions([
      { kind: 'adopt', reasonCode: 'orders_missing_at_start' },
      { kind: 'adopt', reasonCode: 'position_mismatch' },
      { kind: 'signal', reasonCode: 'legs_filled' },
    ]);
    const decision = reconciled(then);
    assert.equal(decision.inputs.action, 'leg_set_to_venue_size');
    assert.equal(decision.inputs.then, 'legs_match');
    assert.equal(decision.inputs.venue, `${A},${B}`);
    assert.equal(decision.inputs.leg_size, '0,0');
    assert.equal(decision.inputs.venue_size, '-0.2,0.2');
    assert.equal(decision.inputs.imbalance, '0');
    assert.doesNotMatch(decision.message, /unwound/);
    assertHedgedOpen(then);
    for (const o of orders) assert.equal(then.result.state.world.orders[o.clientOrderId]!.status, 'expired');
  });

  test('fills the saved book had not applied arrive after the start: the legs already hold them, nothing unwound', () => {
    // The runtime replays the events its saved state had not applied after the start input:
    // fills that happened (at t) before the venues' positions were read, and are in them.
    const { then, orders } = restart([], '-0.2', '0.2');
    const late = restartAt + 2_000;
    const replayed = orders.flatMap((o) =>
      fullyFilled(o, late, o.side === 'sell' ? '49999.5' : '50000.5', '5').map((i) => ({
        ...i,
        tsEventMs: t,
      })),
    );
    const after = spec(decider)
      .given([], then.result.state)
      .when([...replayed, tick(late + 1_000), tick(late + 120_000)]);
    const arb = after.result.state.strategy.arbs[BTC]!;
    assert.equal(arb.phase, 'open');
    assert.equal(legSize(arb.short).toFixed(), '-0.2');
    assert.equal(legSize(arb.long).toFixed(), '0.2');
    assert.deepEqual(placed(after.result.commands), [], 'no unwind, no hedge');
    assert.ok(!after.result.decisions.some((d) => d.kind === 'unwind' || d.kind === 'hedge'));
    // The fills' fees are the arb's; their sizes were already in the legs.
    assert.equal(arb.short.position.fees.toFixed(), '5');
    assert.equal(arb.short.position.size.toFixed(), '-0.2');
    // Adopted at the venue's entry price (50000), re-priced at the fill's when it arrived.
    assert.equal(arb.short.position.entryPrice?.toFixed(), '49999.5');
    assert.equal(arb.long.position.entryPrice?.toFixed(), '50000.5');
    assert.equal(arb.short.position.tradingPnl.toFixed(), '0');
  });

  test('a leg order still listed at start counts with its listed fill; only what it fills later moves the leg', () => {
    const { saved, orders } = midEntry([B]);
    const short = orders.find((o) => o.venue === A)!;
    const then = spec(decider)
      .given([], saved.state)
      .when(
        start(restartAt, {
          positions: [position(A, '-0.1', restartAt), position(B, '0.2', restartAt)],
          openOrders: [orderUpdate(short, restartAt, 'partially_filled', '0.1')],
        }),
      );
    assert.ok(
      !then.result.decisions.some((d) => d.reasonCode === 'position_mismatch'),
      'the legs match the venues',
    );
    then.thenDecided({ kind: 'adopt', reasonCode: 'orders_resumed' });
    const late = restartAt + 2_000;
    const after = spec(decider)
      .given([], then.result.state)
      .when([
        // The first half (before the restart, in the venue position) replayed, then the rest.
        { ...fill(short, late, '49999.5', '0.1', '2.5'), tsEventMs: t },
        fill(short, late + 1_000, '49999.5', '0.1', '2.5'),
        orderUpdate(short, late + 1_000, 'filled', '0.2', { avgFillPrice: '49999.5' }),
        tick(late + 2_000),
      ]);
    const arb = after.result.state.strategy.arbs[BTC]!;
    assert.equal(legSize(arb.short).toFixed(), '-0.2');
    assert.equal(legSize(arb.long).toFixed(), '0.2');
    assert.equal(arb.phase, 'open');
    assert.deepEqual(placed(after.result.commands), []);
  });

  test('only the short leg fill recorded: the long leg is taken from its venue, the arb is open and hedged', () => {
    const { then } = restart([A], '-0.2', '0.2');
    const decision = reconciled(then);
    assert.equal(decision.inputs.venue, B);
    assert.equal(decision.inputs.then, 'legs_match');
    assertHedgedOpen(then);
  });

  test('only the long leg fill recorded: the short leg is taken from its venue, the arb is open and hedged', () => {
    const { then } = restart([B], '-0.2', '0.2');
    const decision = reconciled(then);
    assert.equal(decision.inputs.venue, A);
    assert.equal(decision.inputs.leg_size, '0');
    assert.equal(decision.inputs.venue_size, '-0.2');
    assert.equal(decision.inputs.then, 'legs_match');
    assertHedgedOpen(then);
  });

  test('positions unequal by less than a lot: within the lot the legs match, the arb is open, nothing unwound', () => {
    const { then } = restart([], '-0.2', '0.1995');
    const decision = reconciled(then);
    assert.equal(decision.inputs.then, 'legs_match');
    const arb = then.result.state.strategy.arbs[BTC]!;
    assert.equal(arb.phase, 'open');
    assert.equal(legSize(arb.long).toFixed(), '0.1995');
    assert.deepEqual(placed(then.result.commands), []);
  });

  test('only the short leg shows on its venue: the lagging long leg is topped up, as the entry rules say', () => {
    const { then } = restart([], '-0.2', '0');
    const decision = reconciled(then);
    assert.equal(decision.inputs.venue, A);
    assert.equal(decision.inputs.then, 'rebalance_legs');
    assert.match(decision.message, /short leg leads by 0\.2/);
    then.thenDecided({ kind: 'hedge', reasonCode: 'lagging_leg_expired' });
    const [order] = placed(then.result.commands);
    assert.equal(order!.venue, B);
    assert.equal(order!.side, 'buy');
    assert.equal(order!.size.toFixed(), '0.2');
    assert.equal(order!.reduceOnly, false);
  });

  test('the short leg recorded but flat on its venue, the long leg on its venue: the short leg is topped up again', () => {
    // The short fill is in the book, the venue shows nothing there: the long leg leads, and
    // the short leg's last order filled (it was not rejected), so the entry rules hedge first.
    const { then } = restart([A], '0', '0.2');
    const decision = reconciled(then);
    assert.equal(decision.inputs.venue, `${A},${B}`);
    assert.equal(decision.inputs.leg_size, '-0.2,0');
    assert.equal(decision.inputs.venue_size, '0,0.2');
    assert.match(decision.message, /long leg leads by 0\.2/);
    assert.equal(decision.inputs.then, 'rebalance_legs');
    then.thenDecided({ kind: 'hedge', reasonCode: 'lagging_leg_filled' });
    const [order] = placed(then.result.commands);
    assert.equal(order!.venue, A);
    assert.equal(order!.side, 'sell');
    assert.equal(order!.size.toFixed(), '0.2');
  });
});

describe('funding arb: a leg order still in flight at a restart (not yet delivered to execution)', () => {
  const t = T0 + 31_000;
  const restartAt = t + 1_000;
  /**
   * Both legs decided; the short one reached its venue and filled (in the venue position,
   * its fill not recorded), the long one's PlaceOrder is still in the runtime's outbox: no
   * venue lists it and its venue is flat.
   */
  const restartWithLongInFlight = () => {
    const entered = spec(decider).given([...market2('0.001', 8, '-0.0001', 1), tick(T0 + 30_000)]);
    const orders = Object.values(entered.state.world.orders);
    const short = orders.find((o) => o.venue === A)!;
    const long = orders.find((o) => o.venue === B)!;
    const then = spec(decider)
      .given([], entered.state)
      .when([
        start(restartAt, {
          positions: [position(A, '-0.2', restartAt), position(B, '0', restartAt)],
          unsentOrderIds: [long.clientOrderId],
        }),
        tick(restartAt + 1_000),
      ]);
    return { then, short, long };
  };

  test('at the start the in-flight order is awaited, not done: nothing is topped up or unwound', () => {
    const { then, short, long } = restartWithLongInFlight();
    then.thenDecisions([
      { kind: 'adopt', reasonCode: 'orders_missing_at_start' },
      { kind: 'adopt', reasonCode: 'orders_in_flight_at_start' },
      { kind: 'adopt', reasonCode: 'position_mismatch' },
    ]);
    const inFlight = then.result.decisions.find((d) => d.reasonCode === 'orders_in_flight_at_start')!;
    assert.equal(inFlight.inputs.client_order_ids, long.clientOrderId);
    assert.equal(inFlight.inputs.action, 'awaited');
    const missing = then.result.decisions.find((d) => d.reasonCode === 'orders_missing_at_start')!;
    assert.equal(missing.inputs.client_order_ids, short.clientOrderId);
    assert.equal(then.result.state.world.orders[long.clientOrderId]!.status, 'submitted');
    const arb = then.result.state.strategy.arbs[BTC]!;
    assert.equal(arb.phase, 'entering');
    assert.equal(legSize(arb.short).toFixed(), '-0.2');
    assert.equal(legSize(arb.long).toFixed(), '0');
    assert.deepEqual(placed(then.result.commands), [], 'the in-flight order covers the long leg');
  });

  test('the in-flight order fills after the start: the legs hold it once, the arb opens, no extra order', () => {
    const { then, short, long } = restartWithLongInFlight();
    const late = restartAt + 2_000;
    const after = spec(decider)
      .given([], then.result.state)
      .when([
        ...fullyFilled(long, late, '50000.5', '5'),
        // The short fill happened before the venues were read: replayed, already in the leg.
        ...fullyFilled(short, late + 500, '49999.5', '5').map((i) => ({ ...i, tsEventMs: t })),
        tick(late + 1_000),
        tick(late + 120_000),
      ]);
    const arb = after.result.state.strategy.arbs[BTC]!;
    assert.equal(arb.phase, 'open');
    assert.equal(legSize(arb.short).toFixed(), '-0.2');
    assert.equal(legSize(arb.long).toFixed(), '0.2');
    assert.equal(arb.long.position.size.toFixed(), '0.2');
    assert.deepEqual(placed(after.result.commands), [], 'no hedge, no unwind');
    assert.ok(!after.result.decisions.some((d) => d.kind === 'unwind' || d.kind === 'hedge'));
  });

  test('the in-flight order is canceled after a partial fill: only the size it did not fill is topped up', () => {
    const { then, long } = restartWithLongInFlight();
    const late = restartAt + 2_000;
    const after = spec(decider)
      .given([], then.result.state)
      .when([
        fill(long, late, '50000.5', '0.05', '1.25'),
        orderUpdate(long, late, 'canceled', '0.05'),
        tick(late + 1_000),
      ]);
    const arb = after.result.state.strategy.arbs[BTC]!;
    assert.equal(legSize(arb.short).toFixed(), '-0.2');
    assert.equal(legSize(arb.long).toFixed(), '0.05');
    after.thenDecided({ kind: 'hedge', reasonCode: 'lagging_leg_canceled' });
    const orders = placed(after.result.commands);
    assert.equal(orders.length, 1, 'one top-up, for what the canceled order left');
    assert.equal(orders[0]!.venue, B);
    assert.equal(orders[0]!.side, 'buy');
    assert.equal(orders[0]!.size.toFixed(), '0.15');
  });
});

describe('funding arb: stray positions at start', () => {
  const C = 'paper-c';
  const three = fundingArbDecider(
    arbConfig({
      venues: [
        { venue: A, account: 'main' },
        { venue: B, account: 'main' },
        { venue: C, account: 'main' },
      ],
    }),
  );
  const threeMarkets = () => [
    ...marketOnly(),
    marketsInput(T0, [market(A), market(B), market(C)]),
    balance(C, 'main', T0, '5000', '20000'),
    book(C, T0, '50000'),
    funding(C, T0, '0', 8),
  ];

  test('a third venue beside an adopted hedged pair: its position is unwound reduce-only, the pair adopted', () => {
    const then = spec(three)
      .given(threeMarkets())
      .when(start(T0, { positions: [position(A, '-0.1'), position(B, '0.1'), position(C, '0.05')] }))
      .thenDecisions([
        { kind: 'adopt', reasonCode: 'positions_adopted' },
        { kind: 'unwind', reasonCode: 'stray_position_unwound' },
      ]);
    const stray = then.result.decisions[1]!;
    assert.equal(stray.inputs.venue, C);
    assert.equal(stray.inputs.action, 'unwound');
    const [order] = placed(then.result.commands);
    assert.equal(order!.venue, C);
    assert.equal(order!.side, 'sell');
    assert.equal(order!.size.toFixed(), '0.05');
    assert.equal(order!.reduceOnly, true);
    assert.equal(then.result.state.strategy.arbs[BTC]!.phase, 'open');
  });

  test('a position beside a saved arb on other venues is unwound; the arb keeps its legs', () => {
    const given = spec(three).given([...threeMarkets(), start(T0), tick(T0 + 30_000)]);
    const orders = Object.values(given.state.world.orders);
    assert.equal(orders.length, 2, 'the arb entered on two venues');
    const t = T0 + 31_000;
    const opened = spec(three).given(
      orders.flatMap((o) => fullyFilled(o, t, o.side === 'sell' ? '49999.5' : '50000.5', '5')),
      given.state,
    );
    const arb = opened.state.strategy.arbs[BTC]!;
    const other = [A, B, C].find((v) => v !== arb.short.venue && v !== arb.long.venue)!;
    const then = spec(three)
      .given([], opened.state)
      .when(
        start(t + 1_000, {
          positions: [
            position(arb.short.venue, '-0.2', t + 1_000),
            position(arb.long.venue, '0.2', t + 1_000),
            position(other, '-0.3', t + 1_000),
          ],
        }),
      )
      .thenDecided({ kind: 'unwind', reasonCode: 'stray_position_unwound' });
    const [order] = placed(then.result.commands);
    assert.equal(order!.venue, other);
    assert.equal(order!.side, 'buy');
    assert.equal(order!.size.toFixed(), '0.3');
    assert.equal(order!.reduceOnly, true);
    assert.equal(then.result.state.strategy.arbs[BTC]!.arbId, arb.arbId);
  });
});
