/**
 * The economics of issue #17: each spec failed on the decider before its fix.
 */
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
  HOUR_MS,
  market,
  marketsInput,
  orderUpdate,
  placed,
  start,
  T0,
  tick,
} from '../../fixtures.test-helper.js';
import type { Decision, StrategyInput } from '../../model.js';
import { A, arbConfig, B, byVenue, market2 } from './arb-fixtures.test-helper.js';
import { fundingArbDecider, legSize } from './index.js';

const C = 'paper-c';
const decisionOf = (decisions: ReadonlyArray<Decision>, kind: string) => {
  const d = decisions.find((x) => x.kind === kind);
  assert.ok(d, `no ${kind} decision in ${decisions.map((x) => `${x.kind}/${x.reasonCode}`).join(', ')}`);
  return d;
};

/** An arb entered and both legs filled at 0.2; returns the state and its entry orders. */
function openArb(config = arbConfig()) {
  const decider = fundingArbDecider(config);
  const entered = spec(decider).given([...market2('0.001', 8, '-0.0001', 1), tick(T0 + 30_000)]);
  const orders = Object.values(entered.state.world.orders);
  const t = T0 + 31_000;
  const opened = spec(decider).given(
    orders.flatMap((o) => fullyFilled(o, t, o.side === 'sell' ? '49999.5' : '50000.5', '5')),
    entered.state,
  );
  assert.equal(opened.state.strategy.arbs[BTC]!.phase, 'open');
  return { decider, state: opened.state, orders, t };
}

describe('funding arb economics: sizing by balance', () => {
  test('a leg that does not fit its available balance skips with the binding balance unless sizing down is configured', () => {
    const then = spec(fundingArbDecider(arbConfig()))
      .given([])
      .when([...market2('0.001', 8, '-0.0001', 1, { availableA: '2000' }), tick(T0 + 30_000)])
      .thenNoCommands()
      .thenDecided({ kind: 'skip', reasonCode: 'insufficient_available_balance' });
    const skip = then.result.decisions.find((d) => d.reasonCode === 'insufficient_available_balance')!;
    assert.equal(skip.inputs.binding_balance, `${A}/main`);
    assert.match(skip.message, /paper-a\/main/);
  });

  test('sized down by balance when configured: the enter names the balance, and the leg passes risk at its limit price', () => {
    const inputs = market2('0.001', 8, '-0.0001', 1, { availableB: '2000' });
    inputs[0] = marketsInput(T0, [market(A, { lotSize: '0.0001' }), market(B, { lotSize: '0.0001' })]);
    const then = spec(fundingArbDecider(arbConfig({ sizeDownToBalance: true })))
      .given(inputs)
      .when(tick(T0 + 30_000));
    const enter = decisionOf(then.result.decisions, 'enter');
    assert.equal(enter.inputs.size_limited_by, 'balance_long');
    assert.equal(enter.inputs.sized_down_by_balance, `${B}/main`);
    assert.match(enter.message, /sized down to the available balance of paper-b\/main/);
    const long = byVenue(placed(then.result.commands), B);
    // Valued at its limit price (50100.6) the long still fits 2000 at 5x plus the fee.
    assert.ok(long.size.mul(long.price!).mul(dec('0.2005')).lte(2000));
    assert.equal(long.size.toFixed(), '0.1991');
  });
});

