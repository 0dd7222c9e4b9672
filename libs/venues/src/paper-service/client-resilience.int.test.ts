/**
 * PaperVenueClient when things go wrong between it and the paper-venue server: a server that
 * dies mid-call, a deadline, a bad bearer token, and a stream that breaks and comes back.
 */
import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import { inspect } from 'node:util';
import { credentials, Metadata, type ServiceError, status } from '@grpc/grpc-js';
import { PaperVenueServiceClient } from '@perpmesh/contracts';
import { dec } from '@perpmesh/core';
import { Secret } from '@perpmesh/runtime';
import { eventually } from '@perpmesh/testing';
import { VenueDisconnectedError, VenueRejectedError, VenueUnknownOutcomeError } from '../errors.js';
import type { PlaceOrderRequest, ReadinessComponent, UserStreamEvent } from '../port.js';
import { PaperVenueClient, type PaperVenueClientOptions } from './client.js';
import {
  FakeVenue,
  INSTRUMENT,
  sampleBalance,
  startTestPaperVenueServer,
  type TestPaperVenueServer,
} from './fake-venue.test-helper.js';

const order = (clientOrderId: string): PlaceOrderRequest => ({
  clientOrderId,
  instrument: INSTRUMENT,
  side: 'buy',
  type: 'limit',
  timeInForce: 'gtc',
  price: dec('100'),
  size: dec('1'),
  reduceOnly: false,
});

function options(
  server: TestPaperVenueServer,
  extra: Partial<PaperVenueClientOptions> = {},
): PaperVenueClientOptions {
  return {
    address: server.address,
    venue: 'paper',
    account: 'main',
    apiKeyId: 'key-1',
    callTimeoutMs: 5_000,
    readinessPollMs: 0,
    reconnectInitialDelayMs: 20,
    reconnectMaxDelayMs: 100,
    ...extra,
  };
}

/** Closes what a test opened even when it fails half way. */
function cleanup() {
  const closers: Array<() => Promise<void>> = [];
  return {
    add<T extends { close(): Promise<void> }>(thing: T): T {
      closers.push(() => thing.close());
      return thing;
    },
    async run() {
      for (const close of closers.reverse()) await close().catch(() => {});
    },
  };
}

