import assert from 'node:assert/strict';
import { test } from 'node:test';
import { configWithOverrides } from './strategy.js';

test('configWithOverrides: recorded decimals back to exact text, overrides at dot paths', () => {
  const recorded = {
    kind: 'funding_arb',
    entryThresholdBps: { $d: '1' },
    risk: { leverage: { $d: '3' }, orderRateCapacity: 10 },
    targetNotionalPerLeg: { $d: '5000.000000000000000001' },
  };
  const raw = configWithOverrides(recorded, { entryThresholdBps: '5', 'risk.leverage': '2' });
  assert.deepEqual(raw, {
    kind: 'funding_arb',
    entryThresholdBps: '5',
    risk: { leverage: '2', orderRateCapacity: 10 },
    targetNotionalPerLeg: '5000.000000000000000001',
  });
  assert.deepEqual(recorded.risk.leverage, { $d: '3' }, 'the recorded config is not changed');
  assert.throws(() => configWithOverrides(recorded, { entryThreshold: 1 }), /entryThreshold: no such key/);
  assert.throws(() => configWithOverrides(recorded, { 'kind.x': 1 }), /not a section/);
});
