import assert from 'node:assert/strict';
import { test } from 'node:test';
import { msgpackEncode } from './msgpack.js';

const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');

test('msgpack: the smallest form of each value, maps in insertion order (spec examples)', () => {
  assert.equal(hex(msgpackEncode(null)), 'c0');
  assert.equal(hex(msgpackEncode(true)), 'c3');
  assert.equal(hex(msgpackEncode(127)), '7f');
  assert.equal(hex(msgpackEncode(128)), 'cc80');
  assert.equal(hex(msgpackEncode(65536)), 'ce00010000');
  assert.equal(hex(msgpackEncode(1_765_000_000_000)), 'cf0000019af232b200');
  assert.equal(hex(msgpackEncode(-1)), 'ff');
  assert.equal(hex(msgpackEncode(-200)), 'd1ff38');
  assert.equal(hex(msgpackEncode('a')), 'a161');
  assert.equal(hex(msgpackEncode('x'.repeat(40))).slice(0, 4), 'd928');
  assert.equal(hex(msgpackEncode({ b: 1, a: [true] })), '82a16201a1619 1c3'.replace(/ /g, ''));
});