describe('PaperVenueClient resilience', () => {
  const open = cleanup();
  after(() => open.run());

  test('a server that goes away mid-createOrder gives VenueUnknownOutcomeError; mid-read VenueDisconnectedError', async () => {
    const fake = new FakeVenue({ venue: 'paper', account: 'main', apiKeyId: 'key-1' });
    const server = open.add(await startTestPaperVenueServer({ venues: [fake] }));
    const venue = open.add(await PaperVenueClient.connect(options(server)));

    const releaseCreate = fake.hold('createOrder');
    const releaseRead = fake.hold('fetchBalances');
    const creating = venue.createOrder(order('c-mid-1')).then(
      () => assert.fail('expected an error'),
      (e: unknown) => e,
    );
    const reading = venue.fetchBalances().then(
      () => assert.fail('expected an error'),
      (e: unknown) => e,
    );
    await eventually(
      'both calls to reach the port',
      () => fake.callsOf('createOrder').length === 1 && fake.callsOf('fetchBalances').length === 1,
    );
    await server.kill();

    const createErr = await creating;
    assert.ok(createErr instanceof VenueUnknownOutcomeError, `got ${String(createErr)}`);
    assert.equal(createErr.venue, 'paper');
    assert.match(createErr.message, /CreateOrder to paper-venue at 127\.0\.0\.1:\d+ failed/);
    assert.match(createErr.message, /may have taken effect/);
    const readErr = await reading;
    assert.ok(readErr instanceof VenueDisconnectedError, `got ${String(readErr)}`);
    releaseCreate();
    releaseRead();

    // With the server gone, a cancel is an unknown outcome too and a read is disconnected.
    await assert.rejects(
      venue.cancelOrder({ instrument: INSTRUMENT, clientOrderId: 'c-mid-1' }),
      VenueUnknownOutcomeError,
    );
    await assert.rejects(venue.fetchPositions(), VenueDisconnectedError);
    await venue.close();
    await assert.rejects(venue.fetchBalances(), /is closed/);
  });

  test('a deadline during createOrder is VenueUnknownOutcomeError naming DEADLINE_EXCEEDED', async () => {
    const fake = new FakeVenue({ venue: 'paper', account: 'main', apiKeyId: 'key-1' });
    const server = open.add(await startTestPaperVenueServer({ venues: [fake] }));
    const venue = open.add(await PaperVenueClient.connect(options(server, { callTimeoutMs: 1_000 })));
    const release = fake.hold('createOrder');
    try {
      await assert.rejects(
        venue.createOrder(order('c-slow')),
        (e: unknown) => e instanceof VenueUnknownOutcomeError && /DEADLINE_EXCEEDED/.test(e.message),
      );
    } finally {
      release();
    }
    // The order did reach the venue: that is why the caller must ask, not resend.
    await eventually('the held order to be placed', () => fake.orders.has('c-slow'));
    const found = await venue.fetchOrder({ instrument: INSTRUMENT, clientOrderId: 'c-slow' });
    assert.equal(found?.status, 'accepted');
  });

  test('the server enforces its bearer token: UNAUTHENTICATED without it, the token never in errors', async () => {
    const token = 'tok-3f9a1c-very-secret';
    const fake = new FakeVenue({ venue: 'paper', account: 'main', apiKeyId: 'key-1' });
    const server = open.add(
      await startTestPaperVenueServer({ venues: [fake], authToken: new Secret(token) }),
    );

    const raw = new PaperVenueServiceClient(server.address, credentials.createInsecure());
    try {
      const err = await new Promise<ServiceError | null>((resolve) =>
        raw.fetchBalances({ venue: 'paper', account: 'main' }, new Metadata(), (e) => resolve(e)),
      );
      assert.equal(err?.code, status.UNAUTHENTICATED);
    } finally {
      raw.close();
    }

    const wrong = 'tok-wrong-guess';
    const refused = await PaperVenueClient.connect(options(server, { authToken: wrong })).then(
      () => assert.fail('expected UNAUTHENTICATED'),
      (e: unknown) => e,
    );
    assert.ok(refused instanceof VenueRejectedError);
    assert.equal(refused.reason, 'unauthenticated');
    assert.doesNotMatch(`${refused.message} ${inspect(refused)}`, new RegExp(wrong));
    assert.equal(fake.calls.length, 0, 'nothing reached the port');

    const venue = open.add(await PaperVenueClient.connect(options(server, { authToken: new Secret(token) })));
    assert.equal((await venue.fetchBalances()).length, 1);
    const events: UserStreamEvent[] = [];
    const sub = await venue.watchUserStream((e) => events.push(e));
    fake.emitUser({ kind: 'balance', balance: sampleBalance() });
    await eventually('a user event over the authenticated stream', () => events.length === 1);
    await sub.close();
    assert.doesNotMatch(inspect(venue, { depth: 5, showHidden: true }), new RegExp(token));
  });

  test('a broken stream shows in readiness, re-subscribes with backoff, and stops on close', async () => {
    const fake = new FakeVenue({ venue: 'paper', account: 'main', apiKeyId: 'key-1' });
    const first = await startTestPaperVenueServer({ venues: [fake] });
    const changes: ReadinessComponent[] = [];
    const venue = open.add(
      await PaperVenueClient.connect(options(first, { onReadinessChange: (c) => changes.push(c) })),
    );
    const events: UserStreamEvent[] = [];
    const sub = await venue.watchUserStream((e) => events.push(e));
    const userStream = () => venue.readiness().find((c) => c.component === 'user stream');
    assert.equal(userStream()?.ready, true);

    fake.emitUser({ kind: 'balance', balance: sampleBalance() });
    await eventually('first event', () => events.length === 1);

    // The server shuts down: its streams end with UNAVAILABLE, then it is gone.
    await first.close();
    await eventually('user stream not ready', () => userStream()?.ready === false);
    assert.match(
      userStream()?.reason ?? '',
      new RegExp(`^user stream: disconnected from paper-venue at 127\\.0\\.0\\.1:${first.port}: UNAVAILABLE`),
    );
    assert.equal(fake.activeSubscriptions, 0, 'the server closed the port subscription');
    const attemptsWhileDown = fake.callsOf('watchUserStream').length;

    // It comes back on the same port: the client re-subscribes on its own.
    const second = open.add(await startTestPaperVenueServer({ venues: [fake], port: first.port }));
    await eventually('user stream ready again', () => userStream()?.ready === true);
    assert.equal(fake.activeSubscriptions, 1);
    assert.ok(fake.callsOf('watchUserStream').length > attemptsWhileDown);
    assert.ok(changes.some((c) => c.component === 'user stream' && !c.ready));
    assert.equal(changes.at(-1)?.ready, true);

    fake.emitUser({ kind: 'balance', balance: { ...sampleBalance(), asset: 'USDT' } });
    await eventually('an event after the re-subscribe', () => events.length === 2);
    assert.equal(events[1]?.kind === 'balance' && events[1].balance.asset, 'USDT');

    // A crash (connections cut, no status) is noticed the same way.
    await second.kill();
    await eventually('user stream not ready after a crash', () => userStream()?.ready === false);
    await sub.close();
    const attempts = fake.callsOf('watchUserStream').length;
    // Closed during backoff: no retry is pending. (That the retry is cancelled, not just
    // late, is proven without timing in shared/reconnecting-stream.unit.test.ts.)
    assert.equal(userStream(), undefined, 'a closed stream is no longer a component');
    const third = open.add(await startTestPaperVenueServer({ venues: [fake], port: first.port }));
    // Witness: a new stream subscribes to the server that is back, and it is the only one.
    const witness = await eventually('a new stream to subscribe', () =>
      venue.watchUserStream(() => {}).catch(() => undefined),
    );
    assert.equal(fake.callsOf('watchUserStream').length, attempts + 1, 'only the new stream subscribed');
    assert.equal(fake.activeSubscriptions, 1);
    await witness.close();
    await third.close();
  });

  test('a client that cannot keep up is cut off rather than buffered without bound, then re-subscribes', async () => {
    const fake = new FakeVenue({ venue: 'paper', account: 'main', apiKeyId: 'key-1' });
    const server = open.add(
      await startTestPaperVenueServer({ venues: [fake], service: { maxQueuedStreamMessages: 50 } }),
    );
    const changes: ReadinessComponent[] = [];
    const venue = open.add(
      await PaperVenueClient.connect(options(server, { onReadinessChange: (c) => changes.push(c) })),
    );
    const events: UserStreamEvent[] = [];
    const sub = await venue.watchUserStream((e) => events.push(e));
    // A burst far faster than any socket drains: the server's queue passes 50 at once.
    for (let i = 0; i < 2_000; i++) fake.emitUser({ kind: 'balance', balance: sampleBalance() });

    await eventually('the stream to be cut off', () =>
      changes.some((c) => !c.ready && /RESOURCE_EXHAUSTED \(client reads too slowly/.test(c.reason)),
    );
    assert.ok(events.length < 2_000, `only what was queued before the cut arrives (${events.length})`);
    await eventually('re-subscribed', () => changes.at(-1)?.ready === true && fake.activeSubscriptions === 1);
    await sub.close();
  });

  test('the readiness poll reports the link down and back up', async () => {
    const fake = new FakeVenue({ venue: 'paper', account: 'main', apiKeyId: 'key-1' });
    const first = await startTestPaperVenueServer({ venues: [fake] });
    const venue = open.add(
      await PaperVenueClient.connect(options(first, { readinessPollMs: 20, callTimeoutMs: 500 })),
    );
    const link = () => venue.readiness().find((c) => c.component === 'link');
    assert.equal(link()?.ready, true);
    await first.kill();
    await eventually('link down', () => link()?.ready === false);
    assert.match(link()?.reason ?? '', /cannot reach paper-venue at 127\.0\.0\.1:\d+/);
    const second = open.add(await startTestPaperVenueServer({ venues: [fake], port: first.port }));
    await eventually('link up again', () => link()?.ready === true);
    await second.close();
  });
});
