/**
 * Starknet field elements (felts) and the integer encodings the Extended order uses.
 * Every parser names the field it reads, so a bad order or vector says which value is wrong.
 */
import { ValidationError } from '@perpmesh/core';

/** The Starknet field prime P = 2^251 + 17·2^192 + 1: every felt is in [0, P). */
export const FELT_PRIME = 2n ** 251n + 17n * 2n ** 192n + 1n;

const HEX = /^0x[0-9a-fA-F]+$/;
const DECIMAL = /^-?\d+$/;

/** An integer from a bigint, a safe JS integer, decimal text or 0x-hex text. */
export function parseInteger(value: unknown, field: string): bigint {
  if (typeof value === 'bigint') return value;
  if (typeof value === 'number') {
    if (Number.isSafeInteger(value)) return BigInt(value);
    throw new ValidationError(field, `not a safe integer: ${value}`);
  }
  if (typeof value === 'string') {
    const text = value.trim();
    if (HEX.test(text) || DECIMAL.test(text)) return BigInt(text);
  }
  throw new ValidationError(field, `not an integer (decimal or 0x-hex): ${JSON.stringify(String(value))}`);
}

/** A felt: an integer in [0, P). */
export function parseFelt(value: unknown, field: string): bigint {
  const n = parseInteger(value, field);
  if (n < 0n || n >= FELT_PRIME) throw new ValidationError(field, `out of the felt range [0, P): ${n}`);
  return n;
}

/** An unsigned integer of `bits` bits (u32, u64). */
export function parseUnsigned(value: unknown, bits: number, field: string): bigint {
  const n = parseInteger(value, field);
  if (n < 0n || n >= 1n << BigInt(bits)) throw new ValidationError(field, `out of the u${bits} range: ${n}`);
  return n;
}

/** A signed 64-bit integer, checked for range. */
export function parseI64(value: unknown, field: string): bigint {
  const n = parseInteger(value, field);
  if (n < -(1n << 63n) || n >= 1n << 63n) throw new ValidationError(field, `out of the i64 range: ${n}`);
  return n;
}

/** A signed integer as the felt Cairo stores: P + v for a negative v. */
export function signedToFelt(value: bigint): bigint {
  return value < 0n ? FELT_PRIME + value : value;
}

/** The felt's vector/wire form: 0x + lowercase hex, no zero padding. */
export function feltHex(value: bigint): string {
  return `0x${value.toString(16)}`;
}

/** 64 hex digits without 0x: the fixed-width form @scure/starknet reads hashes and keys in. */
export function hex64(value: bigint): string {
  return value.toString(16).padStart(64, '0');
}

/**
 * A Cairo short string: up to 31 ASCII characters read as one big-endian integer
 * ('SN_MAIN', 'Perpetuals', 'StarkNet Message').
 */
export function shortString(text: string, field = 'shortstring'): bigint {
  if (text.length > 31)
    throw new ValidationError(field, `a short string has at most 31 characters: "${text}"`);
  let n = 0n;
  for (let i = 0; i < text.length; i += 1) {
    const code = text.charCodeAt(i);
    if (code > 0x7f) throw new ValidationError(field, `a short string is ASCII only: "${text}"`);
    n = (n << 8n) | BigInt(code);
  }
  return n;
}
