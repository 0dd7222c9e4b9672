import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { dec } from '@perpmesh/core';
import fc from 'fast-check';
import { spec } from '../../decider-spec.js';
import type { StrategyState } from '../../engine.js';
import {
  BTC,
  book,
  fill,
  fullyFilled,
  funding,
  HOUR_MS,
  orderUpdate,
  placed,
  T0,
  tick,
} from '../../fixtures.test-helper.js';
import type { StrategyInput } from '../../model.js';
import { A, arbConfig, B, byVenue, market2 } from './arb-fixtures.test-helper.js';
import { type FundingArbState, fundingArbDecider, legSize } from './index.js';

describe('funding arb: full cycle', () => {
  test('enters, collects funding on both legs, exits on spread reversal; the book shows carry net of fees', () => {
    const decider = fundingArbDecider(arbConfig());
    let state = decider.initialState();
    const all: ReturnType<typeof decider.step>[] = [];
    const feed = (input: StrategyInput) => {
      const r = decider.step(state, input);
      state = r.state;
      all.push(r);
      return r;
    };
    for (const i of market2('0.001', 8, '-0.0001', 1)) feed(i);
    const entry = feed(tick(T0 + 30_000));
    const [short, long] = [byVenue(placed(entry.commands), A), byVenue(placed(entry.commands), B)];
    let t = T0 + 31_000;
    for (const i of fullyFilled(short, t, '49999.5', '4.99995')) feed(i);
    for (const i of fullyFilled(long, t, '50000.5', '5.00005')) feed(i);
    assert.equal(state.strategy.arbs[BTC]!.phase, 'open');

    // 24 h: B pays the long 1 per hour (negative rate), A pays the short 10 every 8 h.
    for (let h = 1; h <= 24; h++) {
      t = T0 + h * HOUR_MS;
      feed({
        kind: 'funding_payment',
        nowMs: t,
        venue: B,
        account: 'main',
        instrument: BTC,
        amount: dec(1),
        fundingTimeMs: t,
        paymentId: `b${h}`,
      });
      if (h % 8 === 0) {
        feed({
          kind: 'funding_payment',
          nowMs: t,
          venue: A,
          account: 'main',
          instrument: BTC,
          amount: dec(10),
          fundingTimeMs: t,
          paymentId: `a${h}`,
        });
      }
      assert.deepEqual(feed(tick(t + 1)).commands, []);
    }
    // A re-delivered payment is not counted twice.
    feed({
      kind: 'funding_payment',
      nowMs: t + 2,
      venue: B,
      account: 'main',
      instrument: BTC,
      amount: dec(1),
      fundingTimeMs: t,
      paymentId: 'b24',
    });
    const arb = state.strategy.arbs[BTC]!;
    assert.equal(arb.short.position.funding.toFixed(), '30');
    assert.equal(arb.long.position.funding.toFixed(), '24');

    // The spread reverses: exit with reduce-only orders sized to the legs.
    t += 10_000;
    feed(funding(A, t, '-0.0001', 8));
    const exit = feed(funding(B, t, '0.0001', 1));
    assert.deepEqual(
      exit.decisions.map((d) => `${d.kind}/${d.reasonCode}`),
      ['exit/spread_reversal'],
    );
    const exits = placed(exit.commands);
    assert.equal(exits.length, 2);
    for (const o of exits) {
      assert.equal(o.reduceOnly, true);
      assert.equal(o.size.toFixed(), '0.2');
    }
    assert.equal(byVenue(exits, A).side, 'buy');
    assert.equal(byVenue(exits, B).side, 'sell');
    t += 1_000;
    for (const i of fullyFilled(byVenue(exits, A), t, '50000.5', '5.00005')) feed(i);
    const closing = fullyFilled(byVenue(exits, B), t, '49999.5', '4.99995').map(feed);
    const closed = closing.flatMap((r) => r.decisions).find((d) => d.kind === 'closed');
    assert.ok(closed, 'a closed decision');
    assert.equal(closed.reasonCode, 'spread_reversal');

    assert.equal(state.strategy.arbs[BTC], undefined);
    const result = state.strategy.closed[0]!.result!;
    assert.equal(result.funding_received, '54');
    assert.equal(result.fees, '20');
    assert.equal(result.trading_pnl, '-0.4');
    assert.equal(result.carry_net_of_fees, '34');
    assert.equal(result.net_pnl, '33.6');
    assert.equal(result['short.funding_received'], '30');
    assert.equal(result['long.funding_received'], '24');

    // Every decision carries its inputs, and every command names a decision that exists.
    const decisions = all.flatMap((r) => r.decisions);
    const ids = new Set(decisions.map((d) => d.decisionId));
    for (const c of all.flatMap((r) => r.commands)) assert.ok(ids.has(c.decisionId));
    for (const d of decisions) assert.ok(Object.keys(d.inputs).length > 0, `${d.kind} has inputs`);
  });
});

