import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { ValidationError } from '@perpmesh/core';
import { resolveAccountSettings } from './config.js';

describe('account ownership settings', () => {
  test('default: one lease for every account (nothing changes for existing runs)', () => {
    const s = resolveAccountSettings();
    assert.equal(s.ownership, 'single');
    assert.equal(s.maxReplicas, 8);
  });

  test('per_account is accepted; anything else names the field', () => {
    assert.equal(resolveAccountSettings({ ownership: 'per_account' }).ownership, 'per_account');
    assert.throws(
      () => resolveAccountSettings({ ownership: 'sharded' as 'single' }),
      (err: unknown) => err instanceof ValidationError && /account\.ownership/.test(err.message),
    );
    assert.throws(
      () => resolveAccountSettings({ maxReplicas: 0 }),
      (err: unknown) => err instanceof ValidationError && /account\.maxReplicas/.test(err.message),
    );
  });
});
