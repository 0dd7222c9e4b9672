import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { status } from '@grpc/grpc-js';
import { PerpmeshError, ValidationError } from '@perpmesh/core';
import { DOMAIN_CODE_TO_GRPC_STATUS, GrpcStatusError, toGrpcStatus } from './grpc.js';

describe('toGrpcStatus', () => {
  test('ValidationError -> INVALID_ARGUMENT with the field in message and trailer', () => {
    const s = toGrpcStatus(new ValidationError('order.price', 'not a decimal number: "abc"'));
    assert.equal(s.code, status.INVALID_ARGUMENT);
    assert.equal(s.details, 'order.price: not a decimal number: "abc"');
    assert.deepEqual(s.metadata.get('perpmesh-field'), ['order.price']);
  });

  test('every canonical code maps to itself', () => {
    for (const name of [
      'NOT_FOUND',
      'ALREADY_EXISTS',
      'FAILED_PRECONDITION',
      'RESOURCE_EXHAUSTED',
      'UNAVAILABLE',
      'DEADLINE_EXCEEDED',
      'PERMISSION_DENIED',
      'ABORTED',
    ] as const) {
      const s = toGrpcStatus(new PerpmeshError(name, `a ${name} happened`));
      assert.equal(s.code, status[name], name);
      assert.equal(s.details, `a ${name} happened`);
    }
  });

  test('domain codes from other libs map by the table', () => {
    const cases: Array<[string, status]> = [
      ['ORDER_NOT_FOUND', status.NOT_FOUND],
      ['RATE_LIMITED', status.RESOURCE_EXHAUSTED],
      ['INSUFFICIENT_MARGIN', status.FAILED_PRECONDITION],
      ['VENUE_DISCONNECTED', status.UNAVAILABLE],
      ['UNKNOWN_OUTCOME', status.UNKNOWN],
      ['UNSUPPORTED_INSTRUMENT', status.INVALID_ARGUMENT],
    ];
    for (const [code, expected] of cases) {
      assert.equal(DOMAIN_CODE_TO_GRPC_STATUS[code], expected, code);
      assert.equal(toGrpcStatus(new PerpmeshError(code, 'x')).code, expected, code);
    }
  });

  test('a per-server codeMap extends and overrides the table', () => {
    const err = new PerpmeshError('RATE_LIMITED', 'slow down');
    assert.equal(
      toGrpcStatus(err, { codeMap: { RATE_LIMITED: status.UNAVAILABLE } }).code,
      status.UNAVAILABLE,
    );
    assert.equal(
      toGrpcStatus(new PerpmeshError('NEW_THING', 'x'), { codeMap: { NEW_THING: status.ABORTED } }).code,
      status.ABORTED,
    );
  });

  test('GrpcStatusError passes through; aborts are CANCELLED', () => {
    const s = toGrpcStatus(new GrpcStatusError(status.OUT_OF_RANGE, 'page 9 of 3'));
    assert.deepEqual([s.code, s.details], [status.OUT_OF_RANGE, 'page 9 of 3']);
    const abort = new AbortController();
    abort.abort();
    assert.equal(toGrpcStatus(abort.signal.reason).code, status.CANCELLED);
  });

  test('anything else is INTERNAL and says nothing about itself', () => {
    for (const err of [
      new Error('SELECT * FROM users; password=x'),
      'a string',
      { weird: true },
      undefined,
    ]) {
      const s = toGrpcStatus(err);
      assert.equal(s.code, status.INTERNAL);
      assert.match(s.details, /^internal error \(ref [0-9a-f-]{36}\)$/);
    }
  });
});
