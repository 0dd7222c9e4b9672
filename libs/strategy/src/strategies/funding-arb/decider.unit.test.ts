import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { dec, ValidationError } from '@perpmesh/core';
import fc from 'fast-check';
import { spec } from '../../decider-spec.js';
import type { StrategyState } from '../../engine.js';
import {
  BTC,
  balance,
  book,
  fill,
  fullyFilled,
  funding,
  HOUR_MS,
  market,
  marketsInput,
  orderUpdate,
  placed,
  start,
  T0,
  tick,
} from '../../fixtures.test-helper.js';
import type { StrategyInput } from '../../model.js';
import {
  commonLotSize,
  type FundingArbState,
  fundingArbDecider,
  legSize,
  parseFundingArbConfig,
} from './index.js';

const A = 'paper-a';
const B = 'paper-b';

function arbConfig(overrides: Record<string, unknown> = {}) {
  return parseFundingArbConfig({
    strategyId: 'arb-1',
    instruments: [BTC],
    venues: [
      { venue: A, account: 'main' },
      { venue: B, account: 'main' },
    ],
    targetNotionalPerLeg: '10000',
    holdingHorizonMs: 24 * HOUR_MS,
    entryThresholdBps: '10',
    persistenceMs: 30_000,
    maxHoldingMs: 7 * 24 * HOUR_MS,
    legImbalanceBudgetNotionalSeconds: '200000',
    maxBookAgeMs: 600_000,
    maxFundingAgeMs: 3_600_000,
    risk: {
      leverage: '5',
      maxLeverage: '10',
      maxNotionalPerInstrument: '50000',
      maxNotionalPerVenue: '100000',
      maxBalanceAgeMs: 48 * HOUR_MS,
      orderRateCapacity: 20,
    },
    ...overrides,
  });
}

/** Two venues around 50000; A settles every 8 h, B every hour. */
function market2(
  rateA: string,
  hoursA: number,
  rateB: string,
  hoursB: number,
  opts: { fees?: string; availableA?: string; availableB?: string; nowMs?: number } = {},
): StrategyInput[] {
  const t = opts.nowMs ?? T0;
  const fee = opts.fees ?? '0.0005';
  return [
    marketsInput(t, [market(A, { takerFeeRate: fee }), market(B, { takerFeeRate: fee })]),
    balance(A, 'main', t, opts.availableA ?? '5000', '20000'),
    balance(B, 'main', t, opts.availableB ?? '5000', '20000'),
    book(A, t, '50000'),
    book(B, t, '50000'),
    funding(A, t, rateA, hoursA),
    funding(B, t, rateB, hoursB),
    start(t),
  ];
}

function byVenue(orders: ReturnType<typeof placed>, venue: string) {
  const order = orders.find((o) => o.venue === venue);
  assert.ok(order, `no order on ${venue}`);
  return order;
}

