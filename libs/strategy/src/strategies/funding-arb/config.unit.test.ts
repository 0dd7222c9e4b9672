import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { ValidationError } from '@perpmesh/core';
import { BTC } from '../../fixtures.test-helper.js';
import { A } from './arb-fixtures.test-helper.js';
import { parseFundingArbConfig } from './config.js';

function raw(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    strategyId: 'arb-1',
    instruments: [BTC],
    venues: [
      { venue: 'paper-a', account: 'main' },
      { venue: 'paper-b', account: 'main' },
    ],
    targetNotionalPerLeg: '5000',
    holdingHorizonMs: '48h',
    entryThresholdBps: '1',
    persistenceMs: '10s',
    maxHoldingMs: '30m',
    legImbalanceBudgetNotionalSeconds: '50000',
    risk: {
      leverage: '3',
      maxLeverage: '5',
      maxNotionalPerInstrument: '20000',
      maxNotionalPerVenue: '50000',
    },
    ...overrides,
  };
}

function rejects(overrides: Record<string, unknown>, field: string): void {
  assert.throws(
    () => parseFundingArbConfig(raw(overrides)),
    (e: unknown) => e instanceof ValidationError && e.field === field,
    `expected an error naming ${field}`,
  );
}

describe('funding arb config: durations', () => {
  test('duration strings as in the rest of the config', () => {
    const config = parseFundingArbConfig(
      raw({
        reentryCooldownMs: '1m',
        settlementGuardMs: '2m30s',
        orderTimeoutMs: '500ms',
        retryIntervalMs: '2s',
        maxBookAgeMs: '5s',
        maxFundingAgeMs: '2m',
        skipReportIntervalMs: '1h',
        risk: { ...(raw().risk as object), maxBalanceAgeMs: '48h' },
      }),
    );
    assert.equal(config.risk.maxBalanceAgeMs, 172_800_000);
    assert.equal(config.holdingHorizonMs, 172_800_000);
    assert.equal(config.persistenceMs, 10_000);
    assert.equal(config.maxHoldingMs, 1_800_000);
    assert.equal(config.reentryCooldownMs, 60_000);
    assert.equal(config.settlementGuardMs, 150_000);
    assert.equal(config.orderTimeoutMs, 500);
    assert.equal(config.retryIntervalMs, 2_000);
    assert.equal(config.maxBookAgeMs, 5_000);
    assert.equal(config.maxFundingAgeMs, 120_000);
    assert.equal(config.skipReportIntervalMs, 3_600_000);
  });

  test('numbers are still milliseconds', () => {
    const config = parseFundingArbConfig(
      raw({ holdingHorizonMs: 172_800_000, persistenceMs: 0, maxHoldingMs: 1 }),
    );
    assert.equal(config.holdingHorizonMs, 172_800_000);
    assert.equal(config.persistenceMs, 0);
    assert.equal(config.maxHoldingMs, 1);
  });

  test('defaults are unchanged', () => {
    const config = parseFundingArbConfig(raw());
    assert.equal(config.reentryCooldownMs, 300_000);
    assert.equal(config.settlementGuardMs, 120_000);
    assert.equal(config.orderTimeoutMs, 10_000);
    assert.equal(config.retryIntervalMs, 2_000);
    assert.equal(config.maxBookAgeMs, 5_000);
    assert.equal(config.maxFundingAgeMs, 120_000);
    assert.equal(config.skipReportIntervalMs, 60_000);
  });

  test('a bad, missing or (where it must be positive) zero duration names the field', () => {
    rejects({ holdingHorizonMs: '48 hours' }, 'fundingArb.holdingHorizonMs');
    rejects({ holdingHorizonMs: undefined }, 'fundingArb.holdingHorizonMs');
    rejects({ persistenceMs: -1 }, 'fundingArb.persistenceMs');
    rejects({ maxHoldingMs: '0s' }, 'fundingArb.maxHoldingMs');
    rejects({ orderTimeoutMs: 0 }, 'fundingArb.orderTimeoutMs');
    rejects({ retryIntervalMs: 1.5 }, 'fundingArb.retryIntervalMs');
    // Zero is a valid wait where a wait may be skipped.
    assert.equal(parseFundingArbConfig(raw({ persistenceMs: '0s', reentryCooldownMs: 0 })).persistenceMs, 0);
  });
});

