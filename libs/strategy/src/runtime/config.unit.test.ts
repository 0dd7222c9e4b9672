/**
 * The strategy section's runtime settings: duration strings become ms, and lease times
 * that would hand the lease over while the instance works are refused, naming the field.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { ValidationError } from '@perpmesh/core';
import { z } from 'zod';
import { RUNTIME_DEFAULTS, runtimeSettingsOf, strategySectionFields } from './config.js';

const section = (raw: Record<string, unknown>) => z.strictObject(strategySectionFields).parse(raw);

describe('strategy runtime settings', () => {
  test('the defaults, and duration strings in ms', () => {
    assert.deepEqual(runtimeSettingsOf(section({})), RUNTIME_DEFAULTS);
    const s = runtimeSettingsOf(
      section({ leaseTtl: '6s', leaseRenewInterval: '2s', retryInterval: '500ms' }),
    );
    assert.equal(s.leaseTtlMs, 6_000);
    assert.equal(s.leaseRenewIntervalMs, 2_000);
    assert.equal(s.retryIntervalMs, 500);
  });

  test('a renewal interval not under the lease TTL is refused, naming the field', () => {
    for (const leaseRenewInterval of ['5s', '6s', 0]) {
      assert.throws(
        () => runtimeSettingsOf(section({ leaseTtl: '5s', leaseRenewInterval })),
        (e: unknown) =>
          e instanceof ValidationError &&
          e.field === 'strategy.leaseRenewInterval' &&
          /less than leaseTtl \(5000 ms\)/.test(e.message),
      );
    }
  });

  test('a zero retry interval is refused, naming the field', () => {
    assert.throws(
      () => runtimeSettingsOf(section({ retryInterval: 0 }), 'config.strategy'),
      (e: unknown) => e instanceof ValidationError && e.field === 'config.strategy.retryInterval',
    );
  });
});
