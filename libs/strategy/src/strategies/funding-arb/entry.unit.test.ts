import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { spec } from '../../decider-spec.js';
import {
  BTC,
  balance,
  funding,
  HOUR_MS,
  market,
  marketsInput,
  placed,
  T0,
  tick,
} from '../../fixtures.test-helper.js';
import { A, arbConfig, B, byVenue, market2 } from './arb-fixtures.test-helper.js';
import { fundingArbDecider } from './index.js';

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
    const then = spec(fundingArbDecider(arbConfig({ sizeDownToBalance: true })))
      .given(market2('0.001', 8, '-0.0001', 1, { availableA: '2000', availableB: '5000' }))
      .when(tick(T0 + 30_000));
    // 2000 available (of 20000 total) at 5x with a 0.05 % fee buys 9975 of notional: 0.199 BTC.
    const enter = then.result.decisions.find((d) => d.kind === 'enter');
    assert.ok(enter);
    assert.equal(enter.inputs.size_limited_by, 'balance_short');
    assert.equal(enter.inputs.sized_down_by_balance, `${A}/main`);
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

describe('funding arb: entry sizing', () => {
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
});
