/**
 * Reading fields of a venue's own payload (ccxt's `info`), for the profiles' parsers: each
 * reader names the field it could not read (`<where>.<field>`) in a ValidationError.
 */
import { Decimal, type InstrumentId, ValidationError } from '@perpmesh/core';
import type { ParseContext } from './profile.js';

/** One object of a venue payload. */
export type PayloadRow = Record<string, unknown>;

/** A number the venue sent as text (or as a finite number), as its text. */
export function payloadText(row: PayloadRow | undefined, field: string, where: string): string {
  const v = row?.[field];
  if (typeof v === 'string' && v !== '') return v;
  if (typeof v === 'number' && Number.isFinite(v)) return String(v);
  throw new ValidationError(`${where}.${field}`, `expected a number as text, got ${JSON.stringify(v)}`);
}

export function payloadDecimal(row: PayloadRow | undefined, field: string, where: string): Decimal {
  return new Decimal(payloadText(row, field, where));
}

export function payloadInt(row: PayloadRow | undefined, field: string, where: string): number {
  const n = Number(row?.[field]);
  if (!Number.isSafeInteger(n)) {
    throw new ValidationError(
      `${where}.${field}`,
      `expected an integer, got ${JSON.stringify(row?.[field])}`,
    );
  }
  return n;
}

/** The instrument of the venue symbol in `row[field]`; one we do not follow is an error. */
export function payloadInstrument(
  row: PayloadRow | undefined,
  field: string,
  where: string,
  ctx: ParseContext,
): InstrumentId {
  const symbol = payloadText(row, field, where);
  const instrument = ctx.instrumentOfVenueSymbol(symbol);
  if (instrument === undefined) {
    throw new ValidationError(`${where}.${field}`, `${symbol} is not an instrument we follow`);
  }
  return instrument;
}