describe('funding arb: entry', () => {
  const decider = fundingArbDecider(arbConfig());

  test('a gap larger than fees + slippage enters both legs together after the persistence window', () => {
    const given = spec(decider).given(market2('0.001', 8, '-0.0001', 1));
    // Before the window has passed: nothing is placed.
    given.when(tick(T0 + 29_999)).thenNoCommands();
    assert.equal(placed(given.when(tick(T0 + 29_999)).result.commands).length, 0);
    const then = given
      .when(tick(T0 + 30_000))
      .thenDecisions([{ kind: 'enter', reasonCode: 'net_carry_above_threshold' }]);
    const orders = placed(then.result.commands);
    assert.equal(orders.length, 2);
    const short = byVenue(orders, A);
    const long = byVenue(orders, B);
    assert.equal(short.side, 'sell');
    assert.equal(long.side, 'buy');
    assert.equal(short.size.toFixed(), '0.2');
    assert.equal(long.size.toFixed(), '0.2');
    assert.equal(short.reduceOnly, false);
    assert.equal(short.timeInForce, 'ioc');
    // Limit IOC past the walked worst price by 20 bps, on the tick.
    assert.equal(short.price?.toFixed(), '49899.5');
    assert.equal(long.price?.toFixed(), '50100.6');
    const inputs = then.result.decisions[0]!.inputs;
    assert.equal(inputs.gross_carry, '54');
    assert.equal(inputs.entry_fees, '10');
    assert.equal(inputs.exit_fees, '10');
    assert.equal(inputs.entry_slippage, '0.2');
    assert.equal(inputs.exit_slippage, '0.2');
    assert.equal(inputs.net_carry, '33.6');
    assert.equal(inputs['paper-a.rate_per_hour'], '0.000125');
    assert.equal(inputs['paper-a.interval_ms'], String(8 * HOUR_MS));
    assert.ok(short.clientOrderId.startsWith('arb-1_'));
    assert.notEqual(short.clientOrderId, long.clientOrderId);
  });

  test('a break in the condition restarts the persistence window', () => {
    const given = spec(decider).given([
      ...market2('0.001', 8, '-0.0001', 1),
      funding(A, T0 + 10_000, '0', 8), // gap gone
      funding(A, T0 + 20_000, '0.001', 8), // back: the window starts again here
    ]);
    given.when(tick(T0 + 30_000)).thenNoCommands();
    given.when(tick(T0 + 50_000)).thenDecided({ kind: 'enter' });
  });

  test('a gap smaller than fees + slippage is skipped, and the skip says why with the numbers', () => {
    const then = spec(decider)
      .given([])
      .when([...market2('0.0002', 8, '0', 1), tick(T0 + 30_000)])
      .thenNoCommands()
      .thenDecided({ kind: 'skip', reasonCode: 'net_carry_below_threshold' });
    const skip = then.result.decisions.find((d) => d.reasonCode === 'net_carry_below_threshold')!;
    // 0.0002 / 8 h = 0.000025 /h x 24 h x 10000 = 6 gross, 20 of fees, 0.4 of slippage.
    assert.equal(skip.inputs.gross_carry, '6');
    assert.equal(skip.inputs.entry_fees, '10');
    assert.equal(skip.inputs.exit_fees, '10');
    assert.equal(skip.inputs.net_carry, '-14.4');
    assert.match(skip.message, /fees 20/);
    // Reported once, not on every input.
    assert.equal(then.result.decisions.filter((d) => d.kind === 'skip').length, 1);
  });

  test('1 h vs 8 h venues: the per-hour rates pick the side the raw rates would get wrong', () => {
    // Raw: A 0.04 % > B 0.01 %. Per hour: A 0.005 % < B 0.01 %: short B, long A.
    const then = spec(decider)
      .given(market2('0.0004', 8, '0.0001', 1, { fees: '0' }))
      .when(tick(T0 + 30_000))
      .thenDecided({ kind: 'enter' });
    const orders = placed(then.result.commands);
    assert.equal(byVenue(orders, B).side, 'sell');
    assert.equal(byVenue(orders, A).side, 'buy');
    const enter = then.result.decisions.find((d) => d.kind === 'enter')!;
    assert.equal(enter.inputs.short_venue, B);
    assert.equal(enter.inputs['paper-b.rate_per_hour'], '0.0001');
    assert.equal(enter.inputs['paper-a.rate_per_hour'], '0.00005');
  });

  test('an imminent settlement that would cost the new position blocks entry', () => {
    // Long on B pays at B's settlement in 60 s (B rate is positive, A's even higher).
    const inputs = market2('0.002', 8, '0.0001', 1);
    inputs[6] = funding(B, T0, '0.0001', 1, { nextFundingTimeMs: T0 + 90_000 });
    spec(decider)
      .given([])
      .when([...inputs, tick(T0 + 30_000)])
      .thenNoCommands()
      .thenDecided({ kind: 'skip', reasonCode: 'adverse_settlement_imminent' });
  });

  test('nothing is entered before the start input (adoption comes first)', () => {
    const inputs = market2('0.001', 8, '-0.0001', 1).filter((i) => i.kind !== 'start');
    spec(decider)
      .given(inputs)
      .when(tick(T0 + 60_000))
      .thenNoCommands();
  });

  test('legs are sized to the AVAILABLE balance, not the total', () => {
    const then = spec(decider)
      .given(market2('0.001', 8, '-0.0001', 1, { availableA: '2000', availableB: '5000' }))
      .when(tick(T0 + 30_000));
    // 2000 available (of 20000 total) at 5x with a 0.05 % fee buys 9975 of notional: 0.199 BTC.
    const enter = then.result.decisions.find((d) => d.kind === 'enter');
    assert.ok(enter);
    assert.equal(enter.inputs.size_limited_by, 'balance_short');
    assert.equal(enter.inputs['paper-a.available'], '2000');
    assert.deepEqual(
      placed(then.result.commands).map((o) => o.size.toFixed()),
      ['0.199', '0.199'],
    );
  });

  test('a stale balance: the entry is denied before any command, with the reason', () => {
    const inputs = market2('0.001', 8, '-0.0001', 1);
    inputs[2] = { ...balance(B, 'main', T0, '5000', '20000'), stale: true };
    const then = spec(decider)
      .given(inputs)
      .when(tick(T0 + 30_000))
      .thenNoCommands();
    then.thenDecisions([{ kind: 'deny', reasonCode: 'stale_balance' }]);
    const deny = then.result.decisions[0]!;
    assert.equal(deny.inputs['risk.venue'], B);
    assert.equal(deny.inputs.denied_decision, 'enter');
    assert.equal(then.result.state.strategy.arbs[BTC], undefined);
  });
});

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
    const decider = fundingArbDecider(arbConfig());
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

