import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { Decimal } from '@perpmesh/core';
import {
  add,
  cmp,
  DEC60_NEGATIVE_ZERO,
  DEC60_ZERO,
  type Dec60,
  div,
  floatTextUnits,
  fromDecimal,
  fromFloatText,
  fromInteger,
  LastDecimal,
  mul,
  mulToPlaces,
  quotientAbove,
  sub,
  toDecimal,
  toPlaces,
  toPlacesHalfEven,
  unitsAt,
} from './decimal60.js';
import { fundingRate, fundingRateFixed, PremiumIndex } from './funding.js';
import { venuePreset } from './presets.js';
import { SimRng } from './rng.js';

const d = (v: string) => new Decimal(v);

/** The same value as the Decimal, sign of zero included. */
function assertSame(actual: Dec60, expected: Decimal, what: string): void {
  const got = toDecimal(actual);
  assert.ok(got.eq(expected), `${what}: ${got.toFixed()} != ${expected.toFixed()}`);
  assert.equal(got.isNeg(), expected.isNeg(), `${what}: sign of ${expected.toFixed()}`);
}

/** A random decimal of 1-70 digits (beyond the precision too) at a random exponent, either sign. */
function randomDecimal(rng: SimRng): Decimal {
  const digits = rng.int(1, 70);
  let text = String(rng.int(1, 9));
  for (let i = 1; i < digits; i++) text += String(rng.int(0, 9));
  // Half of the draws end in 5 or 50..0 (ties when a rounding drops exactly those digits).
  if (rng.chance(0.3)) text = `${text.slice(0, Math.max(1, text.length - 3))}500`;
  const value = new Decimal(`${rng.chance(0.5) ? '-' : ''}${text}e${rng.int(-40, 20)}`);
  return value;
}

describe('decimal60: decimal.js arithmetic at 60 significant digits, half-even, in bigint', () => {
  test('plus, minus, times and dividedBy give the Decimal result on 20,000 random operand pairs', () => {
    const rng = SimRng.fromSeed(60);
    for (let i = 0; i < 20_000; i++) {
      // Operands as decimal.js holds them (already rounded to 60 digits), sometimes integers.
      const a = rng.chance(0.1) ? new Decimal(rng.int(-1e6, 1e6)) : randomDecimal(rng).plus(0);
      const b = rng.chance(0.1) ? new Decimal(rng.int(1, 1e6)) : randomDecimal(rng).plus(0);
      const fa = fromDecimal(a);
      const fb = fromDecimal(b);
      assertSame(add(fa, fb), a.plus(b), `${a} + ${b}`);
      assertSame(sub(fa, fb), a.minus(b), `${a} - ${b}`);
      assertSame(mul(fa, fb), a.mul(b), `${a} * ${b}`);
      if (!b.isZero()) assertSame(div(fa, fb), a.div(b), `${a} / ${b}`);
      assert.equal(cmp(fa, fb), a.comparedTo(b), `cmp ${a} ${b}`);
      const places = rng.int(0, 30);
      assertSame(
        toPlacesHalfEven(fa, places),
        a.toDecimalPlaces(places, Decimal.ROUND_HALF_EVEN),
        `${a} to ${places}`,
      );
      assertSame(toPlaces(fa, places, 'down'), a.toDecimalPlaces(places, Decimal.ROUND_FLOOR), `floor ${a}`);
      assertSame(toPlaces(fa, places, 'up'), a.toDecimalPlaces(places, Decimal.ROUND_CEIL), `ceil ${a}`);
      const x = (rng.float() - 0.5) * 10 ** rng.int(-17, 6);
      assertSame(fromFloatText(x), new Decimal(x.toFixed(15)), `float text ${x}`);
      const units = floatTextUnits(x);
      if (units !== undefined)
        assert.equal(BigInt(units), BigInt(x.toFixed(15).replace('.', '')), `units ${x}`);
    }
  });

  test('edges: exact ties round to even, a remainder below the 61st digit rounds up, negative zero', () => {
    // 1/3, 2/3 and a tie that only the remainder breaks.
    assertSame(div(fromInteger(1), fromInteger(3)), d('1').div(3), '1/3');
    assertSame(div(fromInteger(-2), fromInteger(3)), d('-2').div(3), '-2/3');
    const tie = d(`1${'0'.repeat(59)}5`); // 61 digits ending in 5: a tie at 60
    assertSame(add(fromDecimal(d(`1${'0'.repeat(59)}4`)), fromInteger(1)), tie.plus(0), 'tie to even');
    assertSame(div(fromDecimal(tie.plus(0)), fromInteger(1)), tie.div(1), 'tie through a division');
    assertSame(toPlacesHalfEven(fromDecimal(d('-0.000000001')), 8), d('-0.000000001').toDP(8), '-0');
    assert.equal(toPlacesHalfEven(fromDecimal(d('-0.000000001')), 8), DEC60_NEGATIVE_ZERO);
    assertSame(toPlacesHalfEven(fromDecimal(d('0.000000015')), 8), d('0.000000015').toDP(8), '.5 up');
    assertSame(toPlacesHalfEven(fromDecimal(d('0.000000025')), 8), d('0.000000025').toDP(8), '.5 down');
    assertSame(fromDecimal(d('123000')), d('123000'), 'integer with zeros');
    assert.throws(() => div(fromInteger(1), fromInteger(0)), RangeError);
    assert.equal(unitsAt(fromDecimal(d('60000.12')), 2), 6000012n);
    assert.equal(unitsAt(fromDecimal(d('60000')), 2), 6000000n);
    assert.throws(() => unitsAt(fromDecimal(d('0.001')), 2), RangeError);
    assert.equal(toPlaces(fromDecimal(d('-0.001')), 2, 'up'), DEC60_NEGATIVE_ZERO);
  });
});

