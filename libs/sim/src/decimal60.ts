/**
 * Decimal arithmetic of the core's precision in bigint: a value is `m x 10^e` (m a signed
 * bigint, e an integer) and every operation rounds its exact result to 60 significant
 * digits, half-even: exactly what decimal.js does under @perpmesh/core's configuration
 * (precision 60, ROUND_HALF_EVEN; its plus, minus, times and dividedBy are correctly
 * rounded). So a chain of these gives the same value as the same chain of Decimals, at a
 * fraction of the cost (no digit arrays, no Decimal objects). For the funding formulas,
 * which run every step and instrument (funding.ts).
 */
import { Decimal } from '@perpmesh/core';

/** m x 10^e. Not normalized: trailing zeros in m are allowed (the value is what counts). */
export interface Dec60 {
  readonly m: bigint;
  readonly e: number;
}

/** Significant digits kept: the core's Decimal precision. */
export const PRECISION = 60;

export const DEC60_ZERO: Dec60 = { m: 0n, e: 0 };
/**
 * Decimal's negative zero, which `toPlacesHalfEven` of a small negative value gives (as
 * decimal.js does: `isNeg()` true, JSON "-0"); it compares equal to zero.
 */
export const DEC60_NEGATIVE_ZERO: Dec60 = Object.freeze({ m: 0n, e: 0 });

/** 10^0 .. 10^124: every power the operations on 60-digit values need. */
const POW10: readonly bigint[] = Array.from({ length: 2 * PRECISION + 5 }, (_, i) => 10n ** BigInt(i));
function pow10(n: number): bigint {
  // Beyond the table (operands whose exponents are far apart): computed, not kept.
  return POW10[n] ?? 10n ** BigInt(n);
}

/** 10^60: the first value with more digits than the precision keeps. */
const LIMIT = POW10[PRECISION] as bigint;

/** Decimal digits of a non-negative bigint (0 has 1). */
function digitsOf(n: bigint): number {
  // Within the table (every value this module makes): a binary search, no string.
  if (n < (POW10[POW10.length - 1] as bigint)) {
    let lo = 1;
    let hi = POW10.length - 1;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (n < (POW10[mid] as bigint)) hi = mid;
      else lo = mid + 1;
    }
    return lo;
  }
  return n.toString().length;
}

/**
 * `m x 10^e` rounded to 60 significant digits, half-even; `sticky` says the exact value is
 * a little more (in magnitude) than |m| x 10^e (a remainder was dropped below it).
 */
function round(m: bigint, e: number, sticky = false): Dec60 {
  const negative = m < 0n;
  const abs = negative ? -m : m;
  // Most results (quote prices, marks, sums) have fewer than 61 digits: one comparison, no search.
  if (abs < LIMIT) return { m, e };
  const drop = digitsOf(abs) - PRECISION;
  if (drop <= 0) return { m, e };
  const p = pow10(drop);
  let q = abs / p;
  const twice = (abs - q * p) * 2n;
  if (twice > p || (twice === p && (sticky || (q & 1n) === 1n))) q += 1n;
  return { m: negative ? -q : q, e: e + drop };
}

export function add(a: Dec60, b: Dec60): Dec60 {
  if (a.m === 0n) return round(b.m, b.e);
  if (b.m === 0n) return round(a.m, a.e);
  if (a.e === b.e) return round(a.m + b.m, a.e);
  return a.e < b.e ? round(a.m + b.m * pow10(b.e - a.e), a.e) : round(a.m * pow10(a.e - b.e) + b.m, b.e);
}

export function sub(a: Dec60, b: Dec60): Dec60 {
  return add(a, { m: -b.m, e: b.e });
}

export function mul(a: Dec60, b: Dec60): Dec60 {
  return round(a.m * b.m, a.e + b.e);
}

/** a / b rounded to 60 significant digits, half-even. b must not be zero. */
export function div(a: Dec60, b: Dec60): Dec60 {
  if (b.m === 0n) throw new RangeError('Dec60 division by zero');
  if (a.m === 0n) return DEC60_ZERO;
  const negative = a.m < 0n !== b.m < 0n;
  const n = a.m < 0n ? -a.m : a.m;
  const d = b.m < 0n ? -b.m : b.m;
  // Scale the numerator so that the integer quotient has at least 61 digits; the digits
  // below the 60th and the remainder (sticky) decide the rounding.
  const shift = PRECISION + 1 + digitsOf(d) - digitsOf(n);
  const scaled = shift > 0 ? n * pow10(shift) : n;
  const q = scaled / d;
  const rounded = round(q, a.e - b.e - Math.max(shift, 0), scaled !== q * d);
  return negative ? { m: -rounded.m, e: rounded.e } : rounded;
}

