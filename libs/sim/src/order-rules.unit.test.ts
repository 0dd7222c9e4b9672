/** The venue's pure order checks: each rule's reject code and field, the reduce-only exemption, bands. */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { ZERO } from '@perpmesh/core';
import type { RejectCode } from './events.js';
import {
  checkMarketRules,
  checkMaxSize,
  checkOrderRequest,
  checkPostOnly,
  checkReduceOnlyDirection,
  minimumsOnly,
  protectionBandLimit,
  reduceOnlyCapacity,
} from './order-rules.js';
import { venuePreset } from './presets.js';
import { VenueRejectError } from './rejects.js';
import { BTC, d } from './test-helpers.js';

// paper BTC: tick 0.1, lot 0.001, min notional 100.
const spec = venuePreset('paper').instruments.find((i) => i.instrumentId === BTC)!;

function rejected(fn: () => unknown, code: RejectCode, field: string): string {
  try {
    fn();
  } catch (err) {
    assert.ok(err instanceof VenueRejectError, `a VenueRejectError, got ${String(err)}`);
    assert.equal(err.reject.code, code);
    assert.equal(err.reject.field, field);
    assert.ok(err.reject.message.startsWith(`${field}: `), err.reject.message);
    return err.reject.message;
  }
  assert.fail(`expected a ${code} reject`);
}

describe('market rules (core marketRuleViolation, mapped to venue reject codes)', () => {
  const order = (size: string, price?: string, reduceOnly = false) => ({
    size: d(size),
    price: price === undefined ? undefined : d(price),
    reduceOnly,
  });

  test('each rule has its reject code', () => {
    const tick = rejected(
      () => checkMarketRules(order('0.01', '50000.05'), spec, d('50000')),
      'invalid_tick',
      'price',
    );
    assert.match(tick, /50000\.05 is not a multiple of the tick size 0\.1/);
    rejected(() => checkMarketRules(order('0.0015', '50000'), spec, d('50000')), 'invalid_lot', 'size');
    rejected(() => checkMarketRules(order('0.001', '50000'), spec, d('50000')), 'below_min_notional', 'size');
    const minSized = { ...spec, minSize: d('0.01') };
    rejected(() => checkMarketRules(order('0.005', '50000'), minSized, d('50000')), 'below_min_size', 'size');
    assert.doesNotThrow(() => checkMarketRules(order('0.01', '50000'), spec, d('50000')));
  });

  test('a market order is valued at the reference price; without one the notional is not checked', () => {
    rejected(() => checkMarketRules(order('0.001'), spec, d('50000')), 'below_min_notional', 'size');
    assert.doesNotThrow(() => checkMarketRules(order('0.001'), spec, d('200000')));
    assert.doesNotThrow(() => checkMarketRules(order('0.001'), spec, undefined));
  });

  test('reduce-only orders skip the minimums, not tick or lot', () => {
    assert.doesNotThrow(() => checkMarketRules(order('0.001', '50000', true), spec, d('50000')));
    rejected(() => checkMarketRules(order('0.0015', '50000', true), spec, d('50000')), 'invalid_lot', 'size');
    rejected(
      () => checkMarketRules(order('0.01', '50000.05', true), spec, d('50000')),
      'invalid_tick',
      'price',
    );
  });

  test('minimumsOnly (for orders proven on the grid) checks the minimums and nothing of tick or lot', () => {
    const minimums = minimumsOnly(spec);
    assert.doesNotThrow(() => checkMarketRules(order('0.0025', '50000.05'), minimums, d('50000')));
    rejected(
      () => checkMarketRules(order('0.001', '50000'), minimums, d('50000')),
      'below_min_notional',
      'size',
    );
    const minSized = minimumsOnly({ ...spec, minSize: d('0.01') });
    rejected(() => checkMarketRules(order('0.005', '50000'), minSized, d('50000')), 'below_min_size', 'size');
  });

  test('max order size', () => {
    rejected(() => checkMaxSize(spec.maxOrderSize.plus(spec.lotSize), spec), 'above_max_size', 'size');
    assert.doesNotThrow(() => checkMaxSize(spec.maxOrderSize, spec));
  });
});

describe('request shape', () => {
  test('defaults the time in force; market orders take no price and only ioc or fok', () => {
    assert.equal(checkOrderRequest({ side: 'buy', type: 'limit', price: '1', size: '1' }).timeInForce, 'gtc');
    assert.equal(checkOrderRequest({ side: 'buy', type: 'market', size: '1' }).timeInForce, 'ioc');
    rejected(
      () => checkOrderRequest({ side: 'buy', type: 'market', size: '1', timeInForce: 'gtc' }),
      'invalid_argument',
      'timeInForce',
    );
    rejected(
      () => checkOrderRequest({ side: 'buy', type: 'market', price: '1', size: '1' }),
      'invalid_argument',
      'price',
    );
  });

  test('names the bad field', () => {
    rejected(
      () => checkOrderRequest({ side: 'hold' as never, type: 'limit', size: '1' }),
      'invalid_argument',
      'side',
    );
    rejected(
      () => checkOrderRequest({ side: 'buy', type: 'stop' as never, size: '1' }),
      'invalid_argument',
      'type',
    );
    rejected(() => checkOrderRequest({ side: 'buy', type: 'limit', size: '1' }), 'invalid_argument', 'price');
    rejected(
      () => checkOrderRequest({ side: 'buy', type: 'limit', price: '0', size: '1' }),
      'invalid_argument',
      'price',
    );
    rejected(
      () => checkOrderRequest({ side: 'buy', type: 'limit', price: '1', size: 'abc' }),
      'invalid_argument',
      'size',
    );
    rejected(
      () => checkOrderRequest({ side: 'buy', type: 'limit', price: '1', size: '-1' }),
      'invalid_argument',
      'size',
    );
    rejected(
      () => checkOrderRequest({ side: 'buy', type: 'limit', price: '1', size: '1', clientOrderId: '' }),
      'invalid_argument',
      'clientOrderId',
    );
  });
});

describe('reduce-only, post-only, protection band', () => {
  test('reduce-only must trade against the position, and may fill at most its size', () => {
    rejected(() => checkReduceOnlyDirection('sell', ZERO), 'reduce_only_would_increase', 'reduceOnly');
    rejected(() => checkReduceOnlyDirection('buy', d('0.5')), 'reduce_only_would_increase', 'reduceOnly');
    assert.doesNotThrow(() => checkReduceOnlyDirection('sell', d('0.5')));
    assert.equal(reduceOnlyCapacity(d('-0.5'), 'buy').toFixed(), '0.5');
    assert.equal(reduceOnlyCapacity(d('-0.5'), 'sell').toFixed(), '0');
    assert.equal(reduceOnlyCapacity(ZERO, 'buy').toFixed(), '0');
  });

  test('post-only must not cross the best opposite price', () => {
    rejected(() => checkPostOnly('buy', d('100'), d('100')), 'post_only_would_cross', 'price');
    rejected(() => checkPostOnly('sell', d('99'), d('99.5')), 'post_only_would_cross', 'price');
    assert.doesNotThrow(() => checkPostOnly('buy', d('99.9'), d('100')));
    assert.doesNotThrow(() => checkPostOnly('buy', d('1000'), undefined));
  });

  test('the band limit is mark x (1 ± band), rounded inward to the tick', () => {
    assert.equal(protectionBandLimit(d('50000.55'), d('0.05'), d('0.1'), 'buy').toFixed(), '52500.5');
    assert.equal(protectionBandLimit(d('50000.55'), d('0.05'), d('0.1'), 'sell').toFixed(), '47500.6');
  });
});
