import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseOverrides } from './overrides.js';

test('parseOverrides: JSON values when they parse, else text; bad pairs name --set', () => {
  assert.deepEqual(parseOverrides(['entryThresholdBps=5', 'risk.leverage="2"', 'orderType=limit_ioc']), {
    entryThresholdBps: 5,
    'risk.leverage': '2',
    orderType: 'limit_ioc',
  });
  assert.deepEqual(parseOverrides(undefined), {});
  assert.throws(() => parseOverrides(['novalue']), /--set/);
  assert.throws(() => parseOverrides(['=1']), /--set/);
});