describe('quotientAbove: the rounded quotient against a limit, the division only when needed', () => {
  test('the answer of cmp(div(a, b), limit) > 0 on random operands, at the limit and just around it', () => {
    const rng = SimRng.fromSeed(11);
    const positive = () => fromDecimal(randomDecimal(rng).abs());
    let above = 0;
    for (let i = 0; i < 5000; i++) {
      const b = positive();
      const limit = fromDecimal(new Decimal(String(rng.int(1, 99999))).div(10 ** rng.int(0, 8)));
      // a near limit x b (exactly at it, one unit of the 70th digit either side) or anywhere.
      const exact = { m: limit.m * b.m, e: limit.e + b.e };
      const tiny = { m: 1n, e: exact.e - 70 + String(exact.m).length };
      const pick = rng.int(0, 3);
      const a =
        pick === 0 ? exact : pick === 1 ? add(exact, tiny) : pick === 2 ? sub(exact, tiny) : positive();
      const expected = cmp(div(a, b), limit) > 0;
      if (expected) above += 1;
      assert.equal(
        quotientAbove(a, b, limit),
        expected,
        `${a.m}e${a.e} / ${b.m}e${b.e} vs ${limit.m}e${limit.e}`,
      );
    }
    // Both answers came up (the test can fail either way).
    assert.ok(above > 500 && above < 4500, `${above} above`);
    assert.throws(() => quotientAbove(fromInteger(1), fromInteger(0), fromInteger(1)), RangeError);
  });
});

describe('mulToPlaces', () => {
  test('exactly toPlaces(mul(a, b)) (digits and exponent) on random operands and next to every boundary', () => {
    const rng = SimRng.fromSeed(5);
    const digits = (n: number) => {
      let text = String(rng.int(1, 9));
      for (let i = 1; i < n; i++) text += String(rng.int(0, 9));
      return BigInt(text);
    };
    let fast = 0;
    for (let i = 0; i < 20000; i++) {
      const places = rng.int(0, 6);
      const mode = rng.chance(0.5) ? 'down' : 'up';
      let a: Dec60;
      let b: Dec60;
      if (rng.chance(0.5)) {
        // A 40-64 digit center times a short factor (the market maker's quotes).
        a = { m: digits(rng.int(40, 64)), e: -rng.int(40, 60) };
        b = { m: digits(rng.int(1, 8)), e: -rng.int(0, 8) };
      } else {
        // A product of 61-70 digits within a few units of its 60th digit of a multiple of 10^-places.
        const total = rng.int(61, 70);
        const e = -places - rng.int(total - 59, total - 1);
        const p = 10n ** BigInt(-places - e);
        const unit = 10n ** BigInt(total - 60);
        const near =
          (digits(total) / p) * p + BigInt(rng.int(-3, 3)) * unit + BigInt(rng.int(-2, 2)) * (unit / 2n);
        a = { m: near, e };
        b = { m: 1n, e: 0 };
      }
      if (rng.chance(0.05)) a = { m: -a.m, e: a.e };
      const expected = toPlaces(mul(a, b), places, mode);
      const got = mulToPlaces(a, b, places, mode);
      assert.deepEqual(got, expected, `${a.m}e${a.e} x ${b.m}e${b.e} to ${places} ${mode}`);
      const m = a.m * b.m;
      if (m > 0n && m >= 10n ** 60n) fast += 1;
    }
    assert.ok(fast > 5000, `${fast} products beyond 60 digits`);
  });
});

