import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { ValidationError } from '@perpmesh/core';
import { checkKeyPrefix, DEFAULT_KEY_PREFIX, stateKeys } from './keys.js';

describe('state keys', () => {
  test('default prefix is pm: and every key kind is built in one shape', () => {
    const keys = stateKeys();
    assert.equal(DEFAULT_KEY_PREFIX, 'pm:');
    assert.equal(keys.nonce({ venue: 'lighter', account: '12', apiKeyId: '3' }), 'pm:nonce:lighter:12:3');
    assert.equal(keys.idempotency('orders', 'cid-1'), 'pm:idem:orders:cid-1');
    assert.equal(keys.projection('account'), 'pm:proj:account');
    assert.equal(keys.allPattern, 'pm:*');
  });

  test('a test prefix namespaces every key', () => {
    const keys = stateKeys('pm:test:T_1:');
    assert.ok(keys.nonce({ venue: 'v', account: 'a', apiKeyId: 'k' }).startsWith('pm:test:T_1:nonce:'));
    assert.ok(keys.idempotency('s', 'k').startsWith('pm:test:T_1:idem:'));
    assert.ok(keys.projection('p').startsWith('pm:test:T_1:proj:'));
  });

  test('components are encoded so ":" cannot make keys collide', () => {
    const keys = stateKeys();
    const a = keys.nonce({ venue: 'a:b', account: 'c', apiKeyId: 'k' });
    const b = keys.nonce({ venue: 'a', account: 'b:c', apiKeyId: 'k' });
    assert.notEqual(a, b);
    assert.equal(a, 'pm:nonce:a%3Ab:c:k');
    assert.notEqual(keys.idempotency('a:b', 'c'), keys.idempotency('a', 'b:c'));
    assert.equal(keys.projection('account:paper'), 'pm:proj:account%3Apaper');
  });

  test('a bad prefix is refused with the field named', () => {
    for (const bad of ['', 'pm', 'pm*:', 'pm test:', 'x'.repeat(130) + ':']) {
      assert.throws(
        () => checkKeyPrefix(bad),
        (err: unknown) => err instanceof ValidationError && err.field === 'keyPrefix',
        JSON.stringify(bad),
      );
    }
    assert.throws(() => stateKeys('nope'), ValidationError);
  });
});
