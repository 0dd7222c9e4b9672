import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { dec, evolveOrder, type OrderStatus } from '@perpmesh/core';
import {
  type OrderRef,
  VenueDisconnectedError,
  type VenueOrder,
  VenueOrderNotFoundError,
  VenueUnknownOutcomeError,
} from '@perpmesh/venues';
import { limitOrderRequest } from './fixtures.test-helper.js';
import { newTrackedOrder, type TrackedOrder } from './orders.js';
import {
  fetchedOrderVerdict,
  fetchVenueOrder,
  matchOpenOrders,
  openOrdersNotListed,
  orderRefOf,
  reconcileOrders,
} from './reconciliation.js';

const T0 = 1_700_000_000_000;

function order(clientOrderId: string, venueOrderId?: string): TrackedOrder {
  const o = newTrackedOrder(limitOrderRequest(clientOrderId), '', T0, 'USDC');
  if (venueOrderId) o.state = evolveOrder(o.state, { kind: 'accepted', venueOrderId, tsEventMs: T0 + 1 });
  return o;
}

function venueOrder(
  clientOrderId: string,
  venueOrderId: string,
  status: OrderStatus = 'accepted',
): VenueOrder {
  return {
    clientOrderId,
    venueOrderId,
    instrument: 'BTC-USDC-PERP',
    side: 'buy',
    type: 'limit',
    timeInForce: 'gtc',
    price: dec('60000'),
    size: dec('0.01'),
    filled: dec('0'),
    status,
    reduceOnly: false,
    tsEventMs: T0 + 5,
  };
}

function finder(orders: TrackedOrder[]) {
  return (ids: { clientOrderId: string; venueOrderId?: string | undefined }) =>
    orders.find(
      (o) =>
        (ids.clientOrderId && o.state.clientOrderId === ids.clientOrderId) ||
        (ids.venueOrderId && o.state.venueOrderId === ids.venueOrderId),
    );
}

describe('reconciliation (pure)', () => {
  test('the venue open orders are matched to ours by client or venue order id; the rest is unknown to us', () => {
    const a = order('a', 'va');
    const b = order('b', 'vb');
    const c = order('c');
    const venue = [venueOrder('a', 'va'), venueOrder('', 'vb'), venueOrder('x', 'vx')];
    const { matched, unknownAtVenue } = matchOpenOrders(venue, finder([a, b, c]));
    assert.deepEqual(
      matched.map((m) => [m.order.state.clientOrderId, m.venueOrder.venueOrderId]),
      [
        ['a', 'va'],
        ['b', 'vb'],
      ],
    );
    assert.deepEqual(
      unknownAtVenue.map((v) => v.venueOrderId),
      ['vx'],
    );
    assert.deepEqual(openOrdersNotListed([a, b, c], new Set(matched.map((m) => m.order))), [c]);
  });

  test('what the answer about one order means', () => {
    const vo = venueOrder('a', 'va', 'canceled');
    assert.deepEqual(fetchedOrderVerdict({ status: 'accepted' }, vo), { kind: 'apply', venueOrder: vo });
    assert.deepEqual(fetchedOrderVerdict({ status: 'submitted' }, undefined), { kind: 'resolve_placement' });
    for (const status of ['accepted', 'partially_filled', 'cancel_requested'] as const)
      assert.deepEqual(fetchedOrderVerdict({ status }, undefined), { kind: 'missing_at_venue' }, status);
  });

  test('an order is asked about by venue order id too when known', () => {
    assert.deepEqual(orderRefOf(order('a')), { instrument: 'BTC-USDC-PERP', clientOrderId: 'a' });
    assert.deepEqual(orderRefOf(order('a', 'va')), {
      instrument: 'BTC-USDC-PERP',
      clientOrderId: 'a',
      venueOrderId: 'va',
    });
  });
});

