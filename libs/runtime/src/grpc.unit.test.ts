import assert from 'node:assert/strict';
import { EventEmitter } from 'node:events';
import { describe, test } from 'node:test';
import { Metadata, type ServerUnaryCall, type ServiceError, type StatusObject, status } from '@grpc/grpc-js';
import { ERROR_CODES, type ErrorCode, PerpmeshError, ValidationError } from '@perpmesh/core';
import {
  checkRequestFieldSizes,
  DOMAIN_CODE_TO_GRPC_STATUS,
  type GrpcCallContext,
  GrpcStatusError,
  grpcHandlers,
  MAX_REQUEST_LIST_LENGTH,
  MAX_REQUEST_TEXT_CHARS,
  toGrpcStatus,
} from './grpc.js';

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

  test('every code mapped before the catalog keeps its status', () => {
    // The table as it was written out here before it came from core's catalog.
    const before: Record<string, status> = {
      INVALID_ARGUMENT: status.INVALID_ARGUMENT,
      NOT_FOUND: status.NOT_FOUND,
      ALREADY_EXISTS: status.ALREADY_EXISTS,
      FAILED_PRECONDITION: status.FAILED_PRECONDITION,
      RESOURCE_EXHAUSTED: status.RESOURCE_EXHAUSTED,
      UNAVAILABLE: status.UNAVAILABLE,
      DEADLINE_EXCEEDED: status.DEADLINE_EXCEEDED,
      PERMISSION_DENIED: status.PERMISSION_DENIED,
      UNAUTHENTICATED: status.UNAUTHENTICATED,
      ABORTED: status.ABORTED,
      OUT_OF_RANGE: status.OUT_OF_RANGE,
      UNIMPLEMENTED: status.UNIMPLEMENTED,
      CANCELLED: status.CANCELLED,
      UNSUPPORTED_INSTRUMENT: status.INVALID_ARGUMENT,
      ILLEGAL_ORDER_TRANSITION: status.FAILED_PRECONDITION,
      BOOK_SEQUENCE_GAP: status.UNAVAILABLE,
      ORDER_NOT_FOUND: status.NOT_FOUND,
      VENUE_REJECTED: status.FAILED_PRECONDITION,
      INSUFFICIENT_MARGIN: status.FAILED_PRECONDITION,
      RATE_LIMITED: status.RESOURCE_EXHAUSTED,
      VENUE_DISCONNECTED: status.UNAVAILABLE,
      UNKNOWN_OUTCOME: status.UNKNOWN,
      NONCE_EXHAUSTED: status.RESOURCE_EXHAUSTED,
      STATE_STORE_LOCKED: status.UNAVAILABLE,
      STATE_STORE_CLOSED: status.UNAVAILABLE,
      STATE_STORE_BACKEND: status.UNAVAILABLE,
      BUS_CLOSED: status.UNAVAILABLE,
      // market-data's per-server codeMap, now in the catalog
      BOOK_NOT_SYNCED: status.UNAVAILABLE,
      NOT_THIS_SHARD: status.NOT_FOUND,
    };
    for (const [code, expected] of Object.entries(before)) {
      assert.equal(DOMAIN_CODE_TO_GRPC_STATUS[code], expected, code);
      assert.equal(toGrpcStatus(new PerpmeshError(code as ErrorCode, 'x')).code, expected, code);
    }
  });

  test('every catalog code maps to its status; INTERNAL ones hide their message', () => {
    for (const [code, info] of Object.entries(ERROR_CODES)) {
      const s = toGrpcStatus(new PerpmeshError(code as ErrorCode, 'secret-free detail'));
      assert.equal(s.code, status[info.grpc], code);
      if (info.grpc === 'INTERNAL') assert.match(s.details, /^internal error \(ref /, code);
      else assert.equal(s.details, 'secret-free detail', code);
    }
  });

  test('a per-server codeMap extends and overrides the table', () => {
    const err = new PerpmeshError('RATE_LIMITED', 'slow down');
    assert.equal(
      toGrpcStatus(err, { codeMap: { RATE_LIMITED: status.UNAVAILABLE } }).code,
      status.UNAVAILABLE,
    );
    assert.equal(
      toGrpcStatus(new PerpmeshError('CONFIG_INVALID', 'x'), { codeMap: { CONFIG_INVALID: status.ABORTED } })
        .code,
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

describe('checkRequestFieldSizes', () => {
  const long = 'x'.repeat(MAX_REQUEST_TEXT_CHARS + 1);
  const refusal = (request: unknown, path?: string) => {
    try {
      checkRequestFieldSizes(request, path);
    } catch (err) {
      assert.ok(err instanceof ValidationError);
      return { field: err.field, message: err.message };
    }
    return undefined;
  };

  test('values within the bounds pass', () => {
    const fine = { clientOrderId: 'o-1', legs: [{ size: '1' }], raw: new Uint8Array(10_000), n: 3 };
    assert.equal(refusal(fine), undefined);
  });

  test('the first field over the bounds is named by its proto path', () => {
    assert.deepEqual(refusal({ clientOrderId: long }), {
      field: 'client_order_id',
      message: `client_order_id: must be at most ${MAX_REQUEST_TEXT_CHARS} characters, got ${long.length}`,
    });
    assert.equal(
      refusal({ order: { legs: [{ size: '1' }, { limitPrice: long }] } })?.field,
      'order.legs[1].limit_price',
    );
    assert.equal(refusal([{ a: long }])?.field, '[0].a');
    assert.equal(refusal(long)?.field, 'request');
    assert.equal(refusal({ a: long }, 'outer')?.field, 'outer.a');
    const many = { ids: Array.from({ length: MAX_REQUEST_LIST_LENGTH + 1 }, () => 'i') };
    assert.deepEqual(refusal(many), {
      field: 'ids',
      message: `ids: must have at most ${MAX_REQUEST_LIST_LENGTH} elements, got ${MAX_REQUEST_LIST_LENGTH + 1}`,
    });
  });
});

describe('grpcHandlers().unary: the call signal', () => {
  /** A unary call as grpc-js hands it to a handler; `cancelled` is emitted by the test. */
  function fakeCall(): ServerUnaryCall<{ message: string }, { message: string }> & EventEmitter {
    return Object.assign(new EventEmitter(), {
      request: { message: 'hi' },
      metadata: new Metadata(),
      getPeer: () => 'ipv4:127.0.0.1:1',
      getPath: () => '/test.Echo/Echo',
      getDeadline: () => Infinity,
    }) as unknown as ServerUnaryCall<{ message: string }, { message: string }> & EventEmitter;
  }

  test('the client gone before the answer aborts the signal (an AbortError)', async () => {
    let seen: GrpcCallContext | undefined;
    let answered = false;
    const handler = grpcHandlers().unary<{ message: string }, { message: string }>(
      (request, ctx) =>
        new Promise((resolve) => {
          seen = ctx;
          ctx.signal.addEventListener('abort', () => resolve(request), { once: true });
        }),
    );
    const call = fakeCall();
    handler(call, () => {
      answered = true;
    });
    await new Promise((resolve) => setImmediate(resolve));
    call.emit('cancelled');
    assert.equal(seen?.signal.aborted, true);
    assert.equal((seen?.signal.reason as Error | undefined)?.name, 'AbortError');
    await new Promise((resolve) => setImmediate(resolve));
    assert.equal(answered, true, 'the handler resolved; grpc-js drops an answer to a gone client');
  });

  test('the stream closing after the answer (grpc-js emits cancelled then too) does not abort it', async () => {
    let seen: GrpcCallContext | undefined;
    const handler = grpcHandlers().unary<{ message: string }, { message: string }>((request, ctx) => {
      seen = ctx;
      return request;
    });
    const call = fakeCall();
    const answer = new Promise<Partial<StatusObject> | ServiceError | null>((resolve) =>
      handler(call, (err) => resolve(err)),
    );
    assert.equal(await answer, null);
    call.emit('cancelled');
    assert.equal(seen?.signal.aborted, false, 'an answered call has nothing left to abort');
  });

  test('an error answer also ends the call: its closing does not abort the signal', async () => {
    let seen: GrpcCallContext | undefined;
    const handler = grpcHandlers().unary<{ message: string }, { message: string }>((_request, ctx) => {
      seen = ctx;
      throw new ValidationError('message', 'must not be hi');
    });
    const call = fakeCall();
    const answer = new Promise<Partial<StatusObject> | ServiceError | null>((resolve) =>
      handler(call, (err) => resolve(err)),
    );
    assert.equal((await answer)?.code, status.INVALID_ARGUMENT);
    call.emit('cancelled');
    assert.equal(seen?.signal.aborted, false);
  });
});