export function cmp(a: Dec60, b: Dec60): number {
  if (a.e === b.e) return a.m < b.m ? -1 : a.m > b.m ? 1 : 0;
  const signA = a.m < 0n ? -1 : a.m > 0n ? 1 : 0;
  const signB = b.m < 0n ? -1 : b.m > 0n ? 1 : 0;
  if (signA !== signB || signA === 0) return signA < signB ? -1 : signA > signB ? 1 : 0;
  // Same sign, different exponents: compare at the smaller exponent (exact).
  const x = a.e < b.e ? a.m : a.m * pow10(a.e - b.e);
  const y = a.e < b.e ? b.m * pow10(b.e - a.e) : b.m;
  return x < y ? -1 : x > y ? 1 : 0;
}

/**
 * `cmp(div(a, b), limit) > 0` for b > 0 and a `limit` of at most 60 digits, mostly without the
 * division: when a <= limit x b exactly, the exact quotient is <= limit and so is its rounding
 * (rounding to 60 digits is monotone and keeps `limit`); only otherwise is the rounded quotient
 * compared. The same answer either way; for the market maker's every-step requote check.
 */
export function quotientAbove(a: Dec60, b: Dec60, limit: Dec60): boolean {
  if (b.m <= 0n) throw new RangeError('quotientAbove needs a positive divisor');
  if (cmp(a, { m: limit.m * b.m, e: limit.e + b.e }) <= 0) return false;
  return cmp(div(a, b), limit) > 0;
}

export function neg(a: Dec60): Dec60 {
  return { m: -a.m, e: a.e };
}

/** Decimal's `toDecimalPlaces(places, ROUND_HALF_EVEN)`. */
export function toPlacesHalfEven(a: Dec60, places: number): Dec60 {
  return toPlaces(a, places, 'nearest');
}

/**
 * Decimal's `toDecimalPlaces(places, mode)`: 'down' = ROUND_FLOOR, 'up' = ROUND_CEIL,
 * 'nearest' = ROUND_HALF_EVEN (fixed.ts `RoundMode`). A negative value that rounds to zero
 * is negative zero, as in decimal.js.
 */
export function toPlaces(a: Dec60, places: number, mode: 'down' | 'up' | 'nearest'): Dec60 {
  if (a.e >= -places) return a;
  const p = pow10(-places - a.e);
  const negative = a.m < 0n;
  const abs = negative ? -a.m : a.m;
  let q = abs / p;
  const r = abs - q * p;
  if (r !== 0n) {
    // Away from zero: ceil of a positive, floor of a negative, or past half (ties to even).
    const away =
      mode === 'nearest' ? r * 2n > p || (r * 2n === p && q % 2n === 1n) : (mode === 'up') !== negative;
    if (away) q += 1n;
  }
  if (q === 0n && negative) return DEC60_NEGATIVE_ZERO;
  return { m: negative ? -q : q, e: -places };
}

/**
 * `toPlaces(mul(a, b), places, mode)` for 'down' (floor) and 'up' (ceil): the same result,
 * with one division where the product's 60-digit rounding cannot move it across a multiple
 * of 10^-places (its remainder there is more than one unit of the 60th digit away from one);
 * otherwise, and for zero or negative products, the two operations as written. For the market
 * maker's ~20 quote prices per requote (center x level factor, to the tick).
 */
export function mulToPlaces(a: Dec60, b: Dec60, places: number, mode: 'down' | 'up'): Dec60 {
  const m = a.m * b.m;
  // Digits of the product below 10^-places.
  const below = -places - (a.e + b.e);
  if (m <= 0n || below <= 0 || m < LIMIT) return toPlaces(mul(a, b), places, mode);
  const drop = digitsOf(m) - PRECISION;
  if (drop >= below) return toPlaces(mul(a, b), places, mode);
  // The 60-digit rounding moves m by at most half of 10^drop; `unit` is a whole one, to spare.
  const unit = pow10(drop);
  const p = pow10(below);
  const q = m / p;
  const r = m - q * p;
  if (mode === 'down') {
    if (p - r > unit) return { m: q, e: -places };
  } else if (r === 0n) {
    return { m: q, e: -places };
  } else if (r > unit) {
    return { m: q + 1n, e: -places };
  }
  return toPlaces(mul(a, b), places, mode);
}

/** The value as a whole number of 10^-places (it must have at most that many decimals). */
export function unitsAt(a: Dec60, places: number): bigint {
  const shift = a.e + places;
  if (shift >= 0) return shift === 0 ? a.m : a.m * pow10(shift);
  // Trailing zeros of the mantissa below 10^-places are no decimals.
  const p = pow10(-shift);
  if (a.m % p !== 0n) throw new RangeError(`Dec60 ${a.m}e${a.e} has more than ${places} decimals`);
  return a.m / p;
}

