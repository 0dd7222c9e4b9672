/**
 * Zod pieces shared by the strategy state codecs and config schemas.
 *
 * State lives in memory with `Decimal` values and persists as JSON with decimals as
 * plain strings ("0.0001"). One zod codec per state type does both directions
 * (`z.encode` to JSON, `z.decode` from JSON, validating), so the persisted shape and
 * the in-memory type cannot drift apart.
 */
import { Decimal, isInstrumentId, isSubjectToken, isVenueId, ValidationError } from '@perpmesh/core';
import { durationMs } from '@perpmesh/runtime';
import { z } from 'zod';

const DECIMAL_TEXT = /^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$/;

/** A Decimal in memory, decimal text in JSON. */
export const decimalCodec = z.codec(
  z.string().regex(DECIMAL_TEXT, { error: 'expected decimal text such as "0.0001"' }),
  z.custom<Decimal>((value) => value instanceof Decimal && value.isFinite(), {
    error: 'expected a finite Decimal',
  }),
  { decode: (text) => new Decimal(text), encode: (value) => value.toFixed() },
);

/** An epoch or duration in whole milliseconds (state codecs: the persisted form). */
export const msSchema = z.int().min(0);

/**
 * A duration in strategy config: the same duration strings as the rest of the config
 * (`"30s"`, `"48h"`, `"1h30m"`; @perpmesh/runtime `durationMs`) or a whole number of ms.
 * The field keeps its `...Ms` name: the parsed value is milliseconds.
 */
export const configDuration = durationMs;

/** A config duration that must be longer than zero. */
export const positiveConfigDuration = durationMs.refine((ms) => ms > 0, {
  error: 'must be longer than 0',
});

// A binary double keeps 15 significant digits; a YAML/JSON number with more may already
// have been rounded by the parser, so config asks for quotes instead of guessing.
const MAX_EXACT_FLOAT_DIGITS = 15;

function significantDigits(text: string): number {
  const mantissa = text.replace(/^[+-]/, '').replace(/e.*$/i, '').replace('.', '');
  return mantissa.replace(/^0+/, '').replace(/0+$/, '').length;
}

/** Config decimal: decimal text, or a JSON number that is exactly representable; output is a Decimal. */
export const configDecimal = z.union([z.string(), z.number()]).transform((value, ctx): Decimal => {
  const text = typeof value === 'number' ? String(value) : value.trim();
  if (
    typeof value === 'number' &&
    (!Number.isFinite(value) || significantDigits(text) > MAX_EXACT_FLOAT_DIGITS)
  ) {
    ctx.issues.push({ code: 'custom', message: 'quote decimals with more than 15 digits', input: value });
    return z.NEVER;
  }
  if (!DECIMAL_TEXT.test(text)) {
    ctx.issues.push({ code: 'custom', message: 'expected a decimal number', input: value });
    return z.NEVER;
  }
  return new Decimal(text);
});

export const positiveConfigDecimal = configDecimal.refine((d) => d.gt(0), {
  error: 'must be greater than 0',
});
export const nonNegativeConfigDecimal = configDecimal.refine((d) => d.gte(0), {
  error: 'must be 0 or greater',
});

/** Runs a schema and turns the first zod issue into a ValidationError naming the dotted field path. */
export function parseWith<S extends z.ZodType>(schema: S, value: unknown, rootField: string): z.output<S> {
  const result = schema.safeParse(value);
  if (result.success) return result.data;
  throw zodToValidationError(result.error, rootField);
}

export function zodToValidationError(error: z.ZodError, rootField: string): ValidationError {
  const issue = error.issues[0]!;
  const path = [rootField, ...issue.path.map((p) => (typeof p === 'number' ? `[${p}]` : String(p)))]
    .join('.')
    .replace(/\.\[/g, '[');
  const got = 'input' in issue && issue.input !== undefined ? `, got ${describe(issue.input)}` : '';
  return new ValidationError(path, `${issue.message}${got}`, { cause: error });
}

function describe(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value);
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  return `a ${Array.isArray(value) ? 'list' : typeof value}`;
}

// ---- ids in config ----------------------------------------------------------------------

/**
 * A strategy id: a NATS subject token (strat.{strategyId}.{kind}) and the prefix of every
 * client order id it places (`${strategyId}_${seq}`, at most 36 characters), so: 1-24 of
 * a-z 0-9 and inner dashes, no underscore (the separator).
 */
export const strategyIdSchema = z.string().regex(/^[a-z0-9](?:[a-z0-9-]{0,22}[a-z0-9])?$/, {
  error: 'expected 1-24 of a-z 0-9 and inner dashes (e.g. "arb-1")',
});

export const venueIdSchema = z
  .string()
  .refine(isVenueId, { error: 'expected a venue id such as "okx" or "paper-lighter"' });
export const instrumentIdSchema = z
  .string()
  .refine(isInstrumentId, { error: 'expected an instrument id such as "BTC-USDC-PERP"' });
export const accountIdSchema = z
  .string()
  .refine(isSubjectToken, { error: 'expected an account name without ".", "*", ">" or spaces' });