describe('funding arb: settlements', () => {
  test('exits ahead of a settlement that costs more than staying earns', () => {
    // 20 h left: A's 8 h settlements fall twice in it, B's hourly ones 19 times after the imminent one.
    const decider = fundingArbDecider(arbConfig({ maxHoldingMs: 20 * HOUR_MS }));
    const given = spec(decider).given([...market2('0.001', 8, '-0.0001', 1), tick(T0 + 30_000)]);
    const t = T0 + 31_000;
    const open = Object.values(given.state.world.orders).flatMap((o) =>
      fullyFilled(o, t, o.side === 'sell' ? '49999.5' : '50000.5', '5'),
    );
    // The long venue now charges 0.1 % at a settlement 60 s away (10 on 10000); the per-hour
    // spread is barely positive (3 over the horizon).
    const then = spec(decider)
      .given(open, given.state)
      .when([
        funding(A, t + 1_000, '0.0081', 8),
        funding(B, t + 1_000, '0.001', 1, { nextFundingTimeMs: t + 61_000 }),
      ])
      .thenDecided({ kind: 'exit', reasonCode: 'adverse_settlement' });
    const exit = then.result.decisions.find((d) => d.kind === 'exit')!;
    assert.equal(exit.inputs['paper-b.next_settlement_payment'], '-10');
    assert.ok(placed(then.result.commands).every((o) => o.reduceOnly));
  });

  test('the stay value counts the settlements inside the time left, per leg, not the per-hour spread times it', () => {
    // Entered for A's settlement an hour away; 6 h horizon.
    const decider = fundingArbDecider(arbConfig({ holdingHorizonMs: 6 * HOUR_MS }));
    const given = spec(decider).given([
      ...market2('0.001', 8, '-0.0001', 1),
      funding(A, T0, '0.01', 8, { nextFundingTimeMs: T0 + HOUR_MS }),
      tick(T0 + 30_000),
    ]);
    const t = T0 + 31_000;
    const open = Object.values(given.state.world.orders).flatMap((o) =>
      fullyFilled(o, t, o.side === 'sell' ? '49999.5' : '50000.5', '5'),
    );
    assert.equal(open.length > 0, true, 'the arb entered');
    // Per hour the spread is wide (A 0.0081 / 8 h > B 0.0002 / h: 48.75 over the 6 h left),
    // but A's next settlement is 7 h away: inside the 6 h left the short earns nothing, while
    // the long pays B 2 now and 2 at each of the 5 hourly settlements after it.
    const then = spec(decider)
      .given(open, given.state)
      .when([
        funding(A, t + 1_000, '0.0081', 8, { nextFundingTimeMs: t + 7 * HOUR_MS }),
        funding(B, t + 1_000, '0.0002', 1, { nextFundingTimeMs: t + 61_000 }),
      ])
      .thenDecided({ kind: 'exit', reasonCode: 'adverse_settlement' });
    const exit = then.result.decisions.find((d) => d.kind === 'exit')!;
    assert.equal(exit.inputs.stay_value, '-10');
    assert.equal(exit.inputs['paper-b.next_settlement_payment'], '-2');
  });

  test('a non-urgent exit waits for a settlement that pays us', () => {
    const decider = fundingArbDecider(arbConfig());
    const given = spec(decider).given([...market2('0.001', 8, '-0.0001', 1), tick(T0 + 30_000)]);
    const t = T0 + 31_000;
    const open = Object.values(given.state.world.orders).flatMap((o) =>
      fullyFilled(o, t, o.side === 'sell' ? '49999.5' : '50000.5', '5'),
    );
    // Spread reversed per hour, but A pays the short its 8 h lump in 60 s.
    spec(decider)
      .given(open, given.state)
      .when([
        funding(A, t + 1_000, '0.001', 8, { nextFundingTimeMs: t + 61_000 }),
        funding(B, t + 1_000, '0.0002', 1),
      ])
      .thenNoCommands()
      .thenDecided({ kind: 'signal', reasonCode: 'exit_deferred_for_settlement' });
  });
});

