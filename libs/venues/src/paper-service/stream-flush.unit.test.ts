/**
 * When the paper-venue service writes a stream's events (`streamFlush`): per turn (the
 * default), a turn's events go out together and in order at the turn's end, after the unary
 * answers of that turn (an answer can overtake the updates its command caused, as on a real
 * venue); per event, each is written as the port emits it. The handlers are called with
 * stand-ins for grpc-js's calls, so the order of writes is exact.
 */
import assert from 'node:assert/strict';
import { EventEmitter } from 'node:events';
import { describe, test } from 'node:test';
import type { ServerUnaryCall, ServerWritableStream, sendUnaryData } from '@grpc/grpc-js';
import type { PaperVenueServiceWatchUserStreamRequest } from '@perpmesh/contracts';
import { dec } from '@perpmesh/core';
import { eventually } from '@perpmesh/testing';
import type { PlaceOrderRequest } from '../port.js';
import {
  FakeVenue,
  HUGE,
  INSTRUMENT,
  sampleBalance,
  samplePositions,
  TINY,
} from './fake-venue.test-helper.js';
import { placeOrderToWire } from './mapping.js';
import { PAPER_STREAM_FLUSH_ENV, paperVenueGrpcService } from './server.js';

const TARGET = { venue: 'paper', account: 'main', apiKeyId: 'key-1' };

function setUp(streamFlush: 'turn' | 'event' | undefined) {
  const port = new FakeVenue({ ...TARGET });
  const service = paperVenueGrpcService(
    (venue, account) => (venue === TARGET.venue && account === TARGET.account ? port : undefined),
    streamFlush === undefined ? {} : { streamFlush },
  );
  /** What left the service, in order: `answer` (a unary callback) or the stream's message kinds. */
  const wire: string[] = [];
  const stream = Object.assign(new EventEmitter(), {
    request: { venue: TARGET.venue, account: TARGET.account, apiKeyId: '' },
    writableLength: 0,
    write: (message: { event?: { $case?: string } }) => {
      wire.push(message.event?.$case ?? '?');
      return true;
    },
    sendMetadata: () => undefined,
    end: () => undefined,
  });
  service.watchUserStream(
    stream as unknown as ServerWritableStream<PaperVenueServiceWatchUserStreamRequest, never>,
  );
  const createOrder = (request: PlaceOrderRequest) =>
    new Promise<void>((resolve) => {
      const call = { request: { ...TARGET, ...placeOrderToWire(request) } };
      const callback: sendUnaryData<unknown> = (err) => {
        wire.push(err ? 'error' : 'answer');
        resolve();
      };
      service.createOrder(call as unknown as ServerUnaryCall<never, never>, callback as never);
    });
  return { port, wire, stream, createOrder };
}

const order = (clientOrderId: string): PlaceOrderRequest => ({
  clientOrderId,
  instrument: INSTRUMENT,
  side: 'buy',
  type: 'limit',
  timeInForce: 'gtc',
  price: dec(HUGE),
  size: dec(TINY),
  reduceOnly: false,
});

describe('paperVenueGrpcService: when stream events are written (streamFlush)', () => {
  test("per turn: createOrder's answer leaves first, the user-stream update it caused at the turn's end", async () => {
    const { port, wire, createOrder } = setUp('turn');
    await eventually('subscribed', () => port.activeSubscriptions === 1);
    await createOrder(order('c-turn-1'));
    assert.deepEqual(wire, ['answer'], 'the answer, the update still held');
    await eventually('both written', () => wire.length === 2);
    assert.deepEqual(wire, ['answer', 'order']);
  });

  test('per event: the update is written as the port emits it, before the answer', async () => {
    const { port, wire, createOrder } = setUp('event');
    await eventually('subscribed', () => port.activeSubscriptions === 1);
    await createOrder(order('c-event-1'));
    await eventually('both written', () => wire.length === 2);
    assert.deepEqual(wire, ['order', 'answer']);
  });

  test("by default (no option, no PERPMESH_PAPER_STREAM_FLUSH): per turn, a turn's events together", async () => {
    assert.equal(process.env[PAPER_STREAM_FLUSH_ENV], undefined);
    const { port, wire } = setUp(undefined);
    await eventually('subscribed', () => port.activeSubscriptions === 1);
    port.emitUser({ kind: 'balance', balance: sampleBalance() });
    port.emitUser({ kind: 'balance', balance: sampleBalance() });
    assert.deepEqual(wire, [], 'nothing written inside the turn');
    await eventually('the turn flushed', () => wire.length === 2);
  });

  test('per turn: the events of several answers in one turn leave after all of them, in order', async () => {
    const { port, wire, createOrder } = setUp('turn');
    await eventually('subscribed', () => port.activeSubscriptions === 1);
    await Promise.all([createOrder(order('c-turn-2')), createOrder(order('c-turn-3'))]);
    assert.deepEqual(wire, ['answer', 'answer']);
    await eventually('the turn flushed', () => wire.length === 4);
    assert.deepEqual(wire, ['answer', 'answer', 'order', 'order']);
  });

  test("per turn: a turn's events are written together, in the order emitted", async () => {
    const { port, wire } = setUp('turn');
    await eventually('subscribed', () => port.activeSubscriptions === 1);
    port.emitUser({ kind: 'balance', balance: sampleBalance() });
    port.emitUser({ kind: 'position', position: samplePositions()[0]! });
    port.emitUser({ kind: 'balance', balance: sampleBalance() });
    assert.deepEqual(wire, [], 'nothing written inside the turn');
    await eventually('the turn flushed', () => wire.length === 3);
    assert.deepEqual(wire, ['balance', 'position', 'balance']);
  });

  test('per turn: a stream the client left before the flush writes nothing more', async () => {
    const { port, wire, stream } = setUp('turn');
    await eventually('subscribed', () => port.activeSubscriptions === 1);
    port.emitUser({ kind: 'balance', balance: sampleBalance() });
    stream.emit('cancelled');
    await new Promise((resolve) => setImmediate(resolve));
    await new Promise((resolve) => setImmediate(resolve));
    assert.deepEqual(wire, []);
    await eventually('the port subscription closed', () => port.activeSubscriptions === 0);
  });
});
