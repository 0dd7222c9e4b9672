import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { AllocateNonceOptions, NonceBlock, NonceKey } from '@perpmesh/state';
import {
  type BatchOrderOutcome,
  type PlaceOrderRequest,
  type VenueCapabilities,
  VenueNotSentError,
  type VenueOrder,
  VenueRejectedError,
  VenueUnknownOutcomeError,
} from '@perpmesh/venues';
import { acceptedVenueOrder, venueCapabilities, venueLimitRequest } from './fixtures.test-helper.js';
import { NonceSender } from './nonce-sender.js';
import { MAX_NOT_SENT_RESENDS, VenueOrderBatcher } from './venue-batcher.js';

const capabilities = (patch: Partial<VenueCapabilities> = {}): VenueCapabilities =>
  venueCapabilities({ maxBatchOrders: 50, ...patch });
const request = venueLimitRequest;
const accepted = (req: PlaceOrderRequest): VenueOrder => acceptedVenueOrder(req);

/**
 * A venue without nonces with a batch call that takes a batch's orders in order and stops at
 * the first refusal (the ones after it are not looked at), as the paper venue does.
 */
class BatchVenue {
  readonly venue = 'paper';
  capabilities = capabilities();
  /** Each call: `one <id>` or `batch <ids...>`. */
  readonly calls: string[] = [];
  /** Client ids of every order the venue placed, in order. */
  readonly placed: string[] = [];
  /** Client ids the venue refuses (once each). */
  readonly refuse = new Set<string>();
  /** What the next batch call does instead of answering. */
  nextBatch: 'answer' | 'lost' | 'throw' | 'not-sent' = 'answer';

