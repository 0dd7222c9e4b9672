/** Funding readings: normalized per hour and annualized; age and staleness at a given time. */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { dec } from '@perpmesh/core';
import { fundingReading, fundingView } from './funding.js';

const T0 = 1_736_121_600_000;
const info = (rate: string, intervalHours: number) => ({
  kind: 'funding' as const,
  instrument: 'BTC-USDC-PERP',
  rate: dec(rate),
  intervalMs: intervalHours * 3_600_000,
  nextFundingTimeMs: T0 + 3_600_000,
  markPrice: dec('100'),
  indexPrice: dec('99.9'),
  tsEventMs: T0,
});

describe('funding readings', () => {
  test('an 8 h rate and the 1 h rate it equals compare per hour', () => {
    const eight = fundingReading('paper', info('0.0008', 8));
    const one = fundingReading('paper-lighter', info('0.0001', 1));
    assert.equal(eight.ratePerHour.toFixed(), '0.0001');
    assert.equal(one.ratePerHour.toFixed(), '0.0001');
    assert.equal(eight.annualized.toFixed(), one.annualized.toFixed());
    assert.equal(eight.rate.toFixed(), '0.0008', 'the raw rate is kept');
    assert.equal(eight.asOfMs, T0);
  });

  test('stale once older than the limit; age never negative', () => {
    const reading = fundingReading('paper', info('0.0008', 8));
    assert.deepEqual(
      [fundingView(reading, T0 + 600_000, 600_000).stale, fundingView(reading, T0 + 600_000, 600_000).ageMs],
      [false, 600_000],
    );
    assert.equal(fundingView(reading, T0 + 600_001, 600_000).stale, true);
    assert.equal(fundingView(reading, T0 - 5, 600_000).ageMs, 0);
  });
});
