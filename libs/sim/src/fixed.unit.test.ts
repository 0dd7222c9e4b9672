import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { Decimal, roundToStep } from '@perpmesh/core';
import {
  type CostScale,
  ceilMultiple,
  InstrumentScale,
  moneyUnits,
  notionalUnits,
  powerOfTenDecimals,
  RecentDecimals,
  roundToGrid,
  scaledLotsDown,
  wholeMultiple,
} from './fixed.js';
import { venuePreset } from './presets.js';
import { SimRng } from './rng.js';

const d = (v: string) => new Decimal(v);
const btc = () => {
  const spec = venuePreset('paper').instruments.find((i) => i.instrumentId === 'BTC-USDC-PERP');
  assert.ok(spec);
  return spec;
};

describe('fixed point (ticks and lots)', () => {
  test('steps of 10^-k are recognised; others are not', () => {
    assert.equal(powerOfTenDecimals(d('1')), 0);
    assert.equal(powerOfTenDecimals(d('0.1')), 1);
    assert.equal(powerOfTenDecimals(d('0.00001')), 5);
    assert.equal(powerOfTenDecimals(d('0.5')), undefined);
    assert.equal(powerOfTenDecimals(d('10')), undefined);
    assert.equal(powerOfTenDecimals(d('0.0025')), undefined);
  });

  test('whole multiples convert exactly; off-grid and unsafe values are NaN', () => {
    const scale = new InstrumentScale(btc()); // tick 0.1, lot 0.001
    assert.equal(scale.ticksOf(d('60000.1')), 600001);
    assert.equal(scale.ticksOf(d('60000')), 600000);
    assert.ok(Number.isNaN(scale.ticksOf(d('60000.05'))));
    assert.equal(scale.lotsOf(d('0.25')), 250);
    assert.ok(Number.isNaN(scale.lotsOf(d('0.0005'))));
    assert.ok(Number.isNaN(scale.ticksOf(d('1e20'))), 'beyond 2^53 ticks');
    assert.equal(scale.size(250).toFixed(), '0.25');
    assert.equal(scale.price(600001).toFixed(), '60000.1');
    assert.equal(scale.notional(notionalUnits(250, 600001)).toFixed(), d('0.25').mul('60000.1').toFixed());
  });

  test('the digit path and the division path agree (random values and steps)', () => {
    const rng = SimRng.fromSeed(7);
    for (const stepText of ['1', '0.1', '0.01', '0.001', '0.00001']) {
      const step = d(stepText);
      const k = powerOfTenDecimals(step);
      assert.notEqual(k, undefined);
      for (let i = 0; i < 500; i++) {
        const digits = rng.int(1, 12);
        const places = rng.int(0, 7);
        const value = d(String(rng.int(0, 10 ** Math.min(digits, 9)))).div(d('10').pow(places));
        const fast = wholeMultiple(value, step, k);
        const slow = wholeMultiple(value, step);
        assert.ok(
          Object.is(fast, slow) || (Number.isNaN(fast) && Number.isNaN(slow)),
          `${value} / ${stepText}`,
        );
      }
    }
    // Signs, exponent forms, trailing zeros, and the edge of the safe integers.
    for (const text of [
      '-0.25',
      '-3',
      '0',
      '-0',
      '1e-3',
      '1.5e-3',
      '2.50',
      '1e20',
      '9007199254.740991',
      '9007199254.740992',
      '90071992547409.91',
    ]) {
      const value = d(text);
      for (const k of [0, 1, 3, 6]) {
        const step = d('1').div(d('10').pow(k));
        const fast = wholeMultiple(value, step, k);
        const slow = wholeMultiple(value, step);
        // === : the two paths may disagree on the sign of a zero (the same number of lots).
        assert.ok(
          fast === slow || (Number.isNaN(fast) && Number.isNaN(slow)),
          `${text} / ${step} (${fast} vs ${slow})`,
        );
      }
    }
    assert.equal(wholeMultiple(d('9007199254.740991'), d('0.000001'), 6), Number.MAX_SAFE_INTEGER);
    assert.ok(Number.isNaN(wholeMultiple(d('9007199254.740992'), d('0.000001'), 6)));
    assert.equal(wholeMultiple(d('2.5'), d('0.5')), 5);
    assert.ok(Number.isNaN(wholeMultiple(d('2.6'), d('0.5'))));
  });

  test('roundToGrid is core roundToStep: the same value in every mode, with and without the power-of-ten path', () => {
    const rng = SimRng.fromSeed(3);
    for (const stepText of ['1', '0.1', '0.001', '0.00001', '0.5', '0.25']) {
      const step = d(stepText);
      const k = powerOfTenDecimals(step);
      for (let i = 0; i < 300; i++) {
        const sign = rng.chance(0.2) ? '-' : '';
        const value = d(`${sign}${rng.int(0, 99_999)}.${rng.int(0, 999_999_999)}`).mul(
          d(rng.float().toFixed(12)),
        );
        for (const mode of ['down', 'up', 'nearest'] as const) {
          const fast = roundToGrid(value, step, k, mode);
          const core = roundToStep(value, step, mode);
          assert.equal(fast.toFixed(), core.toFixed(), `${value} to ${stepText} ${mode}`);
        }
      }
    }
    // Half-even at an exact half.
    assert.equal(roundToGrid(d('0.25'), d('0.1'), 1, 'nearest').toFixed(), '0.2');
    assert.equal(roundToGrid(d('0.35'), d('0.1'), 1, 'nearest').toFixed(), '0.4');
  });

  test('ceilMultiple: the least whole multiple reaching the value; the scale keeps minimums in lots and units', () => {
    assert.equal(ceilMultiple(d('100'), d('0.0001')), 1_000_000n);
    assert.equal(ceilMultiple(d('100.00005'), d('0.0001')), 1_000_001n);
    assert.equal(ceilMultiple(d('1'), d('3')), 1n);
    assert.equal(ceilMultiple(d('10'), d('0.3')), 34n); // 33 x 0.3 = 9.9 < 10 <= 10.2
    assert.equal(ceilMultiple(d('0'), d('0.1')), 0n);
    assert.equal(ceilMultiple(d('-1'), d('0.1')), 0n);
    const scale = new InstrumentScale(btc()); // tick 0.1, lot 0.001, min size 0.001, min notional 100
    assert.equal(scale.minSizeLots, 1);
    assert.equal(scale.minNotionalUnits, 1_000_000n); // 100 / (0.1 x 0.001)
    assert.equal(scale.maxSizeLots, scale.lotsOf(btc().maxOrderSize));
  });

  test('scaledLotsDown is the Decimal product of the float text rounded down to the lot', () => {
    const rng = SimRng.fromSeed(11);
    const lot = d('0.001');
    for (let i = 0; i < 2_000; i++) {
      const lots = rng.int(1, rng.chance(0.5) ? 1_000 : 80_000_000);
      const x = (1 + rng.int(0, 9) * 0.4) * (0.6 + 0.8 * rng.float());
      const decimal = roundToStep(lot.mul(lots).mul(d(x.toFixed(15))), lot, 'down');
      assert.equal(scaledLotsDown(lots, x), decimal.div(lot).toNumber(), `${lots} x ${x}`);
    }
    // Beyond the safe-integer split (lots >= 2^53 / 10^8, or a factor of 10 and more): bigint, the same value.
    for (const [lots, x] of [
      [90_071_993, 0.7],
      [3, 12.345678901234567],
      [123_456_789, 9.999999999999998],
    ] as const) {
      const decimal = roundToStep(lot.mul(lots).mul(d(x.toFixed(15))), lot, 'down');
      assert.equal(scaledLotsDown(lots, x), decimal.div(lot).toNumber(), `${lots} x ${x}`);
    }
    assert.equal(scaledLotsDown(200, 0.6), 120);
    assert.equal(scaledLotsDown(3, 0.999999999999999), 2);
  });
});

