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

/**
 * The ONE decimal grammar for text that enters perpmesh (the wire, config, the CLI, venue
 * replies, stored state): an optional minus, digits, optionally a point followed by
 * digits, optionally an exponent of at most 4 digits. Nothing else: no whitespace, no "+",
 * no ".01", no "1.".
 *
 * Limits, checked before (the text) and right after (the value) it is built, so hostile
 * text costs nothing and every accepted value prints (`toWire`) in at most ~165 characters:
 * - at most `maxTextLength` characters;
 * - at most `maxSignificantDigits` significant digits: the configured precision, so every
 *   accepted value is held exactly and every value perpmesh computes (an average entry
 *   price) parses back;
 * - magnitude below 10^`maxIntegerDigits` (far beyond any price, size or balance), and a
 *   non-zero value not below 10^`minExponent`.
 */
export const DECIMAL_LIMITS = {
  maxTextLength: 200,
  maxSignificantDigits: 60,
  maxIntegerDigits: 30,
  minExponent: -100,
} as const;

const DECIMAL_TEXT = /^-?\d+(?:\.\d+)?(?:[eE][+-]?\d{1,4})?$/;
/** Characters of a rejected value echoed back in an error message. */
const MAX_ECHO_CHARS = 40;

/** The value as an error message may quote it: JSON-quoted, cut to a few dozen characters. */
function echo(value: unknown): string {
  const text = typeof value === 'string' ? value : String(value);
  if (text.length <= MAX_ECHO_CHARS) return JSON.stringify(text);
  return `${JSON.stringify(text.slice(0, MAX_ECHO_CHARS))}... (${text.length} characters)`;
}

/** The value within `DECIMAL_LIMITS`, else a ValidationError naming `field`. */
function withinLimits(value: Decimal, field: string, raw: unknown): Decimal {
  if (!value.isFinite()) throw new ValidationError(field, `must be a finite decimal, got ${echo(raw)}`);
  if (value.isZero()) return value;
  const { maxIntegerDigits, minExponent, maxSignificantDigits } = DECIMAL_LIMITS;
  if (value.e >= maxIntegerDigits) {
    throw new ValidationError(field, `must be below 1e${maxIntegerDigits} in magnitude, got ${echo(raw)}`);
  }
  if (value.e < minExponent) {
    throw new ValidationError(field, `must be 0 or at least 1e${minExponent} in magnitude, got ${echo(raw)}`);
  }
  if (value.precision() > maxSignificantDigits) {
    throw new ValidationError(
      field,
      `must have at most ${maxSignificantDigits} significant digits, got ${echo(raw)}`,
    );
  }
  return value;
}

/**
 * Parses a decimal from the wire, config or the CLI with the one strict grammar and its
 * limits (`DECIMAL_LIMITS`); the error names the field and quotes (a bounded prefix of)
 * the bad value. A JS number (a YAML scalar) must be finite and within the same limits.
 */
export function parseDecimal(value: unknown, field: string): Decimal {
  if (value instanceof Decimal) return value;
  if (typeof value === 'string') {
    if (value.length > DECIMAL_LIMITS.maxTextLength) {
      throw new ValidationError(
        field,
        `must be a decimal of at most ${DECIMAL_LIMITS.maxTextLength} characters, got ${echo(value)}`,
      );
    }
    if (!DECIMAL_TEXT.test(value)) {
      throw new ValidationError(
        field,
        `not a decimal number (digits, an optional "-" and ".", e.g. "0.01"), got ${echo(value)}`,
      );
    }
    // The exponent has at most 4 digits, so building the value is cheap; the limits follow.
    return withinLimits(new Decimal(value), field, value);
  }
  if (typeof value === 'bigint') {
    const text = value.toString();
    if (text.length > DECIMAL_LIMITS.maxTextLength)
      throw new ValidationError(field, `must be below 1e${DECIMAL_LIMITS.maxIntegerDigits} in magnitude`);
    return withinLimits(new Decimal(text), field, value);
  }
  if (typeof value === 'number' && Number.isFinite(value))
    return withinLimits(new Decimal(value), field, value);
  throw new ValidationError(field, `not a decimal number, got ${echo(value)}`);
}

/** A decimal that must be > 0 (sizes, prices). */
export function parsePositiveDecimal(value: unknown, field: string): Decimal {
  const d = parseDecimal(value, field);
  if (!d.gt(0)) throw new ValidationError(field, `must be greater than 0, got ${toWire(d)}`);
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