/**
 * A model float through its fixed 15-decimal text (`x.toFixed(15)`, exactly specified):
 * the value the world's `new Decimal(x.toFixed(15))` has. |x| < 1e21 (fixed notation).
 */
export function fromFloatText(x: number): Dec60 {
  const units = floatTextUnits(x);
  // "-0.000000000000000" (a small negative) is Decimal's negative zero.
  if (units === 0 && x < 0) return DEC60_NEGATIVE_ZERO;
  if (units !== undefined) return { m: BigInt(units), e: -15 };
  if (!(Math.abs(x) < 1e21)) throw new RangeError(`${x} has no fixed 15-decimal text`);
  return { m: BigInt(x.toFixed(15).replace('.', '')), e: -15 };
}

/**
 * The digits of `x.toFixed(15)` as an integer (x x 10^15 rounded half away from zero, as
 * ECMAScript specifies toFixed), without the text: the product's rounding error is
 * recovered exactly (Dekker's two-product), so the rounding sees the exact value.
 * Undefined when the answer is not a safe integer (|x| >= ~9): then use the text.
 */
export function floatTextUnits(x: number): number | undefined {
  const a = Math.abs(x);
  const p = a * 1e15;
  if (!(p < MAX_SAFE_UNITS)) return undefined;
  // err = a x 10^15 - p exactly (Veltkamp split of a; 10^15 = hi + lo split once).
  const c = SPLITTER * a;
  const aHi = c - (c - a);
  const aLo = a - aHi;
  const err = aHi * E15_HI - p + aHi * E15_LO + aLo * E15_HI + aLo * E15_LO;
  const floor = Math.floor(p);
  // Exact: p - floor < 1 on p's own grid; the half (the larger n on a tie) decides.
  const n = p - floor - 0.5 >= -err ? floor + 1 : floor;
  return x < 0 ? -n : n;
}

const SPLITTER = 134217729; // 2^27 + 1
const E15_HI = (() => {
  const c = SPLITTER * 1e15;
  return c - (c - 1e15);
})();
const E15_LO = 1e15 - E15_HI;
/** Below this the product and its floor + 1 are safe integers. */
const MAX_SAFE_UNITS = Number.MAX_SAFE_INTEGER - 1;

/** A whole number (a safe integer, e.g. milliseconds). */
export function fromInteger(n: number): Dec60 {
  return { m: BigInt(n), e: 0 };
}

/**
 * The exact value of a Decimal (no rounding: a Decimal has at most 60 digits), read from its
 * documented digits: `d` holds base-10^7 words aligned so that the value is
 * Σ d[i] x 10^(7 x (floor(e / 7) - i)), `s` the sign (decimal.js's layout; no text).
 */
export function fromDecimal(x: Decimal): Dec60 {
  const words = x.d;
  if (x.isZero()) return x.isNeg() ? DEC60_NEGATIVE_ZERO : DEC60_ZERO;
  let small = 0;
  let big: bigint | undefined;
  for (const word of words) {
    if (big === undefined && small < SMALL_LIMIT) small = small * WORD + word;
    else big = (big ?? BigInt(small)) * WORD_BIG + BigInt(word);
  }
  const m = big ?? BigInt(small);
  return { m: x.s < 0 ? -m : m, e: 7 * (Math.floor(x.e / 7) - (words.length - 1)) };
}

const WORD = 1e7;
const WORD_BIG = 10n ** 7n;
/** Below this, one more word (x 10^7 + < 10^7) stays a safe integer. */
const SMALL_LIMIT = Math.floor((Number.MAX_SAFE_INTEGER - WORD) / WORD);

export function toDecimal(a: Dec60): Decimal {
  if (a.m === 0n) return new Decimal(a === DEC60_NEGATIVE_ZERO ? '-0' : 0);
  return new Decimal(`${a.m}e${a.e}`);
}

/**
 * `toDecimal` that hands back the same Decimal object while the value repeats (Decimals are
 * immutable): the predicted funding rate, rounded to its decimals, repeats at ~3 of 4 price
 * updates (the world's marks at ~4 %), and building a Decimal from text is most of a conversion.
 * Negative zero is its own value.
 */
export class LastDecimal {
  #fixed: Dec60 | undefined;
  #decimal: Decimal | undefined;

  of(a: Dec60): Decimal {
    const last = this.#fixed;
    if (
      last !== undefined &&
      last.m === a.m &&
      last.e === a.e &&
      (a.m !== 0n || (last === DEC60_NEGATIVE_ZERO) === (a === DEC60_NEGATIVE_ZERO))
    )
      return this.#decimal as Decimal;
    this.#fixed = a;
    this.#decimal = toDecimal(a);
    return this.#decimal;
  }
}