describe('funding arb: leg failures', () => {
  test('one leg rejected (insufficient margin): the other is unwound within the budget, no orphan position', () => {
    const decider = fundingArbDecider(arbConfig());
    const given = spec(decider).given([...market2('0.001', 8, '-0.0001', 1), tick(T0 + 30_000)]);
    const arbOrders = Object.values(given.state.world.orders);
    const short = arbOrders.find((o) => o.venue === A)!;
    const long = arbOrders.find((o) => o.venue === B)!;
    const asIntent = (o: typeof short) => o;
    const t = T0 + 31_000;
    const step1 = given.when([
      ...fullyFilled(asIntent(short), t, '49999.5', '4.99995'),
      orderUpdate(asIntent(long), t, 'rejected', '0', { reason: 'insufficient margin' }),
    ]);
    step1.thenDecisions([{ kind: 'unwind', reasonCode: 'leg_rejected' }]);
    const unwindOrder = placed(step1.result.commands)[0]!;
    assert.equal(unwindOrder.venue, A);
    assert.equal(unwindOrder.side, 'buy');
    assert.equal(unwindOrder.reduceOnly, true);
    assert.equal(unwindOrder.size.toFixed(), '0.2');
    const unwindDecision = step1.result.decisions[0]!;
    assert.equal(unwindDecision.inputs.lagging_last_reason, 'insufficient margin');

    const step2 = spec(decider)
      .given([], step1.result.state)
      .when(fullyFilled(unwindOrder, t + 500, '50000.5', '5.00005'))
      .thenDecided({ kind: 'closed', reasonCode: 'entry_failed' })
      .thenNoCommands();
    const state = step2.result.state;
    assert.equal(state.world.positions[`${A}|main|${BTC}`]!.size.toFixed(), '0');
    assert.equal(state.world.positions[`${B}|main|${BTC}`], undefined);
    const closedArb = state.strategy.closed[0]!;
    assert.ok(closedArb.imbalanceUsedNotionalSeconds.lt(dec(200000)), 'within the budget');
    assert.equal(legSize(closedArb.short).toFixed(), '0');
  });

  test('a partial fill is hedged on the lagging leg, then the arb opens at full size', () => {
    const decider = fundingArbDecider(arbConfig());
    const given = spec(decider).given([...market2('0.001', 8, '-0.0001', 1), tick(T0 + 30_000)]);
    const orders = Object.values(given.state.world.orders);
    const short = orders.find((o) => o.venue === A)!;
    const long = orders.find((o) => o.venue === B)!;
    const t = T0 + 31_000;
    const step1 = given.when([
      ...fullyFilled(short, t, '49999.5', '4.99995'),
      fill(long, t, '50000.5', '0.15', '3.75'),
      orderUpdate(long, t, 'canceled', '0.15', { reason: 'ioc remainder' }),
    ]);
    step1.thenDecisions([{ kind: 'hedge', reasonCode: 'lagging_leg_canceled' }]);
    const hedgeOrder = placed(step1.result.commands)[0]!;
    assert.equal(hedgeOrder.venue, B);
    assert.equal(hedgeOrder.side, 'buy');
    assert.equal(hedgeOrder.size.toFixed(), '0.05');
    spec(decider)
      .given([], step1.result.state)
      .when(fullyFilled(hedgeOrder, t + 200, '50000.5', '1.25'))
      .thenDecisions([{ kind: 'signal', reasonCode: 'legs_filled' }]);
  });

  test('budget spent while the lagging order hangs: it is canceled, then the leader unwound', () => {
    const decider = fundingArbDecider(
      arbConfig({ legImbalanceBudgetNotionalSeconds: '20000', orderTimeoutMs: 60_000 }),
    );
    const given = spec(decider).given([...market2('0.001', 8, '-0.0001', 1), tick(T0 + 30_000)]);
    const orders = Object.values(given.state.world.orders);
    const short = orders.find((o) => o.venue === A)!;
    const long = orders.find((o) => o.venue === B)!;
    const t = T0 + 31_000;
    // 0.2 x 50000 = 10000 of imbalance: 2 s spends 20000.
    const then = given.when([
      ...fullyFilled(short, t, '49999.5', '5'),
      orderUpdate(long, t, 'accepted'),
      tick(t + 1_000),
      tick(t + 2_000),
    ]);
    then.thenDecisions([{ kind: 'cancel', reasonCode: 'imbalance_budget_exhausted' }]);
    assert.equal(then.result.commands[0]!.kind, 'cancel');
    spec(decider)
      .given([], then.result.state)
      .when(orderUpdate(long, t + 2_100, 'canceled'))
      .thenDecisions([{ kind: 'unwind', reasonCode: 'imbalance_remaining' }]);
  });
});

