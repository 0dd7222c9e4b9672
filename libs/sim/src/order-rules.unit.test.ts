/** The venue's pure order checks: each rule's reject code and field, the reduce-only exemption, bands. */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { ZERO } from '@perpmesh/core';
import type { RejectCode } from './events.js';
import { InstrumentScale } from './fixed.js';
import {
  checkFixedQuantities,
  checkMarketRules,
  checkMaxSize,
  checkOrderRequest,
  checkPostOnly,
  checkReduceOnlyDirection,
  meetsMinimums,
  minimumsOnly,
  protectionBandLimit,
  reduceOnlyCapacity,
} from './order-rules.js';
import { venuePreset } from './presets.js';
import { VenueRejectError } from './rejects.js';
import { SimRng } from './rng.js';
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

describe('orders in ticks and lots', () => {
  test('meetsMinimums answers as the Decimal minimums check on the grid (limit, market, reduce-only, no mark)', () => {
    const rng = SimRng.fromSeed(5);
    for (const [presetId, instrumentId] of [
      ['paper', BTC],
      ['paper-extended', BTC],
      ['paper-lighter', 'ETH-USDC-PERP'],
    ] as const) {
      const rules = venuePreset(presetId).instruments.find((i) => i.instrumentId === instrumentId)!;
      const scale = new InstrumentScale(rules);
      let passed = 0;
      for (let i = 0; i < 3_000; i++) {
        const type = rng.chance(0.5) ? 'limit' : 'market';
        const sizeLots = rng.int(1, 3) === 1 ? rng.int(1, 20) : rng.int(1, 200_000);
        const priceTicks = rng.int(1, 1_000_000);
        const markTicks = rng.chance(0.1) ? Number.NaN : rng.int(1, 1_000_000);
        const hasMark = rng.chance(0.9);
        const reduceOnly = rng.chance(0.1);
        const mark = hasMark ? scale.price(Number.isNaN(markTicks) ? 7 : markTicks) : undefined;
        const order = {
          type,
          sizeLots,
          priceTicks: type === 'limit' ? priceTicks : Number.NaN,
          reduceOnly,
        } as const;
        const decimalOrder = {
          size: scale.size(sizeLots),
          price: type === 'limit' ? scale.price(priceTicks) : undefined,
          reduceOnly,
        };
        let decimalPasses = true;
        try {
          checkMarketRules(decimalOrder, minimumsOnly(rules), mark);
        } catch {
          decimalPasses = false;
        }
        // A mark off the grid (NaN ticks): the integer check cannot answer, so it says no.
        const fast = meetsMinimums(scale, order, hasMark ? markTicks : Number.NaN, hasMark);
        if (fast) passed++;
        assert.ok(!fast || decimalPasses, `integer yes, Decimal no: ${JSON.stringify(order)} mark ${mark}`);
        const integerCanAnswer = reduceOnly || type === 'limit' || !hasMark || !Number.isNaN(markTicks);
        if (integerCanAnswer) assert.equal(fast, decimalPasses, `${JSON.stringify(order)} mark ${mark}`);
      }
      assert.ok(passed > 100 && passed < 3_000, `both answers seen (${passed} passed)`);
    }
  });

  test('meetsMinimums at the edges: exactly the minimum passes, one unit less does not', () => {
    const btc = new InstrumentScale(spec); // min notional 100 = 1,000,000 units of 0.1 x 0.001
    const limit = (sizeLots: number, priceTicks: number) =>
      ({ type: 'limit', sizeLots, priceTicks, reduceOnly: false }) as const;
    assert.equal(meetsMinimums(btc, limit(1, 1_000_000), Number.NaN, false), true);
    assert.equal(meetsMinimums(btc, limit(1, 999_999), Number.NaN, false), false);
    assert.equal(meetsMinimums(btc, limit(2, 500_000), Number.NaN, false), true);
    const market = { type: 'market', sizeLots: 2, priceTicks: Number.NaN, reduceOnly: false } as const;
    assert.equal(meetsMinimums(btc, market, 500_000, true), true);
    assert.equal(meetsMinimums(btc, market, 499_999, true), false);
    assert.equal(meetsMinimums(btc, market, Number.NaN, false), true, 'no mark: the notional is not checked');
    assert.equal(meetsMinimums(btc, { ...market, sizeLots: 1, reduceOnly: true }, 1, true), true);
    const extended = venuePreset('paper-extended').instruments.find((i) => i.instrumentId === BTC)!;
    const ext = new InstrumentScale(extended); // lot 0.00001, min size 0.0001 = 10 lots
    assert.equal(ext.minSizeLots, 10);
    assert.equal(meetsMinimums(ext, limit(10, 100_000), Number.NaN, false), true);
    assert.equal(meetsMinimums(ext, limit(9, 10_000_000), Number.NaN, false), false);
  });

  test('checkFixedQuantities: positive safe integers, a price on limit orders only, named fields', () => {
    assert.deepEqual(checkFixedQuantities({ type: 'limit', priceTicks: 5, sizeLots: 2 }), {
      priceTicks: 5,
      sizeLots: 2,
    });
    assert.deepEqual(checkFixedQuantities({ type: 'market', sizeLots: 2 }), {
      priceTicks: undefined,
      sizeLots: 2,
    });
    rejected(() => checkFixedQuantities({ type: 'limit', sizeLots: 2 }), 'invalid_argument', 'priceTicks');
    rejected(
      () => checkFixedQuantities({ type: 'market', priceTicks: 5, sizeLots: 2 }),
      'invalid_argument',
      'priceTicks',
    );
    rejected(
      () => checkFixedQuantities({ type: 'limit', priceTicks: 0, sizeLots: 2 }),
      'invalid_argument',
      'priceTicks',
    );
    rejected(
      () => checkFixedQuantities({ type: 'limit', priceTicks: 1.5, sizeLots: 2 }),
      'invalid_argument',
      'priceTicks',
    );
    rejected(() => checkFixedQuantities({ type: 'market', sizeLots: -1 }), 'invalid_argument', 'sizeLots');
    const message = rejected(
      () => checkFixedQuantities({ type: 'market', sizeLots: 2 ** 53 }),
      'invalid_argument',
      'sizeLots',
    );
    assert.match(message, /positive safe integer, got 9007199254740992/);
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
