/**
 * The domain ↔ wire mapping through real protobuf bytes (encode → decode), and the
 * VenueError ↔ status codec, without a server.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { Metadata, type ServiceError, status } from '@grpc/grpc-js';
import {
  OrderStatus,
  PaperVenueServiceCreateOrderRequest,
  PaperVenueServiceWatchMarketResponse,
  PaperVenueServiceWatchUserStreamResponse,
  Side,
} from '@perpmesh/contracts';
import { dec, ValidationError } from '@perpmesh/core';
import {
  InsufficientMarginError,
  RateLimitedError,
  VenueDisconnectedError,
  VenueOrderNotFoundError,
  VenueRejectedError,
  VenueUnknownOutcomeError,
} from '../errors.js';
import type { MarketEvent, PlaceOrderRequest, UserStreamEvent, VenueOrder } from '../port.js';
import {
  FAKE_CAPABILITIES,
  HUGE,
  INSTRUMENT,
  plain,
  sampleBalance,
  sampleBook,
  sampleFunding,
  samplePositions,
  T0,
  TINY,
} from './fake-venue.test-helper.js';
import {
  capabilitiesFromWire,
  capabilitiesToWire,
  marketEventFromWire,
  marketEventToWire,
  nonceFromWire,
  orderFromWire,
  orderRefFromWire,
  orderToWire,
  placeOrderFromWire,
  placeOrderToWire,
  userStreamEventFromWire,
  userStreamEventToWire,
} from './mapping.js';
import { errorFromStatus, errorToStatus, RemoteStatusError } from './status.js';

const order: VenueOrder = {
  clientOrderId: 'c-1',
  venueOrderId: 'v-1',
  instrument: INSTRUMENT,
  side: 'sell',
  type: 'limit',
  timeInForce: 'fok',
  price: dec(HUGE),
  size: dec(TINY),
  filled: dec('0.0000000005'),
  avgFillPrice: dec('123456789.123456788'),
  status: 'partially_filled',
  reduceOnly: true,
  reason: '',
  tsEventMs: T0,
};

function throughBytes<T>(
  codec: { encode(m: T): { finish(): Uint8Array }; decode(b: Uint8Array): T },
  m: T,
): T {
  return codec.decode(codec.encode(m).finish());
}

describe('mapping through protobuf bytes', () => {
  test('market events keep kind, optional sequences and every digit', () => {
    const events: MarketEvent[] = [
      sampleBook(),
      { kind: 'delta', instrument: INSTRUMENT, seq: 7, prevSeq: 0, bids: [], asks: [], tsEventMs: T0 },
      {
        kind: 'delta',
        instrument: INSTRUMENT,
        seq: 7,
        bids: [{ price: dec(HUGE), size: dec(0) }],
        asks: [],
        tsEventMs: T0,
      },
      {
        kind: 'trade',
        instrument: INSTRUMENT,
        tradeId: 't',
        price: dec(TINY),
        size: dec(HUGE),
        takerSide: 'buy',
        tsEventMs: T0,
      },
      sampleFunding(),
    ];
    for (const e of events) {
      const back = marketEventFromWire(
        throughBytes(PaperVenueServiceWatchMarketResponse, marketEventToWire(e)),
      );
      assert.deepEqual(plain(back), plain(e));
    }
    // prevSeq 0 is a value, not "absent" (proto3 `optional` keeps presence).
    const delta = marketEventFromWire(
      throughBytes(PaperVenueServiceWatchMarketResponse, marketEventToWire(events[1]!)),
    );
    assert.equal(delta.kind === 'delta' && delta.prevSeq, 0);
    assert.equal(delta.kind === 'delta' && 'firstSeq' in delta, false);
  });

  test('user stream events keep every field, including an empty reason', () => {
    const events: UserStreamEvent[] = [
      { kind: 'order', order },
      { kind: 'balance', balance: sampleBalance() },
      { kind: 'position', position: samplePositions()[0]! },
      {
        kind: 'funding_payment',
        payment: {
          instrument: INSTRUMENT,
          amount: dec(TINY),
          rate: dec('-0.0001'),
          positionSize: dec('-2'),
          markPrice: dec(HUGE),
          tsEventMs: T0,
        },
      },
    ];
    for (const e of events) {
      const back = userStreamEventFromWire(
        throughBytes(PaperVenueServiceWatchUserStreamResponse, userStreamEventToWire(e)),
      );
      assert.deepEqual(plain(back), plain(e));
    }
  });

  test('a place-order request keeps its bigint nonce beyond 2^53', () => {
    const request: PlaceOrderRequest = {
      clientOrderId: 'c',
      instrument: INSTRUMENT,
      side: 'buy',
      type: 'limit',
      timeInForce: 'gtc',
      price: dec(TINY),
      size: dec(HUGE),
      reduceOnly: false,
      nonce: 2n ** 64n - 1n,
    };
    const wire = throughBytes(PaperVenueServiceCreateOrderRequest, {
      venue: 'paper',
      account: 'main',
      apiKeyId: 'k',
      ...placeOrderToWire(request),
    });
    assert.equal(wire.nonce, '18446744073709551615');
    assert.deepEqual(plain(placeOrderFromWire(wire)), plain(request));
  });

  test('bad wire values name the field path', () => {
    const wire = { ...orderToWire(order), status: OrderStatus.ORDER_STATUS_UNSPECIFIED };
    assert.throws(
      () => orderFromWire(wire, 'orders[3]'),
      (e: unknown) => e instanceof ValidationError && e.field === 'orders[3].status',
    );
    assert.throws(
      () => orderFromWire({ ...orderToWire(order), avgFillPrice: '12,5' }, 'order'),
      (e: unknown) =>
        e instanceof ValidationError && e.field === 'order.avgFillPrice' && /12,5/.test(e.message),
    );
    const trade = marketEventToWire({
      kind: 'trade',
      instrument: INSTRUMENT,
      tradeId: 't',
      price: dec(1),
      size: dec(1),
      takerSide: 'buy',
      tsEventMs: T0,
    });
    if (trade.event?.$case !== 'trade') return assert.fail('expected a trade');
    const badTrade = {
      event: { $case: 'trade' as const, value: { ...trade.event.value, takerSide: Side.SIDE_UNSPECIFIED } },
    };
    assert.throws(
      () => marketEventFromWire(badTrade),
      (e: unknown) => e instanceof ValidationError && e.field === 'trade.takerSide',
    );
    assert.throws(
      () => marketEventFromWire({}),
      (e: unknown) => e instanceof ValidationError && e.field === 'event',
    );
    assert.throws(
      () => orderRefFromWire({ instrument: INSTRUMENT }, 'ref'),
      (e: unknown) => e instanceof ValidationError && e.field === 'ref',
    );
    assert.throws(
      () => orderRefFromWire({ instrument: INSTRUMENT, clientOrderId: '' }, 'ref'),
      (e: unknown) => e instanceof ValidationError && e.field === 'ref.clientOrderId',
    );
    assert.throws(() => nonceFromWire('1.5', 'nonce'), /nonce: must be an unsigned integer/);
    assert.equal(nonceFromWire('', 'nonce'), undefined);
  });

  test('capabilities round-trip', () => {
    const caps = { ...FAKE_CAPABILITIES, nonceFloorIsTimeMs: true, fok: true };
    assert.deepEqual(
      capabilitiesFromWire({
        capabilities: capabilitiesToWire(caps),
        apiKeyId: '',
        fetchNextNonceSupported: false,
      }),
      caps,
    );
  });
});

describe('VenueError ↔ status', () => {
  const ctx = { venue: 'paper', address: '127.0.0.1:50054', method: 'CreateOrder' };
  const newRef = () => 'ref-1';

  /** What a grpc-js client would hand us for the status the server sent. */
  function asServiceError(s: { code: status; details: string; metadata?: Metadata | null }): ServiceError {
    return Object.assign(new Error(`${s.code} ${status[s.code]}: ${s.details}`), {
      code: s.code,
      details: s.details,
      metadata: s.metadata ?? new Metadata(),
    });
  }

  test('each class comes back as itself, with the status a plain gRPC client would see', () => {
    const cases = [
      [
        new VenueRejectedError('paper', 'reduce_only', 'would increase', { venueMessage: 'nein' }),
        status.FAILED_PRECONDITION,
      ],
      [new InsufficientMarginError('paper', 'short 3 USDC'), status.FAILED_PRECONDITION],
      [new RateLimitedError('paper', 'slow', { retryAfterMs: 250 }), status.RESOURCE_EXHAUSTED],
      [new VenueUnknownOutcomeError('paper', 'lost'), status.UNKNOWN],
      [new VenueDisconnectedError('paper', 'down'), status.UNAVAILABLE],
      [new VenueOrderNotFoundError('paper', 'gone'), status.NOT_FOUND],
    ] as const;
    for (const [original, code] of cases) {
      const st = errorToStatus(original, { method: 'CreateOrder', newRef });
      assert.equal(st.code, code, original.name);
      const back = errorFromStatus(asServiceError(st), { ...ctx, kind: 'write' });
      assert.equal(back.constructor, original.constructor);
      assert.equal(back.message, original.message);
      assert.deepEqual(
        { ...(back as object), cause: undefined },
        { ...(original as object), cause: undefined },
        original.name,
      );
    }
  });

  test('transport failures: writes are unknown outcomes, reads are disconnects; refusals are rejections', () => {
    for (const code of [
      status.UNAVAILABLE,
      status.DEADLINE_EXCEEDED,
      status.CANCELLED,
      status.INTERNAL,
      status.UNKNOWN,
    ]) {
      const err = asServiceError({ code, details: 'x' });
      assert.ok(
        errorFromStatus(err, { ...ctx, kind: 'write' }) instanceof VenueUnknownOutcomeError,
        status[code],
      );
      assert.ok(
        errorFromStatus(err, { ...ctx, kind: 'read' }) instanceof VenueDisconnectedError,
        status[code],
      );
    }
    for (const code of [
      status.NOT_FOUND,
      status.UNAUTHENTICATED,
      status.PERMISSION_DENIED,
      status.UNIMPLEMENTED,
    ]) {
      const err = errorFromStatus(asServiceError({ code, details: 'no' }), { ...ctx, kind: 'write' });
      assert.ok(err instanceof VenueRejectedError, status[code]);
      assert.equal(err.reason, status[code]!.toLowerCase());
    }
    const invalid = errorToStatus(new ValidationError('size', 'must be > 0'), {
      method: 'CreateOrder',
      newRef,
    });
    const back = errorFromStatus(asServiceError(invalid), { ...ctx, kind: 'write' });
    assert.ok(back instanceof ValidationError);
    assert.equal(back.field, 'size');
    assert.equal(back.message, 'size: must be > 0');
  });

  test('an unknown error is INTERNAL with only a reference id; explicit statuses pass through', () => {
    const seen: unknown[] = [];
    const st = errorToStatus(new Error('token=abc'), {
      method: 'FetchFills',
      newRef,
      onInternalError: (err) => seen.push(err),
    });
    assert.equal(st.code, status.INTERNAL);
    assert.equal(st.details, 'internal error in FetchFills (ref ref-1)');
    assert.equal(seen.length, 1);
    const nf = errorToStatus(new RemoteStatusError(status.NOT_FOUND, 'no venue "x"'), {
      method: 'M',
      newRef,
    });
    assert.deepEqual([nf.code, nf.details], [status.NOT_FOUND, 'no venue "x"']);
  });
});
