/** The account service's config parser: defaults, durations, and errors that name the field. */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { ValidationError } from '@perpmesh/core';
import { ConfigError, parseConfig } from '@perpmesh/runtime';
import { accountConfigSchema, accountSettingsOf } from './config.js';

const venues = {
  venues: { paper: { kind: 'paper', instruments: ['BTC-USDC-PERP'], accounts: { main: {} } } },
};

describe('account config', () => {
  test('defaults: ports 50052/9102, 5 s poll, 15 s staleness, 10 s drift grace', () => {
    const { config } = parseConfig(accountConfigSchema, venues, { env: {} });
    assert.equal(config.account.grpcPort, 50052);
    assert.equal(config.account.http.port, 9102);
    const settings = accountSettingsOf(config.account);
    assert.equal(settings.pollIntervalMs, 5_000);
    assert.equal(settings.balanceStaleAfterMs, 15_000);
    assert.equal(settings.driftGraceMs, 10_000);
    assert.equal(settings.consumerName, 'account');
    assert.equal(settings.leaseTtlMs, 15_000);
    assert.equal(settings.leaseRenewIntervalMs, 5_000);
  });

  test('lease times: renewing no faster than the lease lapses is refused, naming the field', () => {
    const { config } = parseConfig(
      accountConfigSchema,
      { ...venues, account: { leaseTtl: '6s', leaseRenewInterval: '2s' } },
      { env: {} },
    );
    assert.equal(accountSettingsOf(config.account).leaseTtlMs, 6_000);
    const slow = parseConfig(
      accountConfigSchema,
      { ...venues, account: { leaseTtl: '5s', leaseRenewInterval: '5s' } },
      { env: {} },
    ).config.account;
    assert.throws(
      () => accountSettingsOf(slow),
      (err: unknown) =>
        err instanceof ValidationError &&
        err.field === 'account.leaseRenewIntervalMs' &&
        /less than leaseTtlMs \(5000\), got 5000/.test(err.message),
    );
  });

  test('durations as text and env overrides', () => {
    const { config } = parseConfig(
      accountConfigSchema,
      { ...venues, account: { balanceStaleAfter: '30s' } },
      { env: { PERPMESH__ACCOUNT__POLL_INTERVAL: '2s' } },
    );
    assert.equal(config.account.balanceStaleAfter, 30_000);
    assert.equal(config.account.pollInterval, 2_000);
  });

  test('a bad value is an error naming the field', () => {
    assert.throws(
      () =>
        parseConfig(accountConfigSchema, { ...venues, account: { driftSizeTolerance: 'abc' } }, { env: {} }),
      (err: unknown) => err instanceof ConfigError && /account\.driftSizeTolerance/.test(err.message),
    );
    assert.throws(
      () => parseConfig(accountConfigSchema, { ...venues, account: { pollIntervl: '1s' } }, { env: {} }),
      (err: unknown) => err instanceof ConfigError && /pollIntervl/.test(err.message),
    );
  });
});
