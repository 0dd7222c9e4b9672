import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { dec, ValidationError } from '@perpmesh/core';
import { accountSettingsFor, deadManSwitchPlan } from './venue-controls.js';

describe('accountSettingsFor', () => {
  const settings = [
    { venue: 'paper', account: 'main', instrument: 'BTC-USDC-PERP', leverage: dec(5) },
    { venue: 'paper', account: 'other', instrument: 'BTC-USDC-PERP', leverage: dec(3) },
    { venue: 'okx', account: 'main', instrument: 'BTC-USDT-PERP', marginMode: 'isolated' as const },
  ];

  test("picks the account's settings when the venue supports them", () => {
    assert.deepEqual(
      accountSettingsFor(settings, 'paper', 'main', { setLeverage: true }).map((s) => s.leverage?.toFixed()),
      ['5'],
    );
    assert.deepEqual(accountSettingsFor(settings, 'paper', 'nobody', {}), []);
    assert.equal(
      accountSettingsFor(settings, 'okx', 'main', { marginModes: ['cross', 'isolated'] })[0]?.marginMode,
      'isolated',
    );
  });

  test('a setting the venue cannot take is a ValidationError naming it', () => {
    assert.throws(
      () => accountSettingsFor(settings, 'paper', 'main', { setLeverage: false }),
      (e: unknown) =>
        e instanceof ValidationError && /leverage$/.test(e.field) && /does not support/.test(e.message),
    );
    assert.throws(
      () => accountSettingsFor(settings, 'okx', 'main', { marginModes: ['cross'] }),
      (e: unknown) =>
        e instanceof ValidationError && /marginMode$/.test(e.field) && /offers: cross/.test(e.message),
    );
  });
});

describe('deadManSwitchPlan', () => {
  test('off without settings, with 0, or on a venue without the switch', () => {
    assert.equal(deadManSwitchPlan(undefined, { scheduleCancelAll: true }), undefined);
    assert.equal(deadManSwitchPlan({ afterMs: 0, refreshMs: 1 }, { scheduleCancelAll: true }), undefined);
    assert.equal(deadManSwitchPlan({ afterMs: 60_000, refreshMs: 20_000 }, {}), undefined);
  });

  test("raises the deadline to the venue's minimum and keeps the refresh under a third of it", () => {
    assert.deepEqual(deadManSwitchPlan({ afterMs: 60_000, refreshMs: 20_000 }, { scheduleCancelAll: true }), {
      afterMs: 60_000,
      refreshMs: 20_000,
    });
    assert.deepEqual(
      deadManSwitchPlan(
        { afterMs: 2_000, refreshMs: 20_000 },
        { scheduleCancelAll: true, scheduleCancelAllMinMs: 5_000 },
      ),
      { afterMs: 5_000, refreshMs: 1_666 },
    );
  });
});