describe('funding arb economics: carry', () => {
  test('carry counts the settlements inside the holding period: a venue that just settled earns nothing for its interval', () => {
    // A settles every 8 h and just did: its next settlement is 8 h away, beyond the 4 h horizon.
    const inputs = market2('0.001', 8, '-0.0001', 1);
    inputs[5] = funding(A, T0, '0.001', 8, { nextFundingTimeMs: T0 + 8 * HOUR_MS - 60_000 });
    const then = spec(fundingArbDecider(arbConfig({ holdingHorizonMs: 4 * HOUR_MS, entryThresholdBps: '0' })))
      .given([])
      .when([...inputs, tick(T0 + 30_000)])
      .thenNoCommands();
    const skip = then.result.decisions.find((d) => d.reasonCode === 'net_carry_below_threshold')!;
    assert.ok(skip, 'skipped for carry');
    // B alone: 4 settlements x 0.0001 x 50000 x 0.2 = 4.
    assert.equal(skip.inputs.gross_carry, '4');
    assert.equal(skip.inputs[`${A}.settlements_in_horizon`], '0');
    assert.equal(skip.inputs[`${B}.settlements_in_horizon`], '4');
  });

  test('the carry horizon is never longer than the maximum holding time', () => {
    const then = spec(fundingArbDecider(arbConfig({ maxHoldingMs: 8 * HOUR_MS })))
      .given([])
      .when([...market2('0.001', 8, '-0.0001', 1), tick(T0 + 30_000)])
      .thenNoCommands();
    const skip = then.result.decisions.find((d) => d.reasonCode === 'net_carry_below_threshold')!;
    assert.ok(skip, 'over 8 h the carry does not pay the costs');
    assert.equal(skip.inputs.holding_horizon_ms, String(8 * HOUR_MS));
    // A once (10) + B eight times (8).
    assert.equal(skip.inputs.gross_carry, '18');
  });

  test('IOC and market orders pay taker: a maker fee mode does not lower the estimate', () => {
    const config = arbConfig({
      venues: [
        { venue: A, account: 'main', feeMode: 'maker' },
        { venue: B, account: 'main', feeMode: 'maker' },
      ],
    });
    const then = spec(fundingArbDecider(config))
      .given(market2('0.001', 8, '-0.0001', 1))
      .when(tick(T0 + 30_000));
    const enter = decisionOf(then.result.decisions, 'enter');
    assert.equal(enter.inputs.entry_fees, '10');
    assert.equal(enter.inputs[`${A}.fee_rate`], '0.0005');
    assert.equal(enter.inputs.fee_basis, 'taker');
  });
});

describe('funding arb economics: pair choice', () => {
  test('every ordered pair is costed and the best net one is chosen, not the widest raw spread', () => {
    const config = arbConfig({
      venues: [
        { venue: A, account: 'main' },
        { venue: B, account: 'main' },
        { venue: C, account: 'main' },
      ],
    });
    // Widest raw spread: short A / long B, but B's 0.2 % taker fee eats it; long C nets more.
    const inputs: StrategyInput[] = [
      marketsInput(T0, [market(A), market(B, { takerFeeRate: '0.002' }), market(C)]),
      balance(A, 'main', T0, '5000', '20000'),
      balance(B, 'main', T0, '5000', '20000'),
      balance(C, 'main', T0, '5000', '20000'),
      book(A, T0, '50000'),
      book(B, T0, '50000'),
      book(C, T0, '50000'),
      funding(A, T0, '0.001', 8),
      funding(B, T0, '-0.0001', 1),
      funding(C, T0, '-0.00005', 1),
      start(T0),
    ];
    const then = spec(fundingArbDecider(config))
      .given(inputs)
      .when(tick(T0 + 30_000));
    const enter = decisionOf(then.result.decisions, 'enter');
    assert.equal(enter.inputs.short_venue, A);
    assert.equal(enter.inputs.long_venue, C);
    assert.equal(enter.inputs.pairs_evaluated, '6');
  });
});

describe('funding arb economics: risk denial backs off', () => {
  test('a denied entry is not retried on every input: one deny, then a wait, then one retry', () => {
    const decider = fundingArbDecider(arbConfig({ persistenceMs: 0 }));
    const inputs = market2('0.001', 8, '-0.0001', 1);
    inputs[2] = { ...balance(B, 'main', T0, '5000', '20000'), stale: true };
    const books = Array.from({ length: 10 }, (_, i) => book(A, T0 + (i + 1) * 1_000, '50000'));
    const then = spec(decider)
      .given([])
      .when([...inputs, ...books])
      .thenNoCommands();
    assert.equal(then.result.decisions.filter((d) => d.kind === 'deny').length, 1);
    assert.equal(then.result.decisions.filter((d) => d.reasonCode === 'entry_condition_started').length, 1);
    const retry = spec(decider)
      .given([], then.result.state)
      .when(tick(T0 + 61_000));
    retry.thenDecided({ kind: 'deny', reasonCode: 'stale_balance' });
  });
});

