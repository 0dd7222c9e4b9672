import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { ARB_T0, sampleArbBook } from './arb-book.test-helper.js';
import { arbBookView } from './views.js';

describe('read model: the funding-arb book', () => {
  test('arbs with their PnL split and break-even, active first; totals, alarms with ages, breaker, funding history', () => {
    const view = arbBookView([sampleArbBook()], ARB_T0 + 4 * 3_600_000);
    assert.deepEqual(
      view.arbs.map((a) => [a.arbId, a.active, a.breakEvenHours]),
      [
        ['BTC-USDC-PERP#2', true, '1.25'],
        ['BTC-USDC-PERP#1', false, ''],
      ],
    );
    const open = view.arbs[0]!;
    assert.deepEqual(open.attribution, {
      funding: '19.5',
      fundingPredicted: '20',
      basisPnl: '-0.2',
      fees: '10',
      slippage: '0.2',
      net: '9.3',
    });
    assert.equal(open.short.venue, 'paper-lighter');
    assert.equal(open.short.settlements, 2);
    assert.equal(open.strategyId, 'arb-1');
    // Totals over strategies are decimal sums of each strategy's totals.
    const twice = arbBookView([sampleArbBook(), { ...sampleArbBook(), strategyId: 'arb-2' }], ARB_T0);
    assert.equal(twice.totals.net, '-3.4');
    assert.equal(twice.totals.slippage, '1.2');
    assert.equal(view.totals.net, '-1.7');
    assert.equal(view.strategies[0]!.breaker.tripped, true);
    assert.equal(view.strategies[0]!.breaker.reasonCode, 'drawdown_breaker');
    assert.equal(view.strategies[0]!.breakEvenHours, '1.25');
    assert.equal(view.alarms.length, 1);
    assert.equal(view.alarms[0]!.ageMs, 2 * 3_600_000);
    // Every leg's settlements with predictions, oldest first: 2 arbs x 2 legs x 2.
    assert.equal(view.funding.length, 8);
    assert.ok(view.funding.every((f, i) => i === 0 || f.fundingTimeMs >= view.funding[i - 1]!.fundingTimeMs));
    // Each venue's reading per settlement, with the per-hour percent for the chart.
    assert.equal(view.fundingReadings.length, 6);
    assert.deepEqual(
      view.fundingReadings.slice(0, 2).map((r) => [r.venue, r.ratePerHourPct, r.pending]),
      [
        ['paper-extended', '-0.05000', false],
        ['paper-lighter', '0.05000', false],
      ],
    );
    const short = view.funding.filter((f) => f.arbId === 'BTC-USDC-PERP#2' && f.leg === 'short');
    assert.deepEqual(
      short.map((f) => [f.settled, f.predicted]),
      [
        ['5', '5'],
        ['4.5', '5'],
      ],
    );
  });

  test('no funding-arb strategy: an empty view', () => {
    const view = arbBookView([], ARB_T0);
    assert.deepEqual(view, {
      strategies: [],
      arbs: [],
      totals: { funding: '0', fundingPredicted: '0', basisPnl: '0', fees: '0', slippage: '0', net: '0' },
      alarms: [],
      funding: [],
      fundingReadings: [],
    });
  });
});
