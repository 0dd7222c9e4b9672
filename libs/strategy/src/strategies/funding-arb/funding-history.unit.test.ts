import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { dec } from '@perpmesh/core';
import { spec } from '../../decider-spec.js';
import { BTC, funding, HOUR_MS, T0 } from '../../fixtures.test-helper.js';
import { initialFundingArbState } from './arb-book.js';
import { A, arbConfig, B, market2 } from './arb-fixtures.test-helper.js';
import { MAX_READINGS_PER_MARKET, recordReading } from './funding-history.js';
import { arbBookReport, fundingArbDecider } from './index.js';

const reading = (rate: string, nextFundingTimeMs: number, asOfMs: number) => ({
  rate: dec(rate),
  intervalMs: HOUR_MS,
  nextFundingTimeMs,
  markPrice: dec('50000'),
  asOfMs,
});

describe('funding history: each venue reading per settlement', () => {
  test('the last reading before the funding time moves on is that settlement; the current one is kept apart', () => {
    const state = initialFundingArbState();
    recordReading(state, A, BTC, reading('0.0001', T0 + HOUR_MS, T0));
    recordReading(state, A, BTC, reading('0.0002', T0 + HOUR_MS, T0 + 60_000));
    recordReading(state, A, BTC, reading('0.0003', T0 + 2 * HOUR_MS, T0 + HOUR_MS + 1));
    const market = Object.values(state.fundingReadings!)[0]!;
    assert.equal(market.venue, A);
    assert.deepEqual(
      market.settled.map((r) => [r.fundingTimeMs, r.rate.toFixed()]),
      [[T0 + HOUR_MS, '0.0002']],
    );
    assert.equal(market.current!.rate.toFixed(), '0.0003');
    for (let h = 3; h < 3 + 2 * MAX_READINGS_PER_MARKET; h++) {
      recordReading(state, A, BTC, reading('0.0001', T0 + h * HOUR_MS, T0 + h * HOUR_MS - 1));
    }
    assert.equal(market.settled.length, MAX_READINGS_PER_MARKET, 'bounded');
  });

  test('the decider keeps every configured venue readings, also without an arb; the report lists them', () => {
    const decider = fundingArbDecider(arbConfig());
    const t = T0 + 2 * HOUR_MS;
    const state = spec(decider).given([
      ...market2('0.001', 8, '-0.0001', 1),
      funding(B, t, '-0.0002', 1, { nextFundingTimeMs: t + HOUR_MS }),
      funding('paper-elsewhere', t, '0.5', 1),
    ]).state;
    const report = arbBookReport(state.strategy, state.world);
    assert.deepEqual(
      report.fundingReadings.map((m) => [m.venue, m.settled.length, m.current?.rate.toFixed()]),
      [
        [A, 0, '0.001'],
        [B, 1, '-0.0002'],
      ],
    );
    assert.equal(report.fundingReadings[1]!.settled[0]!.rate.toFixed(), '-0.0001');
  });
});