describe('funding arb: trading state', () => {
  const decider = fundingArbDecider(arbConfig());

  test('HALTED: open orders canceled, no orders placed, whatever the gap', () => {
    const given = spec(decider).given([...market2('0.001', 8, '-0.0001', 1), tick(T0 + 30_000)]);
    const halt = given.when({ kind: 'operator', nowMs: T0 + 30_001, action: 'halt' });
    halt.thenDecisions([{ kind: 'trading_state', reasonCode: 'operator_halt' }]);
    assert.equal(halt.result.commands.length, 1);
    assert.equal(halt.result.commands[0]!.kind, 'cancel_all_own');
    const later = spec(decider)
      .given([], halt.result.state)
      .when([
        ...market2('0.01', 8, '-0.001', 1, { nowMs: T0 + 40_000 }),
        tick(T0 + 200_000),
        tick(T0 + 400_000),
      ]);
    assert.deepEqual(placed(later.result.commands), []);
  });

  test('operator close_all exits open arbs with reduce-only orders', () => {
    const given = spec(decider).given([...market2('0.001', 8, '-0.0001', 1), tick(T0 + 30_000)]);
    const orders = Object.values(given.state.world.orders);
    const t = T0 + 31_000;
    const opened = spec(decider)
      .given(
        orders.flatMap((o) => fullyFilled(o, t, o.side === 'sell' ? '49999.5' : '50000.5', '5')),
        given.state,
      )
      .when({ kind: 'operator', nowMs: t + 1, action: 'close_all' });
    opened.thenDecided({ kind: 'exit', reasonCode: 'operator_close_all' });
    const exits = placed(opened.result.commands);
    assert.equal(exits.length, 2);
    assert.ok(exits.every((o) => o.reduceOnly));
    assert.equal(opened.result.state.world.tradingState, 'reducing');
  });

  test('operator close_all while HALTED says nothing is sent until REDUCING, then closes with reduce-only orders', () => {
    const given = spec(decider).given([...market2('0.001', 8, '-0.0001', 1), tick(T0 + 30_000)]);
    const orders = Object.values(given.state.world.orders);
    const t = T0 + 31_000;
    const halted = spec(decider)
      .given(
        [
          ...orders.flatMap((o) => fullyFilled(o, t, o.side === 'sell' ? '49999.5' : '50000.5', '5')),
          { kind: 'operator', nowMs: t + 1, action: 'halt' },
        ],
        given.state,
      )
      .when({ kind: 'operator', nowMs: t + 2, action: 'close_all' });
    assert.deepEqual(placed(halted.result.commands), [], 'nothing is sent while HALTED');
    assert.equal(halted.result.state.world.tradingState, 'halted', 'CloseAll does not lift the kill switch');
    const answer = halted.result.decisions.find((d) => d.reasonCode === 'operator_close_all');
    assert.ok(answer, 'the close_all decision');
    assert.doesNotMatch(answer.message, /closing every position/);
    assert.match(
      answer.message,
      /HALTED: nothing is sent while halted.*once trading is set to REDUCING or ACTIVE/,
    );
    const reducing = spec(decider)
      .given([], halted.result.state)
      .when([{ kind: 'operator', nowMs: t + 3, action: 'reduce' }, tick(t + 10_000)]);
    const exits = placed(reducing.result.commands);
    assert.equal(exits.length, 2, 'both legs closed once REDUCING');
    assert.ok(exits.every((o) => o.reduceOnly));
  });
});