describe('funding arb economics: legs', () => {
  test('the hedge is rounded to the lagging venue lot, not the common lot, and states what stays unhedged', () => {
    const inputs = market2('0.001', 8, '-0.0001', 1);
    inputs[0] = marketsInput(T0, [market(A, { lotSize: '0.001' }), market(B, { lotSize: '0.01' })]);
    const decider = fundingArbDecider(arbConfig());
    const given = spec(decider).given([...inputs, tick(T0 + 30_000)]);
    const orders = Object.values(given.state.world.orders);
    const short = orders.find((o) => o.venue === A)!;
    const long = orders.find((o) => o.venue === B)!;
    const t = T0 + 31_000;
    const then = given.when([
      fill(short, t, '49999.5', '0.137', '3.4'),
      orderUpdate(short, t, 'canceled', '0.137', { reason: 'ioc remainder' }),
      ...fullyFilled(long, t, '50000.5', '5'),
    ]);
    const hedge = decisionOf(then.result.decisions, 'hedge');
    const order = placed(then.result.commands)[0]!;
    assert.equal(order.venue, A);
    assert.equal(order.size.toFixed(), '0.063');
    assert.equal(hedge.inputs.unhedged_after, '0');
  });

  test('imbalance time is charged from when the imbalance began, not from the fill that ends it', () => {
    const decider = fundingArbDecider(arbConfig());
    const given = spec(decider).given([...market2('0.001', 8, '-0.0001', 1), tick(T0 + 30_000)]);
    const orders = Object.values(given.state.world.orders);
    const short = orders.find((o) => o.venue === A)!;
    const long = orders.find((o) => o.venue === B)!;
    const t = T0 + 31_000;
    const then = given.when([
      ...fullyFilled(short, t, '49999.5', '5'),
      ...fullyFilled(long, t + 10_000, '50000.5', '5'),
    ]);
    // 0.2 x 50000 unhedged for 10 s.
    const arb = then.result.state.strategy.arbs[BTC]!;
    assert.equal(arb.imbalanceUsedNotionalSeconds.toFixed(), '100000');
  });
});

describe('funding arb economics: data quality', () => {
  test('freshness is measured from the venue timestamp, not from when the reading arrived', () => {
    const inputs = market2('0.001', 8, '-0.0001', 1);
    // Arrived 30 s before the tick, but the venue stamped it 90 s before.
    inputs[4] = { ...book(B, T0, '50000'), asOfMs: T0 - 60_000 };
    spec(fundingArbDecider(arbConfig({ maxBookAgeMs: 40_000 })))
      .given([])
      .when([...inputs, tick(T0 + 30_000)])
      .thenNoCommands()
      .thenDecided({ kind: 'skip', reasonCode: 'insufficient_market_data' });
  });

  for (const skewMs of [-1_400, 5_000]) {
    test(`venue clock ${skewMs > 0 ? 'ahead' : 'behind'} by ${Math.abs(skewMs)} ms: books and funding age from when market data received them`, () => {
      // Market data received everything at T0 (observedAtMs); the venue's clock dated it T0 + skew.
      const skewed = market2('0.001', 8, '-0.0001', 1).map((i) =>
        i.kind === 'book' || i.kind === 'funding' ? { ...i, asOfMs: T0 + skewMs, observedAtMs: T0 } : i,
      );
      const config = arbConfig({ maxBookAgeMs: 3_000 });
      const skips = (atMs: number) =>
        spec(fundingArbDecider(config))
          .given([])
          .when([...skewed, tick(atMs)])
          .result.decisions.filter((d) => d.reasonCode === 'insufficient_market_data');
      assert.deepEqual(skips(T0 + 3_000), [], 'fresh within 3 s on our clock');
      assert.equal(skips(T0 + 3_001).length, 1, 'stale 3 s after it stopped arriving');
    });
  }

  test('a mark price that disagrees with the book mid blocks entry with a reason', () => {
    const inputs = market2('0.001', 8, '-0.0001', 1);
    inputs[5] = funding(A, T0, '0.001', 8, { mark: '51000' });
    const then = spec(fundingArbDecider(arbConfig()))
      .given([])
      .when([...inputs, tick(T0 + 30_000)])
      .thenNoCommands()
      .thenDecided({ kind: 'skip', reasonCode: 'mark_price_disagrees' });
    const skip = then.result.decisions.find((d) => d.reasonCode === 'mark_price_disagrees')!;
    assert.equal(skip.inputs.venue, A);
  });

  test('a book too thin for the target is entered at what it can fill when that still clears costs', () => {
    const inputs = market2('0.001', 8, '-0.0001', 1);
    inputs[4] = book(B, T0, '50000', { levels: 3, size: '0.05' });
    const then = spec(fundingArbDecider(arbConfig()))
      .given([])
      .when([...inputs, tick(T0 + 30_000)]);
    const enter = decisionOf(then.result.decisions, 'enter');
    assert.equal(enter.inputs.size, '0.15');
    assert.equal(enter.inputs.size_limited_by, 'depth_long');
    assert.deepEqual(
      placed(then.result.commands).map((o) => o.size.toFixed()),
      ['0.15', '0.15'],
    );
  });
});

