import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { AllocateNonceOptions, NonceBlock, NonceKey } from '@perpmesh/state';
import { eventually } from '@perpmesh/testing';
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
import {
  isStaleNonceRejection,
  MAX_NONCE_BATCH,
  NonceSender,
  NotSentError,
  type SendingPort,
} from './nonce-sender.js';

const T0 = 1_700_000_000_000;

const capabilities = (patch: Partial<VenueCapabilities> = {}): VenueCapabilities =>
  venueCapabilities({ nonces: true, ...patch });
const request = venueLimitRequest;
const accepted = (req: PlaceOrderRequest): VenueOrder => acceptedVenueOrder(req, T0);

/** A nonce counter whose allocations answer after `delays` (ms, in call order): a slow store. */
class FakeNonceStore {
  next = 1n;
  /** Every nonce handed out, in order. */
  readonly allocations: bigint[] = [];
  /** How many nonces each allocation call took (one store round trip each). */
  readonly blocks: number[] = [];
  readonly resyncs: bigint[] = [];
  delays: number[] = [];
  failAllocation = false;

  async allocateNonce(key: NonceKey, options: AllocateNonceOptions = {}): Promise<bigint> {
    return (await this.allocateNonces(key, 1, options)).first;
  }

  async allocateNonces(
    _key: NonceKey,
    count: number,
    options: AllocateNonceOptions = {},
  ): Promise<NonceBlock> {
    if (this.failAllocation) throw new Error('store down');
    let first = this.next;
    if (options.floor !== undefined && options.floor > first) first = options.floor;
    this.next = first + BigInt(count);
    for (let n = 0n; n < BigInt(count); n++) this.allocations.push(first + n);
    this.blocks.push(count);
    const delay = this.delays.shift() ?? 0;
    if (delay > 0) await new Promise((resolve) => setTimeout(resolve, delay));
    return { first, last: first + BigInt(count) - 1n, count };
  }

  async resyncNonce(_key: NonceKey, venueNextNonce: bigint): Promise<bigint> {
    this.resyncs.push(venueNextNonce);
    if (venueNextNonce > this.next) this.next = venueNextNonce;
    return this.next;
  }
}

/** A strict-nonce venue: refuses a nonce not above the last one it took, as stale. */
class StrictNonceVenue implements SendingPort {
  readonly venue = 'strict';
  readonly account = 'main';
  readonly apiKeyId = 'k1';
  capabilities = capabilities();
  last = 0n;
  readonly received: { clientOrderId: string; nonce: bigint | undefined }[] = [];
  /** Nonces the venue says were taken already (another replica got there first). */
  staleRefusals = 0;
  fetchNextNonce?: () => Promise<bigint> = async () => this.last + 1n;

  createOrder(req: PlaceOrderRequest): Promise<VenueOrder> {
    try {
      return Promise.resolve(this.take(req));
    } catch (err) {
      return Promise.reject(err);
    }
  }

  /** The venue's handling of one order, at once (a batch takes its orders without interleaving). */
  take(req: PlaceOrderRequest): VenueOrder {
    this.received.push({ clientOrderId: req.clientOrderId, nonce: req.nonce });
    if (req.nonce !== undefined) {
      if (this.staleRefusals > 0) {
        this.staleRefusals -= 1;
        this.last += 10n; // another replica's orders moved the venue's counter on
        throw new VenueRejectedError(this.venue, 'invalid_nonce', 'nonce too low');
      }
      if (req.nonce <= this.last) throw new VenueRejectedError(this.venue, 'invalid_nonce', 'nonce too low');
      this.last = req.nonce;
    }
    return accepted(req);
  }
}

/**
 * A strict-nonce venue with a batch call: it takes a batch's orders in order and stops at the
 * first refusal (that order gets it, the ones after it are not looked at), as Lighter does.
 */
class BatchVenue extends StrictNonceVenue {
  override capabilities = capabilities({ maxBatchOrders: 50 });
  /** The size of every batch call. */
  readonly batchSizes: number[] = [];
  /** Every order placed, by client id. */
  readonly placed: string[] = [];
  /** Batches whose answer is lost (the venue took them). */
  lostAnswers = 0;
  /** While set, a batch call answers only when it resolves (a slow venue). */
  gate: Promise<void> | undefined;

