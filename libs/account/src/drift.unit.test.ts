/** DriftDetector: grace period, one report per disagreement, forgotten once they agree. */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { dec } from '@perpmesh/core';
import { DriftDetector } from './drift.js';

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