describe('funding arb economics: reconciling at start', () => {
  test('saved arb orders the venue no longer lists are closed out with a decision, and the arb resolves', () => {
    const decider = fundingArbDecider(arbConfig());
    const entered = spec(decider).given([...market2('0.001', 8, '-0.0001', 1), tick(T0 + 30_000)]);
    const then = spec(decider)
      .given([], entered.state)
      .when([start(T0 + 40_000), tick(T0 + 40_100)]);
    const missing = then.result.decisions.find((d) => d.reasonCode === 'orders_missing_at_start');
    assert.ok(missing, 'a decision names the orders the venue no longer lists');
    assert.equal(missing.kind, 'adopt');
    assert.equal(missing.inputs.client_order_ids!.split(',').length, 2);
    then.thenDecided({ kind: 'closed', reasonCode: 'entry_failed' });
  });

  test('a venue position that differs from the saved leg is adopted into the leg, and the difference unwound', () => {
    const { decider, state, t } = openArb();
    const pos = (venue: string, size: string) => ({
      venue,
      account: 'main',
      instrument: BTC,
      size: dec(size),
      entryPrice: dec('50000'),
      asOfMs: t + 1_000,
    });
    const then = spec(decider)
      .given([], state)
      .when([start(t + 1_000, { positions: [pos(A, '-0.1'), pos(B, '0.2')] }), tick(t + 10_000)]);
    const mismatch = then.result.decisions.find((d) => d.reasonCode === 'position_mismatch')!;
    assert.equal(mismatch.inputs.action, 'leg_set_to_venue_size');
    const arb = then.result.state.strategy.arbs[BTC]!;
    assert.equal(legSize(arb.short).toFixed(), '-0.1');
    const unwind = decisionOf(then.result.decisions, 'unwind');
    assert.equal(unwind.inputs.leading_venue, B);
    const [order] = placed(then.result.commands);
    assert.equal(order!.size.toFixed(), '0.1');
    assert.equal(order!.reduceOnly, true);
  });

  test('positions adopted without an entry price can be reduced: the fill does not crash the accounting', () => {
    const decider = fundingArbDecider(arbConfig());
    const noEntry = (venue: string, size: string) => ({
      venue,
      account: 'main',
      instrument: BTC,
      size: dec(size),
      asOfMs: T0,
    });
    const adopted = spec(decider)
      .given(market2('0.001', 8, '-0.0001', 1).filter((i) => i.kind !== 'start'))
      .when(start(T0, { positions: [noEntry(A, '-0.3'), noEntry(B, '0.1')] }));
    const [order] = placed(adopted.result.commands);
    assert.ok(order, 'the larger leg is unwound');
    const then = spec(decider)
      .given([], adopted.result.state)
      .when(fullyFilled(order, T0 + 1_000, '50000.5', '5'));
    const arb = then.result.state.strategy.arbs[BTC]!;
    assert.equal(legSize(arb.short).toFixed(), '-0.1');
    assert.equal(arb.short.position.size.toFixed(), '-0.1');
    assert.ok(arb.short.position.entryPrice, 'the adopted leg is priced');
  });
});

describe('funding arb economics: reports', () => {
  test('messages round for people; the decision inputs keep full precision', () => {
    const { decider, state, t } = openArb();
    const then = spec(decider)
      .given([], state)
      .when([funding(A, t + 1_000, '0.0001', 3), funding(B, t + 1_000, '0.0001', 1), tick(t + 2_000)]);
    const exit = decisionOf(then.result.decisions, 'exit');
    assert.equal(exit.reasonCode, 'spread_reversal');
    assert.doesNotMatch(exit.message, /\d\.\d{13,}/);
    assert.match(exit.inputs.spread_per_hour!, /\d\.\d{20,}/);
  });
});

describe('funding arb: break-even time', () => {
  test('each candidate carries its break-even hours, and a configured maximum filters entries', () => {
    // Costs 20.4 (fees 20, slippage 0.4) at (0.000125 + 0.0001) x 50000 x 0.2 = 2.25 per hour.
    const entered = spec(fundingArbDecider(arbConfig()))
      .given(market2('0.001', 8, '-0.0001', 1))
      .when(tick(T0 + 30_000));
    assert.equal(
      decisionOf(entered.result.decisions, 'enter').inputs.break_even_hours!.slice(0, 6),
      '9.0666',
    );
    const then = spec(fundingArbDecider(arbConfig({ maxBreakEvenHours: '5' })))
      .given([])
      .when([...market2('0.001', 8, '-0.0001', 1), tick(T0 + 30_000)])
      .thenNoCommands()
      .thenDecided({ kind: 'skip', reasonCode: 'break_even_too_long' });
    const skip = then.result.decisions.find((d) => d.reasonCode === 'break_even_too_long')!;
    assert.match(skip.message, /9\.07 h to earn back/);
  });
});