  override take(req: PlaceOrderRequest): VenueOrder {
    const order = super.take(req);
    this.placed.push(req.clientOrderId);
    return order;
  }

  async createOrders(requests: readonly PlaceOrderRequest[]): Promise<BatchOrderOutcome[]> {
    this.batchSizes.push(requests.length);
    const outcomes: BatchOrderOutcome[] = [];
    let stopped = false;
    for (const req of requests) {
      if (stopped) {
        outcomes.push({ ok: false, error: new VenueNotSentError(this.venue, 'not looked at') });
        continue;
      }
      try {
        outcomes.push({ ok: true, order: this.take(req) });
      } catch (error) {
        stopped = true;
        outcomes.push({ ok: false, error });
      }
    }
    if (this.gate !== undefined) await this.gate;
    if (this.lostAnswers > 0) {
      this.lostAnswers -= 1;
      return requests.map(() => ({
        ok: false,
        error: new VenueUnknownOutcomeError(this.venue, 'timed out'),
      }));
    }
    return outcomes;
  }
}

function sender(store: FakeNonceStore, staleNonceRetries = 5, stale: number[] = []) {
  return new NonceSender({
    state: store,
    nowMs: () => T0,
    staleNonceRetries,
    onStaleNonce: (_port, attempt) => stale.push(attempt),
  });
}