describe('funding arb: helpers and config', () => {
  test('the common lot is a multiple of both venues lots', () => {
    assert.equal(commonLotSize(dec('0.001'), dec('0.0001')).toFixed(), '0.001');
    assert.equal(commonLotSize(dec('0.003'), dec('0.002')).toFixed(), '0.006');
    assert.equal(commonLotSize(dec('0.01'), dec('0.01')).toFixed(), '0.01');
  });

  test('equal base size on both legs, a multiple of the coarser lot', () => {
    const decider = fundingArbDecider(arbConfig({ targetNotionalPerLeg: '10037' }));
    const inputs = market2('0.001', 8, '-0.0001', 1);
    inputs[0] = marketsInput(T0, [market(A, { lotSize: '0.01' }), market(B, { lotSize: '0.0001' })]);
    const then = spec(decider)
      .given(inputs)
      .when(tick(T0 + 30_000))
      .thenDecided({ kind: 'enter' });
    const [x, y] = placed(then.result.commands);
    assert.equal(x!.size.toFixed(), '0.2');
    assert.equal(y!.size.toFixed(), '0.2');
  });

  test('config errors name the field', () => {
    assert.throws(
      () => parseFundingArbConfig({ ...JSON.parse(JSON.stringify({})), strategyId: 'Bad_Id' }),
      (e: unknown) => e instanceof ValidationError && e.field === 'fundingArb.strategyId',
    );
    assert.throws(
      () =>
        parseFundingArbConfig({
          strategyId: 'a',
          instruments: [BTC],
          venues: [
            { venue: A, account: 'm' },
            { venue: A, account: 'm' },
          ],
          targetNotionalPerLeg: '1',
          holdingHorizonMs: 1,
          entryThresholdBps: '1',
          persistenceMs: 0,
          maxHoldingMs: 1,
          legImbalanceBudgetNotionalSeconds: '1',
          risk: { leverage: '1', maxLeverage: '1', maxNotionalPerInstrument: '1', maxNotionalPerVenue: '1' },
        }),
      (e: unknown) => e instanceof ValidationError && e.field === 'fundingArb.venues[1].venue',
    );
  });
});
