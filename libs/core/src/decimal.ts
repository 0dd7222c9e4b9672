/**
 * Money and quantities are decimals, never JS floats.
 *
 * We use decimal.js (arbitrary precision, well kept, immutable values) through one
 * configured clone, so every price, size, balance and PnL in perpmesh shares the same
 * precision and rounding. On the wire decimals travel as plain strings ("123.45").
 *
 * Precision 60 significant digits is far beyond any venue's tick or lot (18 decimals
 * on-chain at most), so intermediate products (price x size x rate) stay exact.
 * Rounding to a venue's tick or lot is always explicit (`roundToStep`).
 */
import { Decimal as DecimalJs } from 'decimal.js';
import { ValidationError } from './errors.js';

export const Decimal = DecimalJs.clone({
  precision: 60,
  rounding: DecimalJs.ROUND_HALF_EVEN,
  toExpNeg: -40,
  toExpPos: 40,
});
export type Decimal = InstanceType<typeof Decimal>;

export type DecimalInput = Decimal | string | number | bigint;

export const ZERO: Decimal = new Decimal(0);
export const ONE: Decimal = new Decimal(1);

const DECIMAL_TEXT = /^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$/;

/** Parses decimal text from the wire or config; the error names the field and the bad value. */
export function parseDecimal(value: unknown, field: string): Decimal {
  if (value instanceof Decimal) return value;
  if (typeof value === 'string' && DECIMAL_TEXT.test(value.trim())) return new Decimal(value.trim());
  if (typeof value === 'bigint') return new Decimal(value.toString());
  if (typeof value === 'number' && Number.isFinite(value)) return new Decimal(value);
  throw new ValidationError(field, `not a decimal number: ${JSON.stringify(String(value))}`);
}

/** A decimal that must be > 0 (sizes, prices). */
export function parsePositiveDecimal(value: unknown, field: string): Decimal {
  const d = parseDecimal(value, field);
  if (!d.gt(0)) throw new ValidationError(field, `must be greater than 0, got ${d.toFixed()}`);
  return d;
}

export function dec(value: DecimalInput): Decimal {
  return value instanceof Decimal ? value : new Decimal(typeof value === 'bigint' ? value.toString() : value);
}

/** Wire form: plain notation, no exponent, trailing zeros trimmed ("0.1", "-42"). */
export function toWire(value: Decimal): string {
  return value.toFixed();
}

/** Rounds to a multiple of `step` (a tick or a lot), with the given direction. */
export function roundToStep(
  value: Decimal,
  step: Decimal,
  mode: 'down' | 'up' | 'nearest' = 'nearest',
): Decimal {
  const rounding =
    mode === 'down' ? Decimal.ROUND_FLOOR : mode === 'up' ? Decimal.ROUND_CEIL : Decimal.ROUND_HALF_EVEN;
  return value.div(step).toDecimalPlaces(0, rounding).mul(step);
}

/** True when `value` is a whole multiple of `step`. */
export function isMultipleOf(value: Decimal, step: Decimal): boolean {
  return value.mod(step).isZero();
}

export function minDec(a: Decimal, b: Decimal): Decimal {
  return a.lte(b) ? a : b;
}

export function maxDec(a: Decimal, b: Decimal): Decimal {
  return a.gte(b) ? a : b;
}

/**
 * Decimal places of derived figures in reports (average entry prices, PnL): a division
 * such as an average entry carries 60 significant digits internally; reports round it
 * half-even to this many places. Accounting keeps the full value.
 */
export const REPORT_DECIMAL_PLACES = 12;

export function roundForReport(value: Decimal): Decimal {
  return value.toDecimalPlaces(REPORT_DECIMAL_PLACES, Decimal.ROUND_HALF_EVEN);
}
