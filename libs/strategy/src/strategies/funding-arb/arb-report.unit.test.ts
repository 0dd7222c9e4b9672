import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { dec } from '@perpmesh/core';
import { spec } from '../../decider-spec.js';
import { BTC, fullyFilled, funding, T0, tick } from '../../fixtures.test-helper.js';
import { A, arbConfig, market2 } from './arb-fixtures.test-helper.js';
import { arbBookReport, fundingArbDecider } from './index.js';

describe('funding arb: the arb book report', () => {
  const decider = fundingArbDecider(arbConfig());
  /** An open arb (0.2 short on A at 49999.5, long on B at 50000.5, books at 50000) paid one settlement on A. */
  function openArbWithOneSettlement() {
    const entered = spec(decider).given([...market2('0.001', 8, '-0.0001', 1), tick(T0 + 30_000)]);
    const t = T0 + 31_000;
    const fills = Object.values(entered.state.world.orders).flatMap((o) =>
      fullyFilled(o, t, o.side === 'sell' ? '49999.5' : '50000.5', o.side === 'sell' ? '4.99995' : '5.00005'),
    );
    return spec(decider).given(
      [
        ...fills,
        funding(A, t + 1_000, '0.001', 8),
        {
          kind: 'funding_payment',
          nowMs: t + 2_000,
          venue: A,
          account: 'main',
          instrument: BTC,
          amount: dec('9.5'),
          fundingTimeMs: t + 2_000,
          paymentId: 'a1',
        },
      ],
      entered.state,
    ).state;
  }

  test('each open arb: funding, basis at the book mids, fees, slippage vs the decision mid, net; break-even hours', () => {
    const state = openArbWithOneSettlement();
    const report = arbBookReport(state.strategy, state.world);
    assert.equal(report.active.length, 1);
    const [r] = report.active;
    const a = r!.attribution;
    assert.equal(a.funding.toFixed(), '9.5');
    // The reading before the payment: 0.001 x 50000 x 0.2 received by the short.
    assert.equal(a.fundingPredicted.toFixed(), '10');
    assert.equal(a.fees.toFixed(), '10');
    // Both legs filled 0.5 worse than the mid of 50000 they are marked at.
    assert.equal(a.basisPnl.toFixed(), '-0.2');
    assert.equal(a.slippage.toFixed(), '0.2');
    assert.equal(a.net.toFixed(), '-0.7');
    // Per hour: (0.001 / 8 + 0.0001) x 50000 x 0.2 = 2.25. Closing now: -0.7 marked, minus
    // exit fees 10 and slippage 0.2 = -10.9 to earn back.
    assert.equal(r!.carryPerHour!.toFixed(), '2.25');
    assert.equal(r!.costToBreakEven!.toFixed(), '10.9');
    assert.equal(r!.breakEvenHours!.toFixed(4), '4.8444');
    assert.equal(report.breakEvenHours!.toFixed(4), '4.8444');
    assert.equal(report.totals.net.toFixed(), '-0.7');
    // The funding history: the settled payment next to its prediction and the reading.
    const history = r!.arb.short.fundingHistory!;
    assert.equal(history.length, 1);
    assert.equal(history[0]!.settled.toFixed(), '9.5');
    assert.equal(history[0]!.predicted!.toFixed(), '10');
    assert.equal(history[0]!.rate!.toFixed(), '0.001');
  });

  test('each settled payment is a funding_settled decision with the payment, its prediction, the split and break-even', () => {
    const entered = spec(decider).given([...market2('0.001', 8, '-0.0001', 1), tick(T0 + 30_000)]);
    const t = T0 + 31_000;
    const fills = Object.values(entered.state.world.orders).flatMap((o) =>
      fullyFilled(o, t, o.side === 'sell' ? '49999.5' : '50000.5', o.side === 'sell' ? '4.99995' : '5.00005'),
    );
    const payment = {
      kind: 'funding_payment' as const,
      nowMs: t + 2_000,
      venue: A,
      account: 'main',
      instrument: BTC,
      amount: dec('9.5'),
      fundingTimeMs: t + 2_000,
      paymentId: 'a1',
    };
    const then = spec(decider)
      .given([...fills, funding(A, t + 1_000, '0.001', 8)], entered.state)
      .when(payment)
      .thenDecided({ kind: 'signal', reasonCode: 'funding_settled' });
    const d = then.result.decisions.find((x) => x.reasonCode === 'funding_settled')!;
    assert.equal(d.inputs.leg, 'short');
    assert.equal(d.inputs.settled, '9.5');
    assert.equal(d.inputs.predicted, '10');
    assert.equal(d.inputs['attribution.net'], '-0.7');
    assert.equal(dec(d.inputs.break_even_hours!).toFixed(4), '4.8444');
    // A re-delivered payment is neither booked nor reported again.
    spec(decider)
      .given([], then.result.state)
      .when({ ...payment, nowMs: t + 3_000 })
      .thenNothingHappened();
  });

  test('raised alarms and the breaker are part of the report; an empty book breaks even never', () => {
    const state = openArbWithOneSettlement();
    state.strategy.alarms = {
      'BTC#1:one_legged': { name: 'one_legged', sinceMs: T0, message: 'one-legged' },
    };
    const report = arbBookReport(state.strategy, state.world);
    assert.deepEqual(report.alarms, [
      { key: 'BTC#1:one_legged', name: 'one_legged', sinceMs: T0, message: 'one-legged' },
    ]);
    assert.equal(report.breaker.consecutiveLosses, 0);
    // An entry whose orders have not filled yet has nothing to earn back with.
    const entering = spec(decider).given([...market2('0.001', 8, '-0.0001', 1), tick(T0 + 30_000)]).state;
    const [pending] = arbBookReport(entering.strategy, entering.world).active;
    assert.equal(pending!.arb.phase, 'entering');
    assert.equal(pending!.breakEvenHours, undefined);
    const empty = arbBookReport(decider.initialState().strategy, state.world);
    assert.equal(empty.breakEvenHours, undefined);
    assert.equal(empty.totals.net.toFixed(), '0');
  });
});