describe('NonceSender', () => {
  test('a venue without nonces gets the request as is', async () => {
    const store = new FakeNonceStore();
    const venue = new StrictNonceVenue();
    venue.capabilities = capabilities({ nonces: false });
    const order = await sender(store).send(venue, request('a'));
    assert.equal(order.status, 'accepted');
    assert.deepEqual(venue.received, [{ clientOrderId: 'a', nonce: undefined }]);
    assert.deepEqual(store.allocations, []);
  });

  test('orders and other signed actions (cancels) share the one sequence of the key, in order', async () => {
    const store = new FakeNonceStore();
    store.delays = [20, 0, 10, 0];
    const venue = new StrictNonceVenue();
    const s = sender(store);
    const signed: bigint[] = [];
    // A cancel is signed like an order: the venue checks its nonce against the same counter.
    const cancel = () =>
      s.sign(venue, async (nonce) => {
        assert.ok(nonce !== undefined);
        if (nonce <= venue.last) throw new VenueRejectedError(venue.venue, 'invalid_nonce', 'nonce too low');
        venue.last = nonce;
        signed.push(nonce);
        return 'canceled';
      });
    const results = await Promise.all([
      s.send(venue, request('a')),
      cancel(),
      s.send(venue, request('b')),
      cancel(),
    ]);
    assert.deepEqual(
      results.map((r) => (typeof r === 'string' ? r : r.status)),
      ['accepted', 'canceled', 'accepted', 'canceled'],
    );
    assert.deepEqual(store.allocations, [1n, 2n, 3n, 4n]);
    assert.deepEqual(signed, [2n, 4n]);
    assert.deepEqual(
      venue.received.map((r) => r.nonce),
      [1n, 3n],
    );
  });

  test('sign on a venue without nonces runs the action with none', async () => {
    const store = new FakeNonceStore();
    const venue = new StrictNonceVenue();
    venue.capabilities = capabilities({ nonces: false });
    assert.equal(await sender(store).sign(venue, async (nonce) => nonce), undefined);
    assert.deepEqual(store.allocations, []);
  });

  test('concurrent sends reach the venue in nonce order, however slow each allocation', async () => {
    const store = new FakeNonceStore();
    // The first allocations answer last: without the per-key lock, later nonces overtake.
    store.delays = [30, 20, 10, 0, 0];
    const venue = new StrictNonceVenue();
    const s = sender(store);
    const results = await Promise.all(['a', 'b', 'c', 'd', 'e'].map((id) => s.send(venue, request(id))));
    assert.deepEqual(
      results.map((r) => r.status),
      ['accepted', 'accepted', 'accepted', 'accepted', 'accepted'],
    );
    const nonces = venue.received.map((r) => r.nonce!);
    assert.deepEqual(
      nonces,
      [...nonces].sort((x, y) => (x < y ? -1 : 1)),
    );
    assert.deepEqual(nonces, [1n, 2n, 3n, 4n, 5n]);
  });

  test('the lock is released when the request is handed over, not when the venue answers', async () => {
    const store = new FakeNonceStore();
    const venue = new StrictNonceVenue();
    const answers: ((o: VenueOrder) => void)[] = [];
    const slow: SendingPort = {
      ...venue,
      capabilities: venue.capabilities,
      createOrder: (req) => {
        venue.received.push({ clientOrderId: req.clientOrderId, nonce: req.nonce });
        return new Promise((resolve) => answers.push(() => resolve(accepted(req))));
      },
    };
    const s = sender(store);
    const first = s.send(slow, request('a'));
    const second = s.send(slow, request('b'));
    // Both handed over while neither is answered.
    await eventually('both orders at the venue, neither answered', () => venue.received.length === 2);
    for (const answer of answers) answer(accepted(request('x')));
    await Promise.all([first, second]);
  });

  test('requests queued during an allocation share ONE block allocation, handed over in nonce order', async () => {
    const store = new FakeNonceStore();
    store.delays = [20];
    const venue = new StrictNonceVenue();
    const s = sender(store);
    const ids = Array.from({ length: 10 }, (_, n) => `o${n}`);
    const results = await Promise.all(ids.map((id) => s.send(venue, request(id))));
    assert.ok(results.every((r) => r.status === 'accepted'));
    // The first allocates alone; the nine that queued meanwhile take one block.
    assert.deepEqual(store.blocks, [1, 9]);
    assert.deepEqual(
      venue.received.map((r) => [r.clientOrderId, r.nonce]),
      ids.map((id, n) => [id, BigInt(n + 1)]),
    );
  });

  test('a block serves at most MAX_NONCE_BATCH requests', async () => {
    const store = new FakeNonceStore();
    store.delays = [10];
    const venue = new StrictNonceVenue();
    const s = sender(store);
    const total = MAX_NONCE_BATCH + 6;
    await Promise.all(Array.from({ length: total }, (_, n) => s.send(venue, request(`o${n}`))));
    assert.deepEqual(store.blocks, [1, MAX_NONCE_BATCH, 5]);
    assert.deepEqual(
      venue.received.map((r) => r.nonce),
      Array.from({ length: total }, (_, n) => BigInt(n + 1)),
    );
  });

  test('a failed block allocation fails every request of the block as not sent; the next ones go on', async () => {
    const store = new FakeNonceStore();
    store.delays = [20];
    const venue = new StrictNonceVenue();
    const s = sender(store);
    const first = s.send(venue, request('a'));
    const queued = [s.send(venue, request('b')), s.send(venue, request('c'))];
    store.failAllocation = true;
    assert.equal((await first).status, 'accepted');
    for (const q of queued) await assert.rejects(q, NotSentError);
    assert.deepEqual(
      venue.received.map((r) => r.clientOrderId),
      ['a'],
    );
    store.failAllocation = false;
    assert.equal((await s.send(venue, request('d'))).status, 'accepted');
    assert.deepEqual(venue.received.at(-1), { clientOrderId: 'd', nonce: 2n });
  });

  test('the nonce floor is the clock when the venue wants time-based nonces', async () => {
    const store = new FakeNonceStore();
    const venue = new StrictNonceVenue();
    venue.capabilities = capabilities({ nonceFloorIsTimeMs: true });
    await sender(store).send(venue, request('a'));
    assert.deepEqual(store.allocations, [BigInt(T0)]);
  });

  test('a stale nonce: resync from the venue and resend with a fresh one (the order was not placed)', async () => {
    const store = new FakeNonceStore();
    const venue = new StrictNonceVenue();
    venue.staleRefusals = 2;
    const stale: number[] = [];
    const order = await sender(store, 5, stale).send(venue, request('a'));
    assert.equal(order.status, 'accepted');
    assert.equal(venue.received.length, 3);
    assert.deepEqual(stale, [1, 2]);
    assert.deepEqual(store.resyncs, [11n, 21n]);
    assert.equal(venue.received[2]!.nonce, 21n);
  });

  test('stale-nonce resends are bounded by staleNonceRetries; then the refusal is the answer', async () => {
    const store = new FakeNonceStore();
    const venue = new StrictNonceVenue();
    venue.staleRefusals = 100;
    await assert.rejects(sender(store, 3).send(venue, request('a')), (err: unknown) => {
      assert.ok(isStaleNonceRejection(err));
      return true;
    });
    assert.equal(venue.received.length, 4, 'the first send and 3 resends');
  });

  test('another refusal is not retried', async () => {
    const store = new FakeNonceStore();
    const venue = new StrictNonceVenue();
    const refusing: SendingPort = {
      ...venue,
      capabilities: venue.capabilities,
      createOrder: async () => {
        throw new VenueRejectedError('strict', 'post_only_would_cross', 'would cross');
      },
    };
    await assert.rejects(sender(store).send(refusing, request('a')), VenueRejectedError);
    assert.deepEqual(store.resyncs, []);
    assert.equal(isStaleNonceRejection(new VenueRejectedError('x', 'post_only_would_cross', 'm')), false);
  });

  test('no nonce, nothing sent: NotSentError', async () => {
    const store = new FakeNonceStore();
    store.failAllocation = true;
    const venue = new StrictNonceVenue();
    await assert.rejects(sender(store).send(venue, request('a')), NotSentError);
    assert.deepEqual(venue.received, []);

    const ok = new FakeNonceStore();
    const cannotResync = new StrictNonceVenue();
    cannotResync.staleRefusals = 1;
    cannotResync.fetchNextNonce = async () => {
      throw new Error('venue unreachable');
    };
    await assert.rejects(sender(ok).send(cannotResync, request('b')), (err: unknown) => {
      assert.ok(err instanceof NotSentError);
      assert.match(err.message, /next nonce: venue unreachable/);
      return true;
    });
    assert.equal(cannotResync.received.length, 1, 'not resent without a resync');
  });
});