  createOrder(req: PlaceOrderRequest): Promise<VenueOrder> {
    this.calls.push(`one ${req.clientOrderId}`);
    try {
      return Promise.resolve(this.#take(req));
    } catch (err) {
      return Promise.reject(err);
    }
  }

  createOrders?: (requests: readonly PlaceOrderRequest[]) => Promise<BatchOrderOutcome[]> = (requests) => {
    const mode = this.nextBatch;
    this.nextBatch = 'answer';
    if (mode === 'throw') throw new Error('link gone before sending');
    this.calls.push(`batch ${requests.map((r) => r.clientOrderId).join(' ')}`);
    if (mode === 'not-sent') {
      return Promise.resolve(
        requests.map(
          (): BatchOrderOutcome => ({ ok: false, error: new VenueNotSentError(this.venue, 'never') }),
        ),
      );
    }
    const outcomes: BatchOrderOutcome[] = [];
    let refused = false;
    for (const req of requests) {
      if (refused) {
        outcomes.push({
          ok: false,
          error: new VenueNotSentError(this.venue, 'an order before it was refused'),
        });
        continue;
      }
      try {
        outcomes.push({ ok: true, order: this.#take(req) });
      } catch (error) {
        refused = true;
        outcomes.push({ ok: false, error });
      }
    }
    if (mode === 'lost') return Promise.reject(new VenueUnknownOutcomeError(this.venue, 'answer timed out'));
    return Promise.resolve(outcomes);
  };

  #take(req: PlaceOrderRequest): VenueOrder {
    if (this.refuse.delete(req.clientOrderId))
      throw new VenueRejectedError(this.venue, 'insufficient_margin', 'not enough margin');
    this.placed.push(req.clientOrderId);
    return accepted(req);
  }
}

const ids = (prefix: string, n: number) => Array.from({ length: n }, (_, i) => `${prefix}${i}`);

describe('VenueOrderBatcher (orders to a venue without nonces)', () => {
  test('the orders of one turn go out in ONE createOrders call; each gets its own order', async () => {
    const venue = new BatchVenue();
    const sizes: number[] = [];
    const batcher = new VenueOrderBatcher({ onBatch: (n) => sizes.push(n) });
    const orders = await Promise.all(ids('o', 5).map((id) => batcher.send(venue, request(id))));
    assert.deepEqual(venue.calls, ['batch o0 o1 o2 o3 o4']);
    assert.deepEqual(
      orders.map((o) => o.clientOrderId),
      ids('o', 5),
    );
    assert.deepEqual(sizes, [5]);
  });

  test('a turn with one order uses createOrder; later turns form new batches', async () => {
    const venue = new BatchVenue();
    const batcher = new VenueOrderBatcher();
    await batcher.send(venue, request('a'));
    await Promise.all([batcher.send(venue, request('b')), batcher.send(venue, request('c'))]);
    assert.deepEqual(venue.calls, ['one a', 'batch b c']);
  });

  test("a turn larger than the venue's limit is split at the limit", async () => {
    const venue = new BatchVenue();
    venue.capabilities = capabilities({ maxBatchOrders: 3 });
    const batcher = new VenueOrderBatcher();
    await Promise.all(ids('o', 7).map((id) => batcher.send(venue, request(id))));
    assert.deepEqual(venue.calls, ['batch o0 o1 o2', 'batch o3 o4 o5', 'one o6']);
  });

  test('a port without a batch call, or a limit below 2, gets one createOrder per order', async () => {
    const batcher = new VenueOrderBatcher();
    const noBatchCall = new BatchVenue();
    noBatchCall.createOrders = undefined;
    await Promise.all(['a', 'b'].map((id) => batcher.send(noBatchCall, request(id))));
    assert.deepEqual(noBatchCall.calls, ['one a', 'one b']);
    const limitOne = new BatchVenue();
    limitOne.capabilities = capabilities({ maxBatchOrders: 1 });
    await Promise.all(['a', 'b'].map((id) => batcher.send(limitOne, request(id))));
    assert.deepEqual(limitOne.calls, ['one a', 'one b']);
  });

  test('a refusal in a batch is that order’s answer; the orders after it (not looked at) go in the next batch, each placed once', async () => {
    const venue = new BatchVenue();
    venue.refuse.add('o1');
    const batcher = new VenueOrderBatcher();
    const results = await Promise.allSettled(ids('o', 4).map((id) => batcher.send(venue, request(id))));
    assert.deepEqual(venue.calls, ['batch o0 o1 o2 o3', 'batch o2 o3']);
    assert.deepEqual(venue.placed, ['o0', 'o2', 'o3']);
    assert.deepEqual(
      results.map((r) => r.status),
      ['fulfilled', 'rejected', 'fulfilled', 'fulfilled'],
    );
    const refused = results[1] as PromiseRejectedResult;
    assert.ok(refused.reason instanceof VenueRejectedError);
  });

  test('a lost batch answer is each order’s answer (unknown): nothing is resent', async () => {
    const venue = new BatchVenue();
    venue.nextBatch = 'lost';
    const batcher = new VenueOrderBatcher();
    const results = await Promise.allSettled(ids('o', 3).map((id) => batcher.send(venue, request(id))));
    assert.deepEqual(venue.calls, ['batch o0 o1 o2']);
    for (const r of results) {
      assert.equal(r.status, 'rejected');
      assert.ok((r as PromiseRejectedResult).reason instanceof VenueUnknownOutcomeError);
    }
  });

  test('a batch call that throws at once fails each of its orders with that error', async () => {
    const venue = new BatchVenue();
    venue.nextBatch = 'throw';
    const batcher = new VenueOrderBatcher();
    const results = await Promise.allSettled(ids('o', 2).map((id) => batcher.send(venue, request(id))));
    assert.deepEqual(venue.calls, []);
    for (const r of results) assert.match(String((r as PromiseRejectedResult).reason), /link gone/);
  });

  test('an order passed over without end gets VenueNotSentError as its answer (bounded resends)', async () => {
    const venue = new BatchVenue();
    venue.createOrder = (req) =>
      Promise.reject(new VenueNotSentError(venue.venue, `never ${req.clientOrderId}`));
    const batcher = new VenueOrderBatcher();
    await assert.rejects(batcher.send(venue, request('a')), VenueNotSentError);
    assert.equal(venue.calls.length, 0, 'createOrder replaced: calls not recorded');
    const batched = new BatchVenue();
    let calls = 0;
    const inner = batched.createOrders as NonNullable<BatchVenue['createOrders']>;
    batched.createOrders = (requests) => {
      calls += 1;
      batched.nextBatch = 'not-sent';
      return inner(requests);
    };
    const results = await Promise.allSettled(ids('o', 2).map((id) => batcher.send(batched, request(id))));
    for (const r of results) assert.ok((r as PromiseRejectedResult).reason instanceof VenueNotSentError);
    assert.equal(calls, MAX_NOT_SENT_RESENDS + 1);
  });
});

/** NonceSender never allocates for a venue without nonces: a store that fails if asked. */
const noStore = {
  allocateNonce: (_k: NonceKey, _o?: AllocateNonceOptions): Promise<bigint> =>
    Promise.reject(new Error('asked')),
  allocateNonces: (_k: NonceKey, _n: number, _o?: AllocateNonceOptions): Promise<NonceBlock> =>
    Promise.reject(new Error('asked')),
  resyncNonce: (): Promise<bigint> => Promise.reject(new Error('asked')),
};

describe('NonceSender.send to a venue without nonces', () => {
  const port = (venue: BatchVenue) =>
    Object.assign(venue, { account: 'main', apiKeyId: 'default', fetchNextNonce: undefined });

  test('batches concurrent orders by default, each timed as a venue call', async () => {
    const venue = port(new BatchVenue());
    const stages: string[] = [];
    const sender = new NonceSender({
      state: noStore,
      nowMs: () => 0,
      staleNonceRetries: 1,
      onStage: (stage) => stages.push(stage),
    });
    await Promise.all(['a', 'b', 'c'].map((id) => sender.send(venue, request(id))));
    assert.deepEqual(venue.calls, ['batch a b c']);
    assert.deepEqual(stages, ['venue_call', 'venue_call', 'venue_call']);
  });

  test('batchVenueOrders: false sends each order with its own createOrder', async () => {
    const venue = port(new BatchVenue());
    const sender = new NonceSender({
      state: noStore,
      nowMs: () => 0,
      staleNonceRetries: 1,
      batchVenueOrders: false,
    });
    await Promise.all(['a', 'b'].map((id) => sender.send(venue, request(id))));
    assert.deepEqual(venue.calls, ['one a', 'one b']);
  });
});