describe('funding arb: a close never opens', () => {
  test('property: for any leg fills and venue positions, exits keep each position between 0 and the old one', () => {
    const decider = fundingArbDecider(arbConfig({ maxHedgeAttempts: 0 }));
    const base = [...market2('0.001', 8, '-0.0001', 1), tick(T0 + 30_000)];
    let baseState = decider.initialState();
    for (const i of base) baseState = decider.step(baseState, i).state;
    const entryOrders = Object.values(baseState.world.orders);
    const lots = fc.integer({ min: 0, max: 200 }); // in 0.001
    fc.assert(
      fc.property(lots, lots, lots, lots, (shortFill, longFill, venueShortDelta, venueLongDelta) => {
        let state: StrategyState<FundingArbState> = baseState;
        const t = T0 + 31_000;
        const feed = (i: StrategyInput) => {
          const r = decider.step(state, i);
          state = r.state;
          return r;
        };
        const sizes: Record<string, ReturnType<typeof dec>> = {
          [A]: dec(shortFill).div(1000),
          [B]: dec(longFill).div(1000),
        };
        for (const o of entryOrders) {
          const size = sizes[o.venue]!;
          if (size.gt(0)) feed(fill(o, t, '50000', size, '0'));
          feed(orderUpdate(o, t, 'canceled', size));
        }
        // The venue may show less than our fills (a liquidation, an ADL): never more is closed than it shows.
        const venueShort = dec(Math.max(0, shortFill - venueShortDelta))
          .div(1000)
          .neg();
        const venueLong = dec(Math.max(0, longFill - venueLongDelta)).div(1000);
        feed({
          kind: 'position',
          nowMs: t + 1,
          venue: A,
          account: 'main',
          instrument: BTC,
          size: venueShort,
          asOfMs: t + 1,
        });
        feed({
          kind: 'position',
          nowMs: t + 1,
          venue: B,
          account: 'main',
          instrument: BTC,
          size: venueLong,
          asOfMs: t + 1,
        });
        const commands = [
          ...feed({ kind: 'operator', nowMs: t + 2, action: 'close_all' }).commands,
          ...feed(tick(t + 5_000)).commands,
          ...feed(tick(t + 10_000)).commands,
        ];
        const positions: Record<string, ReturnType<typeof dec>> = { [A]: venueShort, [B]: venueLong };
        const after = { ...positions };
        for (const o of placed(commands)) {
          assert.equal(o.reduceOnly, true, 'every order after close_all is reduce-only');
          after[o.venue] = after[o.venue]!.plus(o.side === 'buy' ? o.size : o.size.neg());
        }
        for (const venue of [A, B]) {
          const old = positions[venue]!;
          const now = after[venue]!;
          assert.ok(now.abs().lte(old.abs()), `${venue}: |${now}| <= |${old}|`);
          assert.ok(now.isZero() || now.isPos() === old.isPos(), `${venue}: ${old} -> ${now} never flips`);
        }
      }),
      { numRuns: 150 },
    );
  });
});

describe('an exit deferred for a settlement', () => {
  test('waits for one settlement, not forever when settlements come every guard window or faster', () => {
    // Settlements every minute, the default 120 s guard: one is always imminent and always pays.
    const decider = fundingArbDecider(arbConfig({ maxHoldingMs: HOUR_MS }));
    const given = spec(decider).given([...market2('0.0001', 1 / 60, '-0.00001', 1 / 60), tick(T0 + 30_000)]);
    const t = T0 + 31_000;
    let state = given.state;
    for (const o of Object.values(state.world.orders)) {
      for (const input of fullyFilled(o, t, o.side === 'sell' ? '49999.5' : '50000.5', '5')) {
        state = decider.step(state, input).state;
      }
    }
    assert.equal(state.strategy.arbs[BTC]?.phase, 'open');
    const seen: string[] = [];
    let exitedAtMinute: number | undefined;
    for (let m = 0; m < 30 && exitedAtMinute === undefined; m++) {
      const now = t + HOUR_MS + m * 60_000;
      for (const input of [
        funding(A, now, '0.0001', 1 / 60, { nextFundingTimeMs: now + 30_000 }),
        funding(B, now, '-0.00001', 1 / 60, { nextFundingTimeMs: now + 30_000 }),
        book(A, now, '50000'),
        book(B, now, '50000'),
        tick(now),
      ]) {
        const r = decider.step(state, input);
        state = r.state;
        for (const d of r.decisions) seen.push(`${d.kind}:${d.reasonCode}`);
        if (r.decisions.some((d) => d.kind === 'exit')) exitedAtMinute = m;
      }
    }
    assert.ok(
      seen.includes('signal:exit_deferred_for_settlement'),
      'the first imminent payment is waited for',
    );
    assert.ok(
      exitedAtMinute !== undefined,
      `exits within 30 min past the max hold (saw ${[...new Set(seen)]})`,
    );
    assert.ok(exitedAtMinute <= 3, `exits once the guard window has passed (minute ${exitedAtMinute})`);
  });
});