describe('fetchVenueOrder: only "no such order" is not found', () => {
  const ref: OrderRef = { instrument: 'BTC-USDC-PERP', clientOrderId: 'a' };
  const port = (answer: () => Promise<VenueOrder | undefined>) => ({ fetchOrder: answer });

  test('the venue answer, undefined, or VenueOrderNotFoundError', async () => {
    const vo = venueOrder('a', 'va');
    assert.equal(
      await fetchVenueOrder(
        port(async () => vo),
        ref,
      ),
      vo,
    );
    assert.equal(
      await fetchVenueOrder(
        port(async () => undefined),
        ref,
      ),
      undefined,
    );
    assert.equal(
      await fetchVenueOrder(
        port(async () => {
          throw new VenueOrderNotFoundError('paper', 'no such order');
        }),
        ref,
      ),
      undefined,
    );
  });

  test('a timeout, a disconnect or any other failure is thrown, not "not found"', async () => {
    for (const err of [
      new VenueUnknownOutcomeError('paper', 'timed out'),
      new VenueDisconnectedError('paper', 'link down'),
      new Error('socket hang up'),
    ]) {
      await assert.rejects(
        fetchVenueOrder(
          port(async () => {
            throw err;
          }),
          ref,
        ),
        (thrown: unknown) => thrown === err,
      );
    }
  });
});

describe('reconcileOrders (I/O wrapper over fakes)', () => {
  function setup(opts: { open: VenueOrder[]; fetch: (ref: OrderRef) => Promise<VenueOrder | undefined> }) {
    const ours = [order('listed', 'v1'), order('gone', 'v2'), order('inflight'), order('missing', 'v4')];
    const applied: [string, string][] = [];
    const resolving: string[] = [];
    const drift: [string, string][] = [];
    const fetched: OrderRef[] = [];
    const io = {
      port: {
        fetchOpenOrders: async () => opts.open,
        fetchOrder: async (ref: OrderRef) => {
          fetched.push(ref);
          return opts.fetch(ref);
        },
      },
      find: finder(ours),
      localOpen: () => ours,
      applyVenueOrder: async (o: TrackedOrder, vo: VenueOrder) => {
        applied.push([o.state.clientOrderId, vo.status]);
      },
      resolvePlacement: (o: TrackedOrder) => resolving.push(o.state.clientOrderId),
      drift: (kind: string, detail: { clientOrderId: string; venueOrderId?: string }) =>
        drift.push([kind, detail.venueOrderId ?? detail.clientOrderId]),
    };
    return { io, applied, resolving, drift, fetched };
  }

  test('listed orders applied, the others asked about one by one, differences reported', async () => {
    const { io, applied, resolving, drift, fetched } = setup({
      open: [venueOrder('listed', 'v1'), venueOrder('stranger', 'v9')],
      fetch: async (ref) => (ref.clientOrderId === 'gone' ? venueOrder('gone', 'v2', 'filled') : undefined),
    });
    const result = await reconcileOrders(io);
    assert.deepEqual(result, { openAtVenue: 2, unknownAtVenue: 1 });
    assert.deepEqual(applied, [
      ['listed', 'accepted'],
      ['gone', 'filled'],
    ]);
    assert.deepEqual(resolving, ['inflight']);
    assert.deepEqual(drift, [
      ['unknown_venue_order', 'v9'],
      ['missing_at_venue', 'missing'],
    ]);
    assert.deepEqual(
      fetched.map((r) => r.clientOrderId),
      ['gone', 'inflight', 'missing'],
    );
    assert.equal(fetched[0]!.venueOrderId, 'v2');
  });

  test('a failed fetchOrder fails the run: no order is taken for missing', async () => {
    const { io, resolving, drift } = setup({
      open: [],
      fetch: async () => {
        throw new VenueDisconnectedError('paper', 'link down');
      },
    });
    await assert.rejects(reconcileOrders(io), VenueDisconnectedError);
    assert.deepEqual(resolving, []);
    assert.deepEqual(drift, []);
  });
});
