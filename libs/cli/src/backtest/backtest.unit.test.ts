import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { Decimal, ValidationError } from '@perpmesh/core';
import { withParams } from './command.js';
import { BacktestLedger } from './ledger.js';
import { parseDurationText, parseTape } from './tape.js';

const d = (s: string) => new Decimal(s);

describe('parseTape', () => {
  test('synthetic:<seed>:<duration>', () => {
    assert.deepEqual(parseTape('synthetic:7:24h'), { kind: 'synthetic', seed: 7, durationMs: 86_400_000 });
    assert.deepEqual(parseTape('synthetic:0:90m'), { kind: 'synthetic', seed: 0, durationMs: 5_400_000 });
    assert.equal(parseDurationText('1d', 'x'), 86_400_000);
    assert.equal(parseDurationText('1500', 'x'), 1_500);
  });

  test('session:<dir> (the rest of the text is the directory, colons included)', () => {
    assert.deepEqual(parseTape('session:data/sessions/20260301T000000Z'), {
      kind: 'session',
      dir: 'data/sessions/20260301T000000Z',
    });
    assert.deepEqual(parseTape('session:/tmp/a:b'), { kind: 'session', dir: '/tmp/a:b' });
  });

  test('bad tapes name the field', () => {
    assert.throws(
      () => parseTape('synthetic:x:1h'),
      (e: unknown) => e instanceof ValidationError && /seed/.test(e.message),
    );
    assert.throws(() => parseTape('synthetic:1:0h'), /duration/);
    assert.throws(() => parseTape('synthetic:1'), /synthetic:<seed>:<duration>/);
    assert.throws(() => parseTape('session:'), /--tape session/);
    assert.throws(() => parseTape('tape.csv'), /--tape/);
  });
});

describe('BacktestLedger', () => {
  test('splits net PnL into funding, fees, slippage and price/basis, exactly', () => {
    const ledger = new BacktestLedger();
    ledger.equity({ tMs: 0, equity: d('1000') });
    ledger.order();
    // Bought 2 at 101 with the mid at 100.5: 1 of slippage, 0.1 of fees.
    ledger.fill({ side: 'buy', price: d('101'), size: d('2'), fee: d('0.1'), midAtPlace: d('100.5') });
    // Sold 1 at 99.9 with the mid at 100: 0.1 of slippage; a maker rebate.
    ledger.fill({ side: 'sell', price: d('99.9'), size: d('1'), fee: d('-0.02'), midAtPlace: d('100') });
    ledger.fundingPayment(d('0.3'));
    ledger.equity({ tMs: 1_000, equity: d('1002') });
    const s = ledger.summary();
    assert.equal(s.netPnl.toFixed(), '2');
    assert.equal(s.fees.toFixed(), '-0.08');
    assert.equal(s.slippage.toFixed(), '-1.1');
    assert.equal(s.funding.toFixed(), '0.3');
    assert.equal(s.priceAndBasis.toFixed(), '2.88');
    assert.equal(s.funding.plus(s.fees).plus(s.slippage).plus(s.priceAndBasis).toFixed(), s.netPnl.toFixed());
    assert.deepEqual([s.orders, s.fills, s.fundingPayments], [1, 2, 1]);
  });

  test('max drawdown is the largest fall from a previous high', () => {
    const ledger = new BacktestLedger();
    for (const [t, e] of [
      [0, '100'],
      [1, '120'],
      [2, '90'],
      [3, '130'],
      [4, '110'],
    ] as const) {
      ledger.equity({ tMs: t, equity: d(e) });
    }
    const s = ledger.summary();
    assert.equal(s.maxDrawdown.toFixed(), '30');
    assert.equal(s.maxDrawdownFraction.toFixed(), '0.25');
    assert.equal(s.netPnl.toFixed(), '10');
  });

  test('one-legged time and notional count only unhedged steps', () => {
    const ledger = new BacktestLedger();
    ledger.exposure(d('0'), 1_000);
    ledger.exposure(d('5000'), 2_000);
    ledger.exposure(d('100'), 500);
    const s = ledger.summary();
    assert.equal(s.oneLeggedMs, 2_500);
    assert.equal(s.oneLeggedNotionalSeconds.toFixed(), '10050');
    assert.equal(s.maxOneLeggedNotional.toFixed(), '5000');
  });
});

describe('withParams', () => {
  test('overrides existing keys of the strategy config, nested ones too, and refuses unknown keys', () => {
    const raw = { id: 'arb-1', entryThresholdBps: '1', risk: { leverage: '3' } };
    assert.deepEqual(withParams(raw, { entryThresholdBps: '2', 'risk.leverage': '2' }), {
      id: 'arb-1',
      entryThresholdBps: '2',
      risk: { leverage: '2' },
    });
    assert.equal(raw.entryThresholdBps, '1', 'the input is not changed');
    assert.throws(() => withParams(raw, { entryTreshold: '2' }), /--param.*entryTreshold: no such key/);
    assert.throws(() => withParams(raw, { 'id.x': '2' }), /id is not a section/);
  });
});