describe('funding arb config: other fields', () => {
  test('a venue listed twice names the second one', () => {
    rejects(
      {
        venues: [
          { venue: 'paper-a', account: 'main' },
          { venue: 'paper-a', account: 'other' },
        ],
      },
      'fundingArb.venues[1].venue',
    );
  });

  test('fewer than two venues, or a bad fee mode, names the field', () => {
    rejects({ venues: [{ venue: 'paper-a', account: 'main' }] }, 'fundingArb.venues');
    rejects(
      {
        venues: [
          { venue: 'paper-a', account: 'main', feeMode: 'free' },
          { venue: 'paper-b', account: 'main' },
        ],
      },
      'fundingArb.venues[0].feeMode',
    );
  });

  test('config errors name the field', () => {
    assert.throws(
      () => parseFundingArbConfig({ ...JSON.parse(JSON.stringify({})), strategyId: 'Bad_Id' }),
      (e: unknown) => e instanceof ValidationError && e.field === 'fundingArb.strategyId',
    );
    assert.throws(
      () =>
        parseFundingArbConfig({
          strategyId: 'a',
          instruments: [BTC],
          venues: [
            { venue: A, account: 'm' },
            { venue: A, account: 'm' },
          ],
          targetNotionalPerLeg: '1',
          holdingHorizonMs: 1,
          entryThresholdBps: '1',
          persistenceMs: 0,
          maxHoldingMs: 1,
          legImbalanceBudgetNotionalSeconds: '1',
          risk: { leverage: '1', maxLeverage: '1', maxNotionalPerInstrument: '1', maxNotionalPerVenue: '1' },
        }),
      (e: unknown) => e instanceof ValidationError && e.field === 'fundingArb.venues[1].venue',
    );
  });
});

describe('funding arb config: issue 17 settings', () => {
  test('defaults: no sizing down to balance, 50 bps mark tolerance, 60 s deny backoff, alarms on, no breaker', () => {
    const c = parseFundingArbConfig(raw());
    assert.equal(c.sizeDownToBalance, false);
    assert.equal(c.maxMarkDeviationBps.toFixed(), '50');
    assert.equal(c.riskDenyBackoffMs, 60_000);
    assert.equal(c.maxBreakEvenHours, undefined);
    assert.equal(c.maxTotalNotional, undefined);
    assert.equal(c.alarms.oneLeggedAfterMs, 30_000);
    assert.equal(c.alarms.minLiquidationDistanceBps.toFixed(), '1000');
    assert.equal(c.alarms.maintenanceMarginRate.toFixed(), '0.005');
    assert.deepEqual(c.circuitBreaker, {});
  });

  test('set: durations as strings, decimals as text', () => {
    const c = parseFundingArbConfig(
      raw({
        sizeDownToBalance: true,
        riskDenyBackoffMs: '2m',
        maxBreakEvenHours: '12',
        maxTotalNotional: '30000',
        alarms: { oneLeggedAfterMs: '10s' },
        circuitBreaker: { maxDrawdown: '250', maxConsecutiveLosses: 3 },
      }),
    );
    assert.equal(c.riskDenyBackoffMs, 120_000);
    assert.equal(c.alarms.oneLeggedAfterMs, 10_000);
    assert.equal(c.circuitBreaker.maxDrawdown?.toFixed(), '250');
    assert.equal(c.circuitBreaker.maxConsecutiveLosses, 3);
  });

  test('bad values name the field', () => {
    rejects(
      { circuitBreaker: { maxConsecutiveLosses: 0 } },
      'fundingArb.circuitBreaker.maxConsecutiveLosses',
    );
    rejects({ circuitBreaker: { maxDrawdown: '-1' } }, 'fundingArb.circuitBreaker.maxDrawdown');
    rejects({ maxBreakEvenHours: '0' }, 'fundingArb.maxBreakEvenHours');
    rejects({ alarms: { minLiquidationDistanceBps: 'x' } }, 'fundingArb.alarms.minLiquidationDistanceBps');
    rejects({ sizeDownToBalance: 'yes' }, 'fundingArb.sizeDownToBalance');
  });
});

describe('funding arb config: entry threshold', () => {
  test('a negative threshold is refused (entry needs a positive net carry whatever it says)', () => {
    rejects({ entryThresholdBps: '-10000' }, 'fundingArb.entryThresholdBps');
    assert.equal(parseFundingArbConfig(raw({ entryThresholdBps: '0' })).entryThresholdBps.toFixed(), '0');
  });
});