describe('NonceSender with a venue batch call (capabilities.maxBatchOrders)', () => {
  test('orders queued together go out in ONE batch call, in nonce order, each with its own outcome', async () => {
    const store = new FakeNonceStore();
    store.delays = [20];
    const venue = new BatchVenue();
    const s = sender(store);
    const ids = Array.from({ length: 10 }, (_, n) => `o${n}`);
    const results = await Promise.all(ids.map((id) => s.send(venue, request(id))));
    assert.deepEqual(
      results.map((r) => r.clientOrderId),
      ids,
    );
    // The first goes alone (nothing queued with it); the nine that queued meanwhile share a call.
    assert.deepEqual(venue.batchSizes, [9]);
    assert.deepEqual(
      venue.received.map((r) => [r.clientOrderId, r.nonce]),
      ids.map((id, n) => [id, BigInt(n + 1)]),
    );
    assert.deepEqual(venue.placed, ids);
  });

  test("a batch holds at most the venue's limit; a lone order goes by createOrder", async () => {
    const store = new FakeNonceStore();
    store.delays = [20];
    const venue = new BatchVenue();
    venue.capabilities = capabilities({ maxBatchOrders: 4 });
    const s = sender(store);
    await Promise.all(Array.from({ length: 10 }, (_, n) => s.send(venue, request(`o${n}`))));
    // The first goes alone; the nine queued meanwhile: 4 + 4 in batches, the last one alone.
    assert.deepEqual(venue.batchSizes, [4, 4]);
    assert.equal(venue.placed.length, 10);
  });

  test('cancels (other signed actions) are not batched: they keep their place between the orders', async () => {
    const store = new FakeNonceStore();
    store.delays = [20];
    const venue = new BatchVenue();
    const s = sender(store);
    const signed: bigint[] = [];
    const cancel = () =>
      s.sign(venue, async (nonce) => {
        signed.push(nonce as bigint);
        venue.last = nonce as bigint;
        return 'canceled';
      });
    await Promise.all([
      s.send(venue, request('first')),
      s.send(venue, request('a')),
      s.send(venue, request('b')),
      cancel(),
      s.send(venue, request('c')),
      s.send(venue, request('d')),
    ]);
    assert.deepEqual(venue.batchSizes, [2, 2]);
    assert.deepEqual(signed, [4n]);
    assert.deepEqual(
      venue.received.map((r) => r.nonce),
      [1n, 2n, 3n, 5n, 6n],
    );
  });

  test('a stale nonce in a batch: only that order resyncs; the ones after it (not looked at) are sent again; each placed once', async () => {
    const store = new FakeNonceStore();
    store.delays = [20];
    const venue = new BatchVenue();
    const stale: number[] = [];
    const s = sender(store, 5, stale);
    const ids = Array.from({ length: 8 }, (_, n) => `o${n}`);
    const first = s.send(venue, request('first'));
    await eventually('the first order at the venue', () => venue.received.length === 1);
    // Another replica moves the key's counter on before the batch arrives.
    venue.staleRefusals = 1;
    const results = await Promise.all([first, ...ids.map((id) => s.send(venue, request(id)))]);
    assert.ok(results.every((r) => r.status === 'accepted'));
    assert.deepEqual([...venue.placed].sort(), ['first', ...ids].sort(), 'every order placed once');
    assert.ok(stale.length >= 1 && store.resyncs.length === stale.length, 'resyncs only for refused orders');
    assert.ok(venue.batchSizes.length >= 2, `the passed-over orders went again (${venue.batchSizes})`);
    const nonces = venue.received.map((r) => r.nonce as bigint);
    assert.equal(new Set(nonces.map(String)).size, nonces.length, 'no nonce sent twice');
  });

  test("a lost batch answer is each order's answer: unknown, nothing resent", async () => {
    const store = new FakeNonceStore();
    store.delays = [20];
    const venue = new BatchVenue();
    venue.lostAnswers = 1;
    const s = sender(store);
    const first = s.send(venue, request('first'));
    const batched = ['a', 'b', 'c'].map((id) => s.send(venue, request(id)));
    assert.equal((await first).status, 'accepted');
    for (const b of batched) await assert.rejects(b, VenueUnknownOutcomeError);
    assert.deepEqual(venue.batchSizes, [3]);
    assert.equal(venue.received.length, 4, 'nothing resent');
  });

  test('a batch call that throws fails each of its orders with that error', async () => {
    const store = new FakeNonceStore();
    store.delays = [20];
    const venue = new BatchVenue();
    venue.createOrders = async () => {
      throw new VenueUnknownOutcomeError('strict', 'connection lost');
    };
    const s = sender(store);
    const first = s.send(venue, request('first'));
    const batched = ['a', 'b'].map((id) => s.send(venue, request(id)));
    await first;
    for (const b of batched) await assert.rejects(b, /connection lost/);
  });
  test('while a batch call is in flight, the orders that arrive wait and form the next batch', async () => {
    const store = new FakeNonceStore();
    store.delays = [20];
    const venue = new BatchVenue();
    let open!: () => void;
    venue.gate = new Promise((resolve) => {
      open = resolve;
    });
    const s = sender(store);
    const first = s.send(venue, request('first'));
    const early = ['a', 'b', 'c'].map((id) => s.send(venue, request(id)));
    await eventually('the first batch at the venue', () => venue.batchSizes.length === 1);
    const late = ['d', 'e', 'f', 'g', 'h'].map((id) => s.send(venue, request(id)));
    // Nothing of the late ones leaves while the batch is unanswered (they would go one by one).
    await new Promise((resolve) => setImmediate(resolve));
    assert.deepEqual(venue.batchSizes, [3]);
    assert.equal(venue.received.length, 4);
    open();
    await Promise.all([first, ...early, ...late]);
    assert.deepEqual(venue.batchSizes, [3, 5]);
  });
});
