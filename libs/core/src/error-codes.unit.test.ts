import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { ERROR_CODES, type ErrorCode, errorCodeInfo, isErrorCode } from './error-codes.js';
import { PerpmeshError } from './errors.js';

const README = new URL('../README.md', import.meta.url);

describe('error-code catalog', () => {
  it('types the code: a mistyped one does not compile', () => {
    // @ts-expect-error 'ORDER_NOT_FUOND' is not an ErrorCode (the build fails without this line's directive)
    const mistyped = new PerpmeshError('ORDER_NOT_FUOND', 'x');
    const right = new PerpmeshError('ORDER_NOT_FOUND', 'x');
    assert.equal(right.code, 'ORDER_NOT_FOUND');
    assert.equal(isErrorCode(mistyped.code), false);
  });

  it('gives each code a gRPC status name, an HTTP status and a meaning', () => {
    for (const [code, info] of Object.entries(ERROR_CODES)) {
      assert.match(code, /^[A-Z][A-Z0-9_]*$/, code);
      assert.ok(info.http >= 400 && info.http <= 599, `${code}: http ${info.http}`);
      assert.ok(info.meaning.length > 0, `${code}: meaning`);
      // Secret-free and caller-facing codes may show their message; INTERNAL ones say 500.
      if (info.grpc === 'INTERNAL') assert.equal(info.http, 500, code);
    }
  });

  it('looks codes up, and says undefined for one from outside the catalog', () => {
    assert.deepEqual(errorCodeInfo('RATE_LIMITED'), ERROR_CODES.RATE_LIMITED);
    assert.equal(errorCodeInfo('NO_SUCH_CODE'), undefined);
    assert.equal(errorCodeInfo('toString'), undefined, 'prototype keys are not codes');
    assert.equal(isErrorCode('BUS_CLOSED'), true);
  });

  it('is listed in libs/core/README.md, row for row', () => {
    const rows = new Map<string, string[]>();
    for (const line of readFileSync(README, 'utf8').split('\n')) {
      const m = /^\| `([A-Z0-9_]+)` \| ([A-Z_]+) \| (\d+) \| (.+) \|$/.exec(line);
      if (m) rows.set(m[1] as string, [m[2] as string, m[3] as string, m[4] as string]);
    }
    for (const [code, info] of Object.entries(ERROR_CODES) as [
      ErrorCode,
      (typeof ERROR_CODES)[ErrorCode],
    ][]) {
      assert.deepEqual(rows.get(code), [info.grpc, String(info.http), info.meaning], `README row of ${code}`);
    }
    assert.deepEqual(
      [...rows.keys()].filter((code) => !isErrorCode(code)),
      [],
      'README rows for codes the catalog does not have',
    );
  });
});
