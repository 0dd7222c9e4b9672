/**
 * Input checks shared by both adapters, so they reject the same things with the same
 * errors (the contract suite checks that). Each error names the field; values are
 * echoed except `apiKeyId`, which must not be a secret but might be one by mistake.
 */
import { ValidationError } from '@perpmesh/core';
import {
  type AllocateNonceOptions,
  type AppliedSeqs,
  canonicalApplied,
  MAX_NONCE,
  MAX_NONCE_BLOCK,
  type NonceKey,
} from './statestore.js';

/** Longest identifier accepted in a key component (venue, account, scope, key, name...). */
export const MAX_ID_LENGTH = 256;

function checkId(value: unknown, field: string, echo = true): string {
  if (typeof value !== 'string' || value.length === 0) {
    throw new ValidationError(
      field,
      `must be a non-empty string, got ${echo ? JSON.stringify(value) : typeof value}`,
    );
  }
  if (value.length > MAX_ID_LENGTH) {
    throw new ValidationError(field, `must be at most ${MAX_ID_LENGTH} characters, got ${value.length}`);
  }
  return value;
}

export function checkNonceKey(key: NonceKey): NonceKey {
  if (typeof key !== 'object' || key === null) throw new ValidationError('key', 'must be a NonceKey object');
  checkId(key.venue, 'key.venue');
  checkId(key.account, 'key.account');
  checkId(key.apiKeyId, 'key.apiKeyId', false);
  return key;
}

/** A nonce-valued input (floor, venue next nonce): a bigint in [0, MAX_NONCE]. */
export function checkNonceValue(value: unknown, field: string): bigint {
  if (typeof value !== 'bigint') throw new ValidationError(field, `must be a bigint, got ${typeof value}`);
  if (value < 0n || value > MAX_NONCE) {
    throw new ValidationError(field, `must be between 0 and ${MAX_NONCE}, got ${value}`);
  }
  return value;
}

export function checkFloor(options: AllocateNonceOptions | undefined): bigint | undefined {
  if (options?.floor === undefined) return undefined;
  return checkNonceValue(options.floor, 'options.floor');
}

export function checkBlockCount(count: unknown): number {
  if (typeof count !== 'number' || !Number.isInteger(count) || count < 1 || count > MAX_NONCE_BLOCK) {
    throw new ValidationError(
      'count',
      `must be an integer from 1 to ${MAX_NONCE_BLOCK}, got ${String(count)}`,
    );
  }
  return count;
}

export function checkIdempotencyArgs(scope: unknown, key: unknown): void {
  checkId(scope, 'scope');
  checkId(key, 'key');
}

export function checkIdempotencyValue(value: unknown, field: string): string {
  if (typeof value !== 'string') throw new ValidationError(field, `must be a string, got ${typeof value}`);
  if (value.length > 64 * 1024)
    throw new ValidationError(field, `must be at most 65536 characters, got ${value.length}`);
  return value;
}

export function checkTtlMs(ttlMs: unknown): number {
  if (typeof ttlMs !== 'number' || !Number.isSafeInteger(ttlMs) || ttlMs < 1) {
    throw new ValidationError(
      'ttlMs',
      `must be a positive integer number of milliseconds, got ${String(ttlMs)}`,
    );
  }
  return ttlMs;
}

export function checkProjectionName(name: unknown): string {
  return checkId(name, 'name');
}

export function checkApplied(applied: unknown, field: string): AppliedSeqs {
  if (typeof applied !== 'object' || applied === null || Array.isArray(applied)) {
    throw new ValidationError(field, 'must be a record of stream name to sequence');
  }
  for (const [stream, seq] of Object.entries(applied)) {
    checkId(stream, `${field} stream name`);
    if (typeof seq !== 'number' || !Number.isSafeInteger(seq) || seq < 0) {
      throw new ValidationError(
        `${field}.${stream}`,
        `must be a non-negative integer sequence, got ${String(seq)}`,
      );
    }
  }
  return applied as AppliedSeqs;
}

/**
 * `applied` must move forward from `expected`: no stream goes back or disappears, and at
 * least one stream advances (or appears). Saving the same sequences twice is a bug in the
 * caller (an event applied twice), not a race, so it is a ValidationError.
 */
export function checkAppliedAdvances(applied: AppliedSeqs, expected: AppliedSeqs): void {
  let advanced = false;
  for (const [stream, prev] of Object.entries(expected)) {
    const next = applied[stream];
    if (next === undefined)
      throw new ValidationError(`applied.${stream}`, `missing; expected applied has ${prev}`);
    if (next < prev) throw new ValidationError(`applied.${stream}`, `goes back from ${prev} to ${next}`);
    if (next > prev) advanced = true;
  }
  if (Object.keys(applied).some((stream) => !(stream in expected))) advanced = true;
  if (!advanced) {
    throw new ValidationError('applied', `must advance past expectedApplied ${canonicalApplied(expected)}`);
  }
}

/** Projection state as JSON text; rejects what JSON cannot carry (bigint, undefined, cycles). */
export function stateToJson(state: unknown): string {
  let text: string | undefined;
  try {
    text = JSON.stringify(state);
  } catch (err) {
    throw new ValidationError(
      'state',
      'must be JSON-serializable (Decimals as strings, no bigint or cycles)',
      {
        cause: err,
      },
    );
  }
  if (text === undefined)
    throw new ValidationError('state', `must be JSON-serializable, got ${typeof state}`);
  return text;
}

/** Shared by both adapters' saveProjection before any I/O. */
export function checkProjectionSave(
  name: unknown,
  state: unknown,
  applied: unknown,
  expectedApplied: unknown,
): { name: string; stateJson: string; applied: AppliedSeqs; expected: AppliedSeqs } {
  const checkedName = checkProjectionName(name);
  const checkedApplied = checkApplied(applied, 'applied');
  const expected = expectedApplied === undefined ? {} : checkApplied(expectedApplied, 'expectedApplied');
  checkAppliedAdvances(checkedApplied, expected);
  return { name: checkedName, stateJson: stateToJson(state), applied: checkedApplied, expected };
}