describe('LastDecimal', () => {
  test('the same object while the value repeats (in any form), a new one when it changes, negative zero apart', () => {
    const last = new LastDecimal();
    const first = last.of({ m: 12345n, e: -2 });
    assert.equal(first.toFixed(), '123.45');
    assert.equal(last.of({ m: 12345n, e: -2 }), first);
    // Another value, then the first again: built anew, the same value.
    const other = last.of({ m: 123450n, e: -3 });
    assert.notEqual(other, first);
    assert.equal(other.toFixed(), '123.45');
    assert.equal(last.of({ m: 12346n, e: -2 }).toFixed(), '123.46');
    const zero = last.of(DEC60_ZERO);
    assert.equal(zero.isNeg(), false);
    const negativeZero = last.of(DEC60_NEGATIVE_ZERO);
    assert.equal(negativeZero.isNeg(), true);
    assert.equal(last.of(DEC60_NEGATIVE_ZERO), negativeZero);
    assert.equal(last.of(DEC60_ZERO).isNeg(), false);
  });
});

/** The Decimal formulas decimal60 replaced (exchange.ts of session 6), as the reference. */
class DecimalPremium {
  integral = new Decimal(0);
  ms = 0;
  sinceMs = 0;
  mark: Decimal | undefined;
  index: Decimal | undefined;
  premium(): Decimal | undefined {
    if (this.mark === undefined || this.index === undefined) return undefined;
    return this.mark.minus(this.index).div(this.index);
  }
  accrue(untilMs: number): void {
    const dt = untilMs - this.sinceMs;
    const premium = dt > 0 ? this.premium() : undefined;
    if (premium !== undefined) {
      this.integral = this.integral.plus(premium.mul(dt));
      this.ms += dt;
    }
    this.sinceMs = untilMs;
  }
  value(): Decimal | undefined {
    return this.ms > 0 ? this.integral.div(this.ms) : this.premium();
  }
}

/** The rate formula as it was in Decimals (funding.ts of session 6). */
function decimalRate(premium: Decimal, params: ReturnType<typeof venuePreset>['funding']): Decimal {
  const clamp = (value: Decimal, bound: Decimal) => {
    if (value.gt(bound)) return bound;
    const low = bound.neg();
    return value.lt(low) ? low : value;
  };
  const inner = clamp(params.interestRate.minus(premium), params.premiumClamp);
  const raw = premium
    .plus(inner)
    .div(params.divisor)
    .toDecimalPlaces(params.rateDecimals, Decimal.ROUND_HALF_EVEN);
  return clamp(raw, params.capPerInterval);
}

describe('the premium index and the funding rate in decimal60', () => {
  test('the same premium index and rates as the Decimal formulas over random price paths of three venues', () => {
    const rng = SimRng.fromSeed(16);
    for (const venueId of ['paper', 'paper-lighter', 'paper-extended'] as const) {
      const params = venuePreset(venueId).funding;
      for (let path = 0; path < 40; path++) {
        const fixed = new PremiumIndex(0);
        const reference = new DecimalPremium();
        let nowMs = 0;
        let index = 60_000 + rng.int(-5000, 5000);
        for (let step = 0; step < 200; step++) {
          // Marks on a tick (0.1 or 0.01), indices at 8 decimals, sometimes equal (zero premium),
          // premia small enough that the rate rounds to zero from either side (negative zero).
          index *= 1 + (rng.float() - 0.5) * 0.002;
          const indexPrice = new Decimal(index.toFixed(8));
          const basis = rng.chance(0.1) ? 0 : (rng.float() - 0.5) * (rng.chance(0.3) ? 1e-7 : 0.004);
          const markPrice = new Decimal((index * (1 + basis)).toFixed(rng.chance(0.5) ? 1 : 2));
          const mark = rng.chance(0.05) ? indexPrice : markPrice;
          fixed.accrue(nowMs);
          reference.accrue(nowMs);
          fixed.setPrices(mark, indexPrice);
          reference.mark = mark;
          reference.index = indexPrice;
          const expected = reference.value();
          const got = fixed.value();
          assert.ok(expected !== undefined && got !== undefined);
          assertSame(got, expected, `premium index, ${venueId} path ${path} step ${step}`);
          assertSame(
            fundingRateFixed(got, params),
            decimalRate(expected, params),
            `rate, ${venueId} path ${path} step ${step}`,
          );
          nowMs += rng.chance(0.1) ? 0 : rng.int(1, 60_000);
          if (rng.chance(0.01)) {
            fixed.reset();
            reference.integral = new Decimal(0);
            reference.ms = 0;
          }
        }
      }
    }
  });

  test("fundingRate of the exported Decimal API: the presets' formulas, zero from below is negative zero", () => {
    const extended = venuePreset('paper-extended').funding;
    const rate = fundingRate(d('-0.00000001'), extended);
    assert.ok(rate.isZero() && rate.isNeg());
    assert.equal(fundingRate(d('0.0008'), extended).toFixed(), '0.0001');
  });
});