describe('RecentDecimals', () => {
  test('keeps one Decimal per number until a number of the same slot replaces it', () => {
    const recent = new RecentDecimals();
    assert.equal(recent.get(7), undefined);
    const seven = recent.set(7, d('0.007'));
    assert.equal(recent.get(7), seven);
    assert.equal(recent.get(7 + 256), undefined, 'another number in the slot is not the kept one');
    recent.set(7 + 256, d('0.263'));
    assert.equal(recent.get(7), undefined);
    assert.equal(recent.get(7 + 256)?.toFixed(), '0.263');
    const short = recent.set(-3, d('-0.003'));
    assert.equal(recent.get(-3), short);
    assert.equal(recent.get(253), undefined);
    assert.equal(recent.get(Number.NaN), undefined);
  });

  test("an instrument's sizes and prices are the same values as built each time", () => {
    const scale = new InstrumentScale(btc());
    const rng = SimRng.fromSeed(11);
    for (let i = 0; i < 2_000; i++) {
      const n = rng.int(-300, 300);
      assert.equal(scale.size(n).toFixed(), scale.lotSize.mul(n).toFixed());
      assert.equal(scale.price(500_000 + n).toFixed(), scale.tickSize.mul(500_000 + n).toFixed());
    }
    assert.equal(scale.size(12), scale.size(12), 'one object for a recurring size');
  });
});

describe('notionalUnits', () => {
  test('exact on both sides of the safe-integer range', () => {
    assert.equal(notionalUnits(250, 600_001), 150_000_250n);
    assert.equal(notionalUnits(-3, 7), -21n);
    // 2^53 + 1 is not a double: the product must not come from floating point.
    assert.equal(notionalUnits(3, 3_002_399_751_580_331), 9_007_199_254_740_993n);
    assert.equal(notionalUnits(Number.MAX_SAFE_INTEGER, 2), 18_014_398_509_481_982n);
    const rng = SimRng.fromSeed(5);
    for (let i = 0; i < 2_000; i++) {
      const lots = rng.int(1, 2 ** 30);
      const ticks = rng.int(1, 2 ** 30);
      assert.equal(notionalUnits(lots, ticks), BigInt(lots) * BigInt(ticks));
    }
  });
});

describe('moneyUnits', () => {
  test('lots x ticks x the notional factor, exact on both sides of the safe-integer range', () => {
    const cost = (notionalFactor: bigint): CostScale => ({
      decimals: 8,
      unit: d('0.00000001'),
      notionalFactor,
      settlementStep: 100n,
      settlementDecimals: 6,
    });
    const rng = SimRng.fromSeed(13);
    for (const factor of [1n, 1000n, 10n ** 12n, 10n ** 17n]) {
      const cases: [number, number][] = [
        [-7, 500_000],
        [3, 3_002_399_751_580_331],
        [Number.MAX_SAFE_INTEGER, 1],
      ];
      for (let i = 0; i < 1_000; i++) cases.push([rng.int(-(2 ** 26), 2 ** 26), rng.int(1, 2 ** 26)]);
      for (const [lots, ticks] of cases) {
        assert.equal(
          moneyUnits(lots, ticks, cost(factor)),
          BigInt(lots) * BigInt(ticks) * factor,
          `${lots} x ${ticks} x ${factor}`,
        );
      }
    }
  });
});
