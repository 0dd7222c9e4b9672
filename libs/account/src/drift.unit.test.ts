/** DriftDetector: grace period, one report per disagreement, forgotten once they agree; BalanceDriftDetector: baseline, explained moves, unexplained ones reported once. */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { dec } from '@perpmesh/core';
import type { VenuePosition } from '@perpmesh/venues';
import { BalanceDriftDetector, DriftDetector, positionSizeObservations } from './drift.js';
import { applyFillToProjection, emptyPositionsProjection } from './projection.js';

const obs = (projected: string, venue: string) => ({
  key: 'paper|main|BTC-USDC-PERP|position.size',
  projected: dec(projected),
  venue: dec(venue),
  projectedAsOfMs: 1,
  venueAsOfMs: 2,
});

describe('DriftDetector', () => {
  test('reports only after the grace, once, and again when a value changes', () => {
    const d = new DriftDetector({ graceMs: 1000, tolerance: dec('0') });
    assert.equal(d.observe(obs('0', '0'), 0).kind, 'agree');
    assert.deepEqual(d.observe(obs('0', '1'), 100), { kind: 'pending', sinceMs: 100 });
    assert.equal(d.observe(obs('0', '1'), 1099).kind, 'pending');
    const v = d.observe(obs('0', '1'), 1100);
    assert.equal(v.kind, 'report');
    assert.equal(v.kind === 'report' && v.report.sinceMs, 100);
    assert.equal(d.observe(obs('0', '1'), 5000).kind, 'pending', 'same disagreement: reported once');
    assert.equal(d.observe(obs('0', '2'), 5001).kind, 'report', 'venue moved again: reported again');
    assert.deepEqual(d.active(), ['paper|main|BTC-USDC-PERP|position.size']);
  });

  test('a disagreement resolved within the grace (a fill in flight) is never reported', () => {
    const d = new DriftDetector({ graceMs: 1000, tolerance: dec('0') });
    assert.equal(d.observe(obs('0', '1'), 0).kind, 'pending');
    assert.equal(d.observe(obs('1', '1'), 900).kind, 'agree');
    assert.equal(d.observe(obs('1', '2'), 2000).kind, 'pending', 'a new episode starts its own grace');
    assert.deepEqual(d.active(), ['paper|main|BTC-USDC-PERP|position.size']);
  });

  test('differences within the tolerance agree', () => {
    const d = new DriftDetector({ graceMs: 0, tolerance: dec('0.01') });
    assert.equal(d.observe(obs('100', '100.01'), 0).kind, 'agree');
    assert.equal(d.observe(obs('100', '100.011'), 0).kind, 'report');
  });
});

describe('BalanceDriftDetector', () => {
  const observation = (venueTotal: string, explained: string) => ({
    key: 'paper|main|USDC|balance.total',
    venueTotal: dec(venueTotal),
    explained: dec(explained),
    projectedAsOfMs: 1,
    venueAsOfMs: 2,
  });

  test('the first reading fixes the baseline; explained moves agree; an unexplained move is reported once after the grace, then accepted', () => {
    const d = new BalanceDriftDetector({ graceMs: 1000, tolerance: dec('0.01') });
    assert.deepEqual(d.observe(observation('1000', '0'), 0), { kind: 'baseline' });
    // A fill realized 50 and the venue shows it (within the 0.01 rounding tolerance).
    assert.equal(d.observe(observation('1050.005', '50'), 100).kind, 'agree');
    // A deposit of 200 nobody explained.
    assert.equal(d.observe(observation('1250', '50'), 200).kind, 'pending');
    const verdict = d.observe(observation('1250', '50'), 1200);
    assert.equal(verdict.kind, 'report');
    if (verdict.kind === 'report') {
      assert.equal(verdict.report.projected.toFixed(), '1050');
      assert.equal(verdict.report.venue.toFixed(), '1250');
      assert.equal(verdict.report.sinceMs, 200);
    }
    // Accepted as the new baseline: agrees from now on.
    assert.equal(d.observe(observation('1250', '50'), 1300).kind, 'agree');
  });

  test('resetBaselines starts over from the next reading', () => {
    const d = new BalanceDriftDetector({ graceMs: 0, tolerance: dec('0') });
    d.observe(observation('1000', '0'), 0);
    d.resetBaselines();
    assert.deepEqual(d.observe(observation('5000', '0'), 1), { kind: 'baseline' });
    assert.equal(d.observe(observation('5000', '0'), 2).kind, 'agree');
  });
});

describe('positionSizeObservations', () => {
  const venuePosition = (instrument: string, size: string, tsEventMs: number): VenuePosition => ({
    instrument,
    size: dec(size),
    entryPrice: dec(100),
    markPrice: dec(100),
    unrealizedPnl: dec(0),
    realizedPnl: dec(0),
    leverage: dec(1),
    tsEventMs,
  });

  test('every instrument either side knows; missing on one side is 0 there', () => {
    let projection = emptyPositionsProjection();
    for (const [venue, account, instrument, tradeId] of [
      ['paper', 'main', 'BTC-USDC-PERP', 't1'],
      ['paper', 'other', 'SOL-USDC-PERP', 't2'],
    ] as const) {
      projection = applyFillToProjection(projection, {
        venue,
        account,
        instrument,
        tradeId,
        side: 'buy',
        price: dec(100),
        size: dec('0.5'),
        fee: dec(0),
        tsEventMs: 7,
      });
    }
    const observations = positionSizeObservations(
      {
        venue: 'paper',
        account: 'main',
        positions: new Map([['ETH-USDC-PERP', venuePosition('ETH-USDC-PERP', '-2', 9)]]),
        positionsAsOfMs: 11,
      },
      projection,
    );
    assert.deepEqual(
      observations.map((o) => [
        o.key,
        o.projected.toFixed(),
        o.venue.toFixed(),
        o.projectedAsOfMs,
        o.venueAsOfMs,
      ]),
      [
        ['paper|main|BTC-USDC-PERP|position.size', '0.5', '0', 7, 11],
        ['paper|main|ETH-USDC-PERP|position.size', '0', '-2', 0, 9],
      ],
      'another account’s position is not ours',
    );
    assert.equal(observations[0]?.positionKey, 'paper|main|BTC-USDC-PERP');
    assert.equal(observations[0]?.instrument, 'BTC-USDC-PERP');
  });
});
