/**
 * The paper venue's batch call over gRPC: PaperVenueClient.createOrders ↔ CreateOrders ↔
 * the simulated venue (a manual-clock PaperVenueHub), on a real grpc-js server on 127.0.0.1.
 * Per-order outcomes come back as the error classes `createOrder` throws; a batch stops at
 * the venue's first refusal; an order refused before the venue does not stop the others.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { credentials, Metadata, type ServiceError, status } from '@grpc/grpc-js';
import {
  OrderType,
  PaperVenueServiceClient,
  type PaperVenueServiceCreateOrderRequest,
  type PaperVenueServiceCreateOrdersResponse,
  Side,
  TimeInForce,
} from '@perpmesh/contracts';
import { dec, ValidationError } from '@perpmesh/core';
import { eventually } from '@perpmesh/testing';
import { InsufficientMarginError, VenueNotSentError, VenueRejectedError } from '../errors.js';
import { PaperVenueHub } from '../paper/hub.js';
import { PAPER_MAX_BATCH_ORDERS } from '../paper/parse.js';
import type { BatchOrderOutcome, PlaceOrderRequest } from '../port.js';
import { PaperVenueClient } from './client.js';
import { DeferredVenuePort } from './deferred-port.js';
import { FakeVenue, startTestPaperVenueServer, type TestPaperVenueServer } from './fake-venue.test-helper.js';

const BTC = 'BTC-USDC-PERP';
let ids = 0;
const resting = (price: string, nonce?: bigint): PlaceOrderRequest => ({
  clientOrderId: `b-${++ids}`,
  instrument: BTC,
  side: 'buy',
  type: 'limit',
  timeInForce: 'gtc',
  price: dec(price),
  size: dec('0.5'),
  reduceOnly: false,
  ...(nonce === undefined ? {} : { nonce }),
});

const orderOf = (outcome: BatchOrderOutcome | undefined) => {
  assert.ok(outcome?.ok, `expected a placed order, got ${String(outcome && !outcome.ok && outcome.error)}`);
  return outcome.order;
};
const errorOf = (outcome: BatchOrderOutcome | undefined): unknown => {
  assert.ok(outcome !== undefined && !outcome.ok, 'expected a refused order');
  return outcome.error;
};

describe('the paper venue batch call over gRPC (CreateOrders)', () => {
  const hub = new PaperVenueHub({
    seed: 11,
    clock: { kind: 'manual' },
    startMs: Date.UTC(2026, 0, 1),
    accounts: [
      { venueId: 'paper-lighter', accountId: 'main', deposit: '100000', apiKeyId: '4' },
      { venueId: 'paper', accountId: 'poor', deposit: '100' },
    ],
  });
  // A port without a batch call: the server answers UNIMPLEMENTED for it.
  const noBatch = new FakeVenue({ venue: 'paper-extended', account: 'main', apiKeyId: 'k' });
  let server: TestPaperVenueServer;
  let lighter: PaperVenueClient;
  let raw: InstanceType<typeof PaperVenueServiceClient>;

  before(async () => {
    server = await startTestPaperVenueServer({
      venues: [hub.venue('paper-lighter', 'main', '4'), hub.venue('paper', 'poor'), noBatch],
    });
    lighter = await PaperVenueClient.connect({
      address: server.address,
      venue: 'paper-lighter',
      account: 'main',
      apiKeyId: '4',
      callTimeoutMs: 5_000,
      readinessPollMs: 0,
    });
    raw = new PaperVenueServiceClient(server.address, credentials.createInsecure());
  });

  after(async () => {
    raw.close();
    await lighter.close();
    await server.close();
    hub.close();
  });

  test('the capability and the method reach the client; a venue without a batch call has neither', async () => {
    assert.equal(lighter.capabilities.maxBatchOrders, PAPER_MAX_BATCH_ORDERS);
    assert.equal(typeof lighter.createOrders, 'function');
    const other = await PaperVenueClient.connect({
      address: server.address,
      venue: 'paper-extended',
      account: 'main',
      apiKeyId: 'k',
      callTimeoutMs: 5_000,
      readinessPollMs: 0,
    });
    try {
      assert.equal(other.capabilities.maxBatchOrders, undefined);
      assert.equal(other.createOrders, undefined);
    } finally {
      await other.close();
    }
  });

  test('a batch places its orders in order, one outcome each, with exact decimals and nonces', async () => {
    const requests = [resting('1000.5', 100n), resting('1001', 101n), resting('1002', 102n)];
    const outcomes = await (lighter.createOrders as NonNullable<typeof lighter.createOrders>)(requests);
    const placed = outcomes.map(orderOf);
    assert.deepEqual(
      placed.map((o) => [o.clientOrderId, o.status, o.price?.toFixed()]),
      [
        [requests[0]?.clientOrderId, 'accepted', '1000.5'],
        [requests[1]?.clientOrderId, 'accepted', '1001'],
        [requests[2]?.clientOrderId, 'accepted', '1002'],
      ],
    );
    assert.equal(await lighter.fetchNextNonce?.(), 103n);
  });

  test('a refusal inside a batch: before it placed, it refused with its class and reason, after it not sent', async () => {
    const first = resting('990', 110n);
    const stale = resting('991', 105n); // below the key's last nonce
    const rest = [resting('992', 111n), resting('993', 112n)];
    const outcomes = await (lighter.createOrders as NonNullable<typeof lighter.createOrders>)([
      first,
      stale,
      ...rest,
    ]);
    assert.equal(orderOf(outcomes[0]).status, 'accepted');
    const refused = errorOf(outcomes[1]);
    assert.ok(refused instanceof VenueRejectedError, String(refused));
    assert.equal(refused.reason, 'nonce_too_low');
    assert.equal(refused.venue, 'paper-lighter');
    for (const outcome of outcomes.slice(2)) assert.ok(errorOf(outcome) instanceof VenueNotSentError);
    const open = await lighter.fetchOpenOrders(BTC);
    for (const r of rest) assert.ok(!open.some((o) => o.clientOrderId === r.clientOrderId), 'not sent');
    assert.equal(await lighter.fetchNextNonce?.(), 111n);
  });

  test('an order that does not parse is refused on its own, naming the field; the others are placed', async () => {
    const order = (
      clientOrderId: string,
      nonce: string,
      size: string,
    ): PaperVenueServiceCreateOrderRequest => ({
      venue: '',
      account: '',
      apiKeyId: '',
      clientOrderId,
      instrument: BTC,
      side: Side.SIDE_BUY,
      type: OrderType.ORDER_TYPE_LIMIT,
      timeInForce: TimeInForce.TIME_IN_FORCE_GTC,
      price: '980',
      size,
      reduceOnly: false,
      nonce,
    });
    const { err, res } = await new Promise<{
      err: ServiceError | null;
      res: PaperVenueServiceCreateOrdersResponse | undefined;
    }>((resolve) =>
      raw.createOrders(
        {
          venue: 'paper-lighter',
          account: 'main',
          apiKeyId: '4',
          orders: [order('raw-1', '120', '0.5'), order('raw-2', '121', '-1'), order('raw-3', '122', '0.5')],
        },
        new Metadata(),
        (e, r) => resolve({ err: e, res: r }),
      ),
    );
    assert.equal(err, null);
    const cases = res?.outcomes.map((o) => o.outcome?.$case);
    assert.deepEqual(cases, ['order', 'error', 'order']);
    const refused = res?.outcomes[1]?.outcome;
    assert.ok(refused?.$case === 'error');
    assert.equal(refused.value.code, status.INVALID_ARGUMENT);
    assert.equal(refused.value.trailers['pm-field']?.toString('utf8'), 'size');
  });

  test('a venue refusal other than the nonce keeps its class (insufficient margin), through the deferred port too', async () => {
    const poor = await PaperVenueClient.connect({
      address: server.address,
      venue: 'paper',
      account: 'poor',
      apiKeyId: 'default',
      callTimeoutMs: 5_000,
      readinessPollMs: 0,
    });
    const deferred = new DeferredVenuePort(
      {
        venue: 'paper',
        account: 'poor',
        apiKeyId: 'default',
        target: `paper-venue at ${server.address}`,
        connect: async () => poor,
        retryInitialDelayMs: 10,
        retryMaxDelayMs: 10,
      },
      new Error('first connect failed'),
    );
    try {
      await eventuallyConnected(deferred);
      const createOrders = deferred.createOrders;
      assert.ok(createOrders, 'the deferred port forwards the batch call once connected');
      const big = { ...resting('50000'), size: dec('1') };
      const outcomes = await createOrders([big, resting('1000')]);
      assert.ok(errorOf(outcomes[0]) instanceof InsufficientMarginError);
      assert.ok(errorOf(outcomes[1]) instanceof VenueNotSentError);
    } finally {
      await deferred.close();
    }
  });

  test('too many orders is refused as a whole (INVALID_ARGUMENT naming requests); nothing placed', async () => {
    const before = (await lighter.fetchOpenOrders(BTC)).length;
    const tooMany = Array.from({ length: PAPER_MAX_BATCH_ORDERS + 1 }, (_, n) =>
      resting('900', 200n + BigInt(n)),
    );
    await assert.rejects(
      (lighter.createOrders as NonNullable<typeof lighter.createOrders>)(tooMany),
      (err: unknown) => err instanceof ValidationError && err.field === 'requests',
    );
    assert.equal((await lighter.fetchOpenOrders(BTC)).length, before);
  });

  test('a venue without a batch call answers UNIMPLEMENTED', async () => {
    const { err } = await new Promise<{ err: ServiceError | null }>((resolve) =>
      raw.createOrders(
        { venue: 'paper-extended', account: 'main', apiKeyId: '', orders: [] },
        new Metadata(),
        (e) => resolve({ err: e }),
      ),
    );
    assert.equal(err?.code, status.UNIMPLEMENTED);
  });
});

async function eventuallyConnected(port: DeferredVenuePort): Promise<void> {
  await eventually('the deferred port connects', () => port.connected !== undefined, { timeoutMs: 5_000 });
}