describe('funding arb: PnL attribution', () => {
  test('the closed arb says where its money came from: funding, basis, fees, slippage against the decision mid', () => {
    const { decider, state, t } = openArb();
    const paid = {
      kind: 'funding_payment' as const,
      nowMs: t + HOUR_MS,
      venue: A,
      account: 'main',
      instrument: BTC,
      amount: dec('10'),
      fundingTimeMs: t + HOUR_MS,
      paymentId: 'a1',
    };
    const exiting = spec(decider)
      .given([], state)
      .when([
        paid,
        funding(A, t + HOUR_MS, '0.0001', 3),
        funding(B, t + HOUR_MS, '0.0001', 1),
        tick(t + HOUR_MS + 1_000),
      ]);
    const exit = decisionOf(exiting.result.decisions, 'exit');
    // While open, the check carries the attribution at the book mids and the break-even left.
    assert.equal(exit.inputs['attribution.funding'], '10');
    assert.equal(exit.inputs['attribution.slippage_vs_decision_mid'], '0.2');
    assert.ok(exit.inputs.break_even_hours_remaining);
    const exits = placed(exiting.result.commands);
    const then = spec(decider)
      .given([], exiting.result.state)
      .when(
        exits.flatMap((o) =>
          fullyFilled(o, t + HOUR_MS + 2_000, o.side === 'buy' ? '50000.5' : '49999.5', '5'),
        ),
      );
    const closed = decisionOf(then.result.decisions, 'closed');
    assert.equal(closed.inputs['attribution.funding'], '10');
    assert.equal(closed.inputs['attribution.fees'], '20');
    assert.equal(closed.inputs['attribution.slippage_vs_decision_mid'], '0.4');
    assert.equal(closed.inputs['attribution.basis_pnl'], '-0.4');
    assert.equal(closed.inputs['attribution.basis_pnl_before_slippage'], '0');
    assert.equal(closed.inputs['attribution.net'], '-10.4');
    assert.equal(closed.inputs['attribution.net'], closed.inputs.net_pnl);
    assert.equal(closed.inputs['attribution.predicted_funding'], '54');
    // Predicted vs settled per settlement: A's reading before the payment said 0.001 x 50000 x 0.2.
    assert.equal(closed.inputs['attribution.funding_predicted_for_settled'], '10');
    assert.equal(closed.inputs['short.funding_predicted'], '10');
    assert.equal(closed.inputs['short.settlements'], '1');
  });
});

describe('funding arb: many instruments', () => {
  const ETH = 'ETH-USDC-PERP';
  const twoInstruments = (): StrategyInput[] => [
    marketsInput(T0, [market(A), market(B), market(A, { instrument: ETH }), market(B, { instrument: ETH })]),
    balance(A, 'main', T0, '5000', '20000'),
    balance(B, 'main', T0, '5000', '20000'),
    book(A, T0, '50000'),
    book(B, T0, '50000'),
    book(A, T0, '50000', { instrument: ETH }),
    book(B, T0, '50000', { instrument: ETH }),
    funding(A, T0, '0.001', 8),
    funding(B, T0, '-0.0001', 1),
    // ETH pays more: it ranks first.
    funding(A, T0, '0.002', 8, { instrument: ETH }),
    funding(B, T0, '-0.0001', 1, { instrument: ETH }),
    start(T0),
  ];

  test('candidates are ranked by net carry across instruments and capital goes to the best within the total cap', () => {
    const config = arbConfig({ instruments: [BTC, ETH], persistenceMs: 0, maxTotalNotional: '10000' });
    const then = spec(fundingArbDecider(config)).given([]).when(twoInstruments());
    const enters = then.result.decisions.filter((d) => d.kind === 'enter');
    assert.deepEqual(
      enters.map((d) => d.inputs.instrument),
      [ETH],
    );
    assert.equal(enters[0]!.inputs.rank, '1');
    then.thenDecided({ kind: 'skip', reasonCode: 'allocation_exhausted' });
  });

  test('without a total cap both enter, the better one first', () => {
    const config = arbConfig({ instruments: [BTC, ETH], persistenceMs: 0 });
    const then = spec(fundingArbDecider(config)).given([]).when(twoInstruments());
    assert.deepEqual(
      then.result.decisions.filter((d) => d.kind === 'enter').map((d) => d.inputs.instrument),
      [ETH, BTC],
    );
  });
});
