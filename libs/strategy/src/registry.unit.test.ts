import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { ValidationError } from '@perpmesh/core';
import { makeStrategyDecider, parseStrategyConfig } from './config.js';
import { BTC } from './fixtures.test-helper.js';
import { lookupStrategy, registerStrategy, strategyKinds } from './registry.js';
import { gridStrategy } from './strategies/grid/definition.js';

const RISK = {
  leverage: '5',
  maxLeverage: '10',
  maxNotionalPerInstrument: '100000',
  maxNotionalPerVenue: '100000',
};

const grid = (overrides: Record<string, unknown> = {}) => ({
  kind: 'grid',
  strategyId: 'grid-1',
  venue: 'paper',
  account: 'main',
  instrument: BTC,
  spacingAbsolute: '100',
  levelsAbove: 2,
  levelsBelow: 2,
  sizePerLevel: '0.01',
  maxActiveOrders: 2,
  risk: RISK,
  ...overrides,
});

const scalper = {
  kind: 'scalper',
  strategyId: 'scalp-1',
  leader: { venue: 'paper-lead', instrument: BTC },
  follower: { venue: 'paper-follow', account: 'sub', instrument: BTC },
  signalWindowMs: '1s',
  entryThresholdBps: '5',
  orderSize: '0.01',
  takeProfitBps: '10',
  stopLossBps: '10',
  maxHoldMs: '1m',
  risk: RISK,
};

const fundingArb = {
  kind: 'funding_arb',
  strategyId: 'arb-1',
  instruments: [BTC],
  venues: [
    { venue: 'paper-a', account: 'main' },
    { venue: 'paper-b', account: 'main' },
  ],
  targetNotionalPerLeg: '1000',
  holdingHorizonMs: 8 * 3_600_000,
  entryThresholdBps: '1',
  persistenceMs: 0,
  maxHoldingMs: 3_600_000,
  legImbalanceBudgetNotionalSeconds: '1000',
  risk: RISK,
};

describe('strategy registry', () => {
  test('the built-in kinds are registered, in one list', () => {
    assert.deepEqual(strategyKinds().slice(0, 3), ['funding_arb', 'grid', 'scalper']);
  });

  test('an unknown kind is refused naming the field and the known kinds', () => {
    assert.throws(
      () => parseStrategyConfig({ ...grid(), kind: 'martingale' }, 'strategy.instances[2]'),
      (err: unknown) =>
        err instanceof ValidationError &&
        err.message.includes('strategy.instances[2].kind') &&
        err.message.includes('funding_arb, grid, scalper') &&
        err.message.includes('"martingale"'),
    );
  });

  test('each definition names the accounts it trades and the markets it reads', () => {
    const g = parseStrategyConfig(grid());
    assert.deepEqual(lookupStrategy(g.kind).accounts(g), [{ venue: 'paper', account: 'main' }]);
    assert.deepEqual(lookupStrategy(g.kind).markets(g), [{ venue: 'paper', instrument: BTC }]);

    const s = parseStrategyConfig(scalper);
    assert.deepEqual(lookupStrategy(s.kind).accounts(s), [{ venue: 'paper-follow', account: 'sub' }]);
    assert.deepEqual(lookupStrategy(s.kind).markets(s), [
      { venue: 'paper-lead', instrument: BTC },
      { venue: 'paper-follow', instrument: BTC },
    ]);

    const f = parseStrategyConfig(fundingArb);
    assert.deepEqual(lookupStrategy(f.kind).accounts(f), [
      { venue: 'paper-a', account: 'main' },
      { venue: 'paper-b', account: 'main' },
    ]);
    assert.deepEqual(lookupStrategy(f.kind).markets(f), [
      { venue: 'paper-a', instrument: BTC },
      { venue: 'paper-b', instrument: BTC },
    ]);
  });

  test('makeStrategyDecider builds the decider of the config kind', () => {
    for (const raw of [grid(), scalper, fundingArb]) {
      const decider = makeStrategyDecider(parseStrategyConfig(raw));
      assert.equal(decider.strategyKind, raw.kind);
    }
  });

  test('a kind registers once; the returned function removes it again', () => {
    assert.throws(() => registerStrategy(gridStrategy), /already registered/);
    const unregister = registerStrategy({
      ...gridStrategy,
      kind: 'grid_copy',
      parseConfig: (raw, field) => gridStrategy.parseConfig({ ...(raw as object), kind: 'grid' }, field),
    });
    assert.equal(parseStrategyConfig(grid({ kind: 'grid_copy' })).kind, 'grid_copy');
    unregister();
    assert.throws(() => parseStrategyConfig(grid({ kind: 'grid_copy' })), ValidationError);
  });
});

describe('strategy config durations', () => {
  test('take the config duration strings or a number of ms', () => {
    const g = parseStrategyConfig(
      grid({ placementCooldownMs: '1.5s', cleanupIntervalMs: '1m', maxBookAgeMs: 250 }),
    ) as ReturnType<typeof gridStrategy.parseConfig>;
    assert.equal(g.placementCooldownMs, 1_500);
    assert.equal(g.cleanupIntervalMs, 60_000);
    assert.equal(g.maxBookAgeMs, 250);

    const s = parseStrategyConfig({ ...scalper, risk: { ...RISK, maxBalanceAgeMs: '2m' } });
    assert.equal((s as unknown as { signalWindowMs: number }).signalWindowMs, 1_000);
    assert.equal((s as unknown as { maxHoldMs: number }).maxHoldMs, 60_000);
    assert.equal(s.risk.maxBalanceAgeMs, 120_000);
  });

  test('a bad duration is refused naming the field', () => {
    assert.throws(
      () => parseStrategyConfig(grid({ cleanupIntervalMs: '30 seconds' }), 'strategy.instances[0]'),
      (err: unknown) =>
        err instanceof ValidationError && err.message.includes('strategy.instances[0].cleanupIntervalMs'),
    );
    assert.throws(
      () => parseStrategyConfig(grid({ cleanupIntervalMs: '0s' }), 'strategy.instances[0]'),
      /strategy\.instances\[0\]\.cleanupIntervalMs: must be longer than 0/,
    );
  });
});
