import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Decimal } from '@perpmesh/core';
import { asStored, diffJson } from './diff.js';

test('diffJson: equal values have no difference', () => {
  const v = { positions: { 'paper|main|BTC': { size: '0.01', fills: 1, ids: ['a', 'b'] } }, version: 1 };
  assert.deepEqual(diffJson(v, structuredClone(v)), []);
});

test('diffJson: decimals are exact text; paths name the field', () => {
  const live = { positions: { 'paper|main|BTC': { size: '1.50', fees: '0.1' } } };
  const rebuilt = { positions: { 'paper|main|BTC': { size: '1.5', fees: '0.1' } } };
  assert.deepEqual(diffJson(live, rebuilt), [
    { path: 'positions["paper|main|BTC"].size', live: '"1.50"', rebuilt: '"1.5"' },
  ]);
});

test('diffJson: missing keys, array elements and type changes are differences', () => {
  assert.deepEqual(diffJson({ a: 1, list: ['x'] }, { b: 1, list: ['x', 'y'], a: '1' }), [
    { path: 'a', live: '1', rebuilt: '"1"' },
    { path: 'b', live: '(missing)', rebuilt: '1' },
    { path: 'list[1]', live: '(missing)', rebuilt: '"y"' },
  ]);
  assert.deepEqual(diffJson(null, { a: 1 }), [{ path: '(root)', live: 'null', rebuilt: '{"a":1}' }]);
});

test('asStored: Decimals become the text a store keeps', () => {
  assert.deepEqual(asStored({ size: new Decimal('0.010') }), { size: '0.01' });
});
