import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { ValidationError } from '@perpmesh/core';
import { apiKeyFingerprint, canonicalApplied, MAX_NONCE, ProjectionConflictError } from './statestore.js';
import {
  checkAppliedAdvances,
  checkBlockCount,
  checkNonceKey,
  checkNonceValue,
  checkProjectionSave,
  stateToJson,
} from './validation.js';

const field = (name: string) => (err: unknown) => err instanceof ValidationError && err.field === name;

describe('state validation', () => {
  test('nonce values are bigints in [0, 2^63-1]', () => {
    assert.equal(checkNonceValue(0n, 'f'), 0n);
    assert.equal(checkNonceValue(MAX_NONCE, 'f'), MAX_NONCE);
    assert.throws(() => checkNonceValue(-1n, 'f'), field('f'));
    assert.throws(() => checkNonceValue(MAX_NONCE + 1n, 'f'), field('f'));
    assert.throws(() => checkNonceValue(1, 'f'), field('f'));
  });

  test('block counts are integers from 1 to the cap', () => {
    assert.equal(checkBlockCount(1), 1);
    for (const bad of [0, -1, 1.5, Number.NaN, 1_000_001, '2'])
      assert.throws(() => checkBlockCount(bad), field('count'));
  });

  test('nonce key ids must be non-empty, bounded strings; apiKeyId is never echoed', () => {
    assert.throws(() => checkNonceKey({ venue: 'v', account: '', apiKeyId: 'k' }), field('key.account'));
    assert.throws(
      () => checkNonceKey({ venue: 'v', account: 'a', apiKeyId: 'SECRETSECRET'.repeat(30) }),
      (err: unknown) => field('key.apiKeyId')(err) && !(err as Error).message.includes('SECRET'),
    );
  });

  test('applied must advance: no stream back or missing, at least one ahead', () => {
    checkAppliedAdvances({ A: 2 }, { A: 1 });
    checkAppliedAdvances({ A: 1, B: 1 }, { A: 1 });
    checkAppliedAdvances({ A: 1 }, {});
    assert.throws(() => checkAppliedAdvances({ A: 1 }, { A: 1 }), field('applied'));
    assert.throws(() => checkAppliedAdvances({}, {}), field('applied'));
    assert.throws(() => checkAppliedAdvances({ A: 0 }, { A: 1 }), field('applied.A'));
    assert.throws(() => checkAppliedAdvances({ B: 5 }, { A: 1 }), field('applied.A'));
  });

  test('projection saves: sequences are non-negative integers, state is JSON', () => {
    const ok = checkProjectionSave('p', { x: '1' }, { A: 1 }, undefined);
    assert.deepEqual(ok, { name: 'p', stateJson: '{"x":"1"}', applied: { A: 1 }, expected: {} });
    assert.throws(() => checkProjectionSave('p', {}, { A: -1 }, undefined), field('applied.A'));
    assert.throws(() => checkProjectionSave('p', {}, { A: 1 }, { A: 'x' }), field('expectedApplied.A'));
    assert.throws(() => checkProjectionSave('', {}, { A: 1 }, undefined), field('name'));
    assert.throws(() => stateToJson(undefined), field('state'));
    const cyclic: Record<string, unknown> = {};
    cyclic.self = cyclic;
    assert.throws(() => stateToJson(cyclic), field('state'));
  });

  test('canonicalApplied ignores key order', () => {
    assert.equal(canonicalApplied({ B: 1, A: 2 }), canonicalApplied({ A: 2, B: 1 }));
    assert.equal(canonicalApplied({ B: 1, A: 2 }), '{"A":2,"B":1}');
  });

  test('ProjectionConflictError names the projection and both sequences', () => {
    const err = new ProjectionConflictError('acct', { A: 1 }, { A: 2 });
    assert.equal(err.code, 'PROJECTION_CONFLICT');
    assert.equal(err.name, 'ProjectionConflictError');
    assert.match(err.message, /acct.*\{"A":1\}.*\{"A":2\}/);
  });

  test('apiKeyFingerprint is stable, short and does not contain the key', () => {
    const key = 'vmPUZE6mv9SD5VNHk4HlWFsOr6aKE2zvsw0MuIgwCIPy6utIco14y7Ju91duEh8A';
    const fp = apiKeyFingerprint(key);
    assert.match(fp, /^fp-[0-9a-f]{16}$/);
    assert.equal(apiKeyFingerprint(key), fp);
    assert.notEqual(apiKeyFingerprint(`${key}x`), fp);
    assert.ok(!key.includes(fp.slice(3)));
  });
});
