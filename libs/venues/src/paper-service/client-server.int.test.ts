/**
 * PaperVenueClient ↔ PaperVenueService ↔ FakeVenue over a real grpc-js server on 127.0.0.1:
 * every VenuePort method round-trips with exact decimals, venue errors come back as the
 * same class, bad targets and fields are refused before the port is called, and streams
 * deliver in order and stop when closed.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { credentials, Metadata, type ServiceError, status } from '@grpc/grpc-js';
import {
  OrderType,
  PaperVenueServiceClient,
  type PaperVenueServiceCreateOrderRequest,
  Side,
  TimeInForce,
} from '@perpmesh/contracts';
import { dec, ValidationError } from '@perpmesh/core';
import { eventually } from '@perpmesh/testing';
import {
  InsufficientMarginError,
  RateLimitedError,
  VenueDisconnectedError,
  VenueError,
  VenueOrderNotFoundError,
  VenueRejectedError,
  VenueUnknownOutcomeError,
} from '../errors.js';
import type { MarketEvent, PlaceOrderRequest, UserStreamEvent } from '../port.js';
import { PaperVenueClient } from './client.js';
import {
  FAKE_CAPABILITIES,
  FakeVenue,
  HUGE,
  INSTRUMENT,
  plain,
  sampleBalance,
  sampleBook,
  sampleFill,
  sampleFunding,
  sampleMarket,
  samplePositions,
  startTestPaperVenueServer,
  T0,
  type TestPaperVenueServer,
  TINY,
} from './fake-venue.test-helper.js';

const limitOrder = (clientOrderId: string): PlaceOrderRequest => ({
  clientOrderId,
  instrument: INSTRUMENT,
  side: 'buy',
  type: 'limit',
  timeInForce: 'post_only',
  price: dec(HUGE),
  size: dec(TINY),
  reduceOnly: false,
  // Above 2^53: a number would round it.
  nonce: 9_007_199_254_740_993n,
});

function rawCall<Res>(
  invoke: (md: Metadata, cb: (err: ServiceError | null, res?: Res) => void) => void,
): Promise<{ err: ServiceError | null; res: Res | undefined }> {
  return new Promise((resolve) => invoke(new Metadata(), (err, res) => resolve({ err, res })));
}

describe('PaperVenueClient over PaperVenueService', () => {
  const paper = new FakeVenue({
    venue: 'paper',
    account: 'main',
    apiKeyId: 'key-1',
    nextNonce: 9_007_199_254_740_995n,
  });
  const lighter = new FakeVenue({
    venue: 'paper-lighter',
    account: 'main',
    apiKeyId: 'key-2',
    capabilities: { ...FAKE_CAPABILITIES, nonces: false, fok: true },
  });
  const internalErrors: Array<{ err: unknown; method: string; ref: string }> = [];
  let server: TestPaperVenueServer;
  let venue: PaperVenueClient;
  let raw: InstanceType<typeof PaperVenueServiceClient>;

  before(async () => {
    server = await startTestPaperVenueServer({
      venues: [paper, lighter],
      service: { onInternalError: (err, info) => internalErrors.push({ err, ...info }) },
    });
    venue = await PaperVenueClient.connect({
      address: server.address,
      venue: 'paper',
      account: 'main',
      apiKeyId: 'key-1',
      callTimeoutMs: 5_000,
      readinessPollMs: 0,
    });
    raw = new PaperVenueServiceClient(server.address, credentials.createInsecure());
  });

  after(async () => {
    raw.close();
    await venue.close();
    await server.close();
  });

  test('connect fills capabilities, ids and the optional fetchNextNonce from the remote port', async () => {
    assert.equal(venue.venue, 'paper');
    assert.equal(venue.account, 'main');
    assert.equal(venue.apiKeyId, 'key-1');
    assert.deepEqual(venue.capabilities, FAKE_CAPABILITIES);
    assert.equal(typeof venue.fetchNextNonce, 'function');

    const other = await PaperVenueClient.connect({
      address: server.address,
      venue: 'paper-lighter',
      account: 'main',
      apiKeyId: 'key-2',
      callTimeoutMs: 5_000,
      readinessPollMs: 0,
    });
    try {
      assert.deepEqual(other.capabilities, lighter.capabilities);
      assert.equal(other.fetchNextNonce, undefined, 'the remote port has no fetchNextNonce');
    } finally {
      await other.close();
    }
  });

  test('market reads round-trip with exact decimals', async () => {
    assert.deepEqual(plain(await venue.loadMarkets()), plain([sampleMarket()]));
    assert.deepEqual(plain(await venue.fetchOrderBook(INSTRUMENT, 25)), plain(sampleBook()));
    assert.deepEqual(paper.callsOf('fetchOrderBook').at(-1), [INSTRUMENT, 25]);
    const funding = await venue.fetchFunding([INSTRUMENT, 'ETH-USDC-PERP']);
    assert.deepEqual(plain(funding), plain([sampleFunding(INSTRUMENT), sampleFunding('ETH-USDC-PERP')]));
    // Spot-check the texts themselves, not only equality of both sides.
    const [bid] = (await venue.fetchOrderBook(INSTRUMENT, 1)).bids;
    assert.equal(bid?.price.toFixed(), HUGE);
    assert.equal(bid?.size.toFixed(), TINY);
  });

  test('account reads round-trip with exact decimals; optional fields stay absent', async () => {
    assert.deepEqual(plain(await venue.fetchBalances()), plain([sampleBalance()]));
    const positions = await venue.fetchPositions();
    assert.deepEqual(plain(positions), plain(samplePositions()));
    assert.equal('liquidationPrice' in (positions[1] ?? {}), false);
    assert.equal(positions[0]?.size.toFixed(), `-${TINY}`);
  });

  test('createOrder carries the request exactly (bigint nonce included) and returns the order', async () => {
    const request = limitOrder('c-create-1');
    const order = await venue.createOrder(request);
    const [seen] = paper.callsOf('createOrder').at(-1) as [PlaceOrderRequest];
    assert.deepEqual(plain(seen), plain(request));
    assert.deepEqual(plain(order), plain(paper.orders.get('c-create-1')));
    assert.equal(order.price?.toFixed(), HUGE);
    assert.equal('reason' in order, false);

    const market: PlaceOrderRequest = {
      clientOrderId: 'c-market-1',
      instrument: INSTRUMENT,
      side: 'sell',
      type: 'market',
      timeInForce: 'ioc',
      size: dec('1'),
      reduceOnly: true,
    };
    const m = await venue.createOrder(market);
    const [seenMarket] = paper.callsOf('createOrder').at(-1) as [PlaceOrderRequest];
    assert.deepEqual(plain(seenMarket), plain(market), 'no price and no nonce stay absent');
    assert.equal(m.price, undefined);
  });

  test('order reads, fills, cancels and the next nonce round-trip', async () => {
    const a = await venue.createOrder(limitOrder('c-read-a'));
    await venue.createOrder({ ...limitOrder('c-read-b'), instrument: 'ETH-USDC-PERP' });

    const open = await venue.fetchOpenOrders(INSTRUMENT);
    assert.deepEqual(paper.callsOf('fetchOpenOrders').at(-1), [INSTRUMENT]);
    assert.ok(open.some((o) => o.clientOrderId === 'c-read-a'));
    assert.ok(open.every((o) => o.instrument === INSTRUMENT));
    await venue.fetchOpenOrders();
    assert.deepEqual(
      paper.callsOf('fetchOpenOrders').at(-1),
      [undefined],
      'absent instrument = every instrument',
    );

    assert.deepEqual(
      plain(await venue.fetchOrder({ instrument: INSTRUMENT, venueOrderId: a.venueOrderId })),
      plain(a),
    );
    assert.deepEqual(paper.callsOf('fetchOrder').at(-1), [
      { instrument: INSTRUMENT, venueOrderId: a.venueOrderId },
    ]);
    assert.equal(await venue.fetchOrder({ instrument: INSTRUMENT, clientOrderId: 'nope' }), undefined);

    const fill = sampleFill(a);
    paper.fills.push(fill, { ...fill, tradeId: 'old', tsEventMs: T0 - 1 });
    assert.deepEqual(plain(await venue.fetchFills(T0)), plain([fill]));
    assert.deepEqual(paper.callsOf('fetchFills').at(-1), [T0]);

    const canceled = await venue.cancelOrder({ instrument: INSTRUMENT, clientOrderId: 'c-read-a' });
    assert.equal(canceled.status, 'canceled');
    assert.equal(canceled.reason, 'canceled by user');

    const all = await venue.cancelAllOrders('ETH-USDC-PERP');
    assert.deepEqual(paper.callsOf('cancelAllOrders').at(-1), ['ETH-USDC-PERP']);
    assert.deepEqual(
      all.map((o) => [o.clientOrderId, o.status]),
      [['c-read-b', 'canceled']],
    );

    assert.equal(await venue.fetchNextNonce?.(), 9_007_199_254_740_995n);
  });

  test('readiness has the link and the remote components', async () => {
    const components = await venue.refreshReadiness();
    assert.deepEqual(components[0], {
      component: 'link',
      ready: true,
      reason: `connected to paper-venue at ${server.address}`,
    });
    assert.deepEqual(components.slice(1), paper.readinessComponents);
  });

  describe('venue errors cross the wire as the same class with their fields', () => {
    const cases: Array<[string, () => VenueError, (e: VenueError) => void]> = [
      [
        'VenueRejectedError',
        () =>
          new VenueRejectedError('paper', 'post_only_would_cross', 'post-only order would cross at 64000', {
            venueMessage: 'Ordre refusé — 証拠金',
          }),
        (e) => {
          assert.ok(e instanceof VenueRejectedError);
          assert.equal(e.reason, 'post_only_would_cross');
          assert.equal(e.venueMessage, 'Ordre refusé — 証拠金');
        },
      ],
      [
        'InsufficientMarginError',
        () => new InsufficientMarginError('paper', 'needs 12.5 USDC, has 3', { venueMessage: 'margin' }),
        (e) => {
          assert.ok(e instanceof InsufficientMarginError);
          assert.equal(e.venueMessage, 'margin');
        },
      ],
      [
        'RateLimitedError',
        () => new RateLimitedError('paper', 'slow down', { retryAfterMs: 1_500 }),
        (e) => {
          assert.ok(e instanceof RateLimitedError);
          assert.equal(e.retryAfterMs, 1_500);
        },
      ],
      [
        'RateLimitedError without retryAfterMs',
        () => new RateLimitedError('paper', 'slow down'),
        (e) => {
          assert.ok(e instanceof RateLimitedError);
          assert.equal(e.retryAfterMs, undefined);
        },
      ],
      [
        'VenueUnknownOutcomeError',
        () => new VenueUnknownOutcomeError('paper', 'matching engine timed out'),
        (e) => assert.ok(e instanceof VenueUnknownOutcomeError),
      ],
      [
        'VenueDisconnectedError',
        () => new VenueDisconnectedError('paper', 'upstream socket closed'),
        (e) => assert.ok(e instanceof VenueDisconnectedError),
      ],
      [
        'VenueOrderNotFoundError',
        () => new VenueOrderNotFoundError('paper', 'no order c-x'),
        (e) => assert.ok(e instanceof VenueOrderNotFoundError),
      ],
    ];

    for (const [name, make, check] of cases) {
      test(name, async () => {
        const original = make();
        paper.failNext('createOrder', original);
        const err = await venue.createOrder(limitOrder(`c-err-${name}`)).then(
          () => assert.fail('expected an error'),
          (e: unknown) => e,
        );
        assert.ok(err instanceof VenueError, `got ${String(err)}`);
        assert.equal(err.constructor, original.constructor);
        assert.equal(err.name, original.name);
        assert.equal(err.code, original.code);
        assert.equal(err.venue, original.venue);
        assert.equal(err.message, original.message);
        assert.equal(err.venueMessage, original.venueMessage);
        check(err);
      });
    }

    test('on reads too (cancel of an unknown order → VenueOrderNotFoundError)', async () => {
      await assert.rejects(
        venue.cancelOrder({ instrument: INSTRUMENT, clientOrderId: 'never-placed' }),
        (e: unknown) => e instanceof VenueOrderNotFoundError && e.message.includes('never-placed'),
      );
    });
  });

  test('a port bug is INTERNAL with a reference id; the client never sees its message', async () => {
    paper.failNext('fetchBalances', new Error('db password=hunter2 rejected'));
    const err = await venue.fetchBalances().then(
      () => assert.fail('expected an error'),
      (e: unknown) => e,
    );
    assert.ok(err instanceof VenueDisconnectedError);
    assert.match(err.message, /INTERNAL: internal error in FetchBalances \(ref [0-9a-f-]{36}\)/);
    assert.doesNotMatch(err.message, /hunter2/);
    const logged = internalErrors.at(-1);
    assert.equal(logged?.method, 'FetchBalances');
    assert.ok(err.message.includes(logged?.ref ?? 'missing'), 'the client gets the ref the server logged');

    // A write hit by a port bug may have acted: unknown outcome, never "rejected".
    paper.failNext('createOrder', new TypeError('boom'));
    await assert.rejects(venue.createOrder(limitOrder('c-bug')), VenueUnknownOutcomeError);
  });

  test('an unknown venue or account is NOT_FOUND naming it; connect rejects', async () => {
    const { err } = await rawCall((md, cb) =>
      raw.fetchBalances({ venue: 'paper-nope', account: 'main' }, md, cb),
    );
    assert.equal(err?.code, status.NOT_FOUND);
    assert.match(err?.details ?? '', /"paper-nope"/);

    const { err: accountErr } = await rawCall((md, cb) =>
      raw.fetchBalances({ venue: 'paper', account: 'someone-else' }, md, cb),
    );
    assert.equal(accountErr?.code, status.NOT_FOUND);
    assert.match(accountErr?.details ?? '', /"someone-else"/);

    await assert.rejects(
      PaperVenueClient.connect({
        address: server.address,
        venue: 'paper-nope',
        account: 'main',
        apiKeyId: 'k',
        callTimeoutMs: 5_000,
      }),
      (e: unknown) =>
        e instanceof VenueRejectedError && e.reason === 'not_found' && /paper-nope/.test(e.message),
    );
    await assert.rejects(
      PaperVenueClient.connect({
        address: server.address,
        venue: 'paper',
        account: 'main',
        apiKeyId: 'key-of-someone-else',
        callTimeoutMs: 5_000,
      }),
      (e: unknown) => e instanceof VenueRejectedError && /key-of-someone-else/.test(e.message),
    );
  });

  test('bad fields are INVALID_ARGUMENT naming the field; the port is not called', async () => {
    const before = paper.callsOf('createOrder').length;
    const good: PaperVenueServiceCreateOrderRequest = {
      venue: 'paper',
      account: 'main',
      apiKeyId: 'key-1',
      clientOrderId: 'c-bad',
      instrument: INSTRUMENT,
      side: Side.SIDE_BUY,
      type: OrderType.ORDER_TYPE_LIMIT,
      timeInForce: TimeInForce.TIME_IN_FORCE_GTC,
      price: '100',
      size: '1',
      reduceOnly: false,
      nonce: '',
    };
    const bad: Array<[Partial<PaperVenueServiceCreateOrderRequest>, string]> = [
      [{ price: '1e' }, 'price'],
      [{ price: '' }, 'price'], // a limit order needs one
      [{ size: '0' }, 'size'],
      [{ side: Side.SIDE_UNSPECIFIED }, 'side'],
      [{ nonce: '-5' }, 'nonce'],
      [{ clientOrderId: '' }, 'clientOrderId'],
      [{ venue: '' }, 'venue'],
    ];
    for (const [patch, field] of bad) {
      const { err } = await rawCall((md, cb) => raw.createOrder({ ...good, ...patch }, md, cb));
      assert.equal(err?.code, status.INVALID_ARGUMENT, `${field}: ${err?.details}`);
      assert.ok(err?.details.startsWith(`${field}: `), `details name ${field}: ${err?.details}`);
      assert.equal(err?.metadata.get('pm-field')[0], field);
    }
    assert.equal(paper.callsOf('createOrder').length, before);

    const { err: depthErr } = await rawCall((md, cb) =>
      raw.fetchOrderBook({ venue: 'paper', account: 'main', instrument: INSTRUMENT, depth: 0 }, md, cb),
    );
    assert.equal(depthErr?.code, status.INVALID_ARGUMENT);
    assert.match(depthErr?.details ?? '', /^depth: /);

    // Through PaperVenueClient the same refusal is a ValidationError with the field.
    await assert.rejects(
      venue.fetchOrder({ instrument: INSTRUMENT }),
      (e: unknown) => e instanceof ValidationError && e.field === 'ref',
    );
  });

  describe('streams', () => {
    test('market events arrive in order; the port subscription ends when the subscription closes', async () => {
      const seen: MarketEvent[] = [];
      const sub = await venue.watchMarket([INSTRUMENT], (e) => seen.push(e));
      assert.equal(paper.activeSubscriptions, 1, 'subscribed on the port before watchMarket resolved');
      assert.deepEqual(paper.callsOf('watchMarket').at(-1), [[INSTRUMENT]]);

      const events: MarketEvent[] = [
        sampleBook(),
        {
          kind: 'delta',
          instrument: INSTRUMENT,
          seq: 43,
          prevSeq: 42,
          bids: [{ price: dec(HUGE), size: dec(0) }],
          asks: [],
          tsEventMs: T0 + 1,
        },
        {
          kind: 'delta',
          instrument: INSTRUMENT,
          seq: 45,
          firstSeq: 44,
          bids: [],
          asks: [{ price: dec('123456790.000000001'), size: dec(TINY) }],
          tsEventMs: T0 + 2,
        },
        {
          kind: 'trade',
          instrument: INSTRUMENT,
          tradeId: 'tr-1',
          price: dec(HUGE),
          size: dec(TINY),
          takerSide: 'sell',
          tsEventMs: T0 + 3,
        },
        sampleFunding(),
      ];
      for (let i = 0; i < 50; i++) {
        for (const e of events) paper.emitMarket(e.kind === 'trade' ? { ...e, tradeId: `tr-${i}` } : e);
      }
      await eventually('all 250 market events', () => seen.length === 250);
      const expected = Array.from({ length: 50 }, (_, i) =>
        events.map((e) => (e.kind === 'trade' ? { ...e, tradeId: `tr-${i}` } : e)),
      ).flat();
      assert.deepEqual(plain(seen), plain(expected));

      assert.equal(venue.readiness().find((c) => c.component === 'market stream')?.ready, true);
      await sub.close();
      await eventually('the port subscription to close', () => paper.activeSubscriptions === 0);
      // A witness subscription gets the next event; by then the closed one would have too.
      const witness: MarketEvent[] = [];
      const witnessSub = await venue.watchMarket([INSTRUMENT], (e) => witness.push(e));
      paper.emitMarket(sampleBook());
      await eventually('the event on the witness subscription', () => witness.length === 1);
      assert.equal(seen.length, 250, 'nothing after close');
      await witnessSub.close();
      assert.equal(
        venue.readiness().some((c) => c.component.startsWith('market stream')),
        false,
        'a closed stream is no longer a component',
      );
    });

    test('events the port sends while subscribing (a first snapshot) arrive first', async () => {
      paper.snapshotOnWatch = true;
      try {
        const seen: MarketEvent[] = [];
        const sub = await venue.watchMarket([INSTRUMENT, 'ETH-USDC-PERP'], (e) => seen.push(e));
        paper.emitMarket({ ...sampleFunding(), tsEventMs: T0 + 99 });
        await eventually('two snapshots and a funding update', () => seen.length === 3);
        assert.deepEqual(
          seen.map((e) => [e.kind, e.instrument]),
          [
            ['snapshot', INSTRUMENT],
            ['snapshot', 'ETH-USDC-PERP'],
            ['funding', INSTRUMENT],
          ],
        );
        await sub.close();
        await eventually('the port subscription to close', () => paper.activeSubscriptions === 0);
      } finally {
        paper.snapshotOnWatch = false;
      }
    });

    test('user stream events of every kind arrive in order and stop on close', async () => {
      const seen: UserStreamEvent[] = [];
      const sub = await venue.watchUserStream((e) => seen.push(e));
      const order = await venue.createOrder(limitOrder('c-stream-1')); // the fake emits the order
      const events: UserStreamEvent[] = [
        { kind: 'fill', fill: sampleFill(order) },
        { kind: 'balance', balance: sampleBalance() },
        { kind: 'position', position: samplePositions()[0]! },
        { kind: 'position', position: samplePositions()[1]! },
        {
          kind: 'funding_payment',
          payment: {
            instrument: INSTRUMENT,
            amount: dec(`-${TINY}`),
            rate: dec('0.0000125'),
            positionSize: dec(HUGE),
            markPrice: dec('64000.5'),
            tsEventMs: T0 + 9,
          },
        },
      ];
      for (const e of events) paper.emitUser(e);
      await eventually('six user events', () => seen.length === 6);
      assert.deepEqual(plain(seen), plain([{ kind: 'order', order }, ...events]));

      await sub.close();
      await eventually('the port subscription to close', () => paper.activeSubscriptions === 0);
      // A witness subscription gets the next event; by then the closed one would have too.
      const witness: UserStreamEvent[] = [];
      const witnessSub = await venue.watchUserStream((e) => witness.push(e));
      paper.emitUser(events[1]!);
      await eventually('the event on the witness subscription', () => witness.length === 1);
      assert.equal(seen.length, 6, 'nothing after close');
      await witnessSub.close();
    });

    test('a refused first subscribe rejects with the mapped error and leaves nothing behind', async () => {
      paper.failNext(
        'watchMarket',
        new VenueRejectedError('paper', 'unknown_instrument', 'no market DOGE-USDC-PERP'),
      );
      await assert.rejects(
        venue.watchMarket(['DOGE-USDC-PERP'], () => {}),
        (e: unknown) => e instanceof VenueRejectedError && e.reason === 'unknown_instrument',
      );
      await assert.rejects(
        venue.watchMarket([''], () => {}),
        (e: unknown) => e instanceof ValidationError && e.field === 'instruments[0]',
      );
      assert.equal(
        venue.readiness().some((c) => c.component.startsWith('market stream')),
        false,
      );
      assert.equal(paper.activeSubscriptions, 0);
    });
  });
});
