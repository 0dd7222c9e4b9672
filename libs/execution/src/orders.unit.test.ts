import assert from 'node:assert/strict';
import { afterEach, beforeEach, describe, test } from 'node:test';
import { dec, evolveOrder } from '@perpmesh/core';
import { newTrackedOrder, OrderTable, type TrackedOrder } from './orders.js';

/** An order of `paper/main` created at `atMs`; rejected (finished) at `finishedAtMs` when given. */
function order(clientOrderId: string, atMs: number, finishedAtMs?: number): TrackedOrder {
  const tracked = newTrackedOrder(
    {
      clientOrderId,
      venue: 'paper',
      account: 'main',
      instrument: 'ETH-USDC-PERP',
      side: 'buy',
      type: 'market',
      timeInForce: 'ioc',
      size: dec('0.01'),
      reduceOnly: false,
    },
    '',
    atMs,
    'USDC',
  );
  if (finishedAtMs !== undefined)
    tracked.state = evolveOrder(tracked.state, { kind: 'rejected', reason: 'test', tsEventMs: finishedAtMs });
  return tracked;
}

function ids(table: OrderTable): string[] {
  return table.all().map((o) => o.state.clientOrderId);
}

describe('OrderTable.pruneTerminal', () => {
  test('without a count bound only the time bound drops finished orders', () => {
    const table = new OrderTable();
    for (let i = 0; i < 10; i++) table.add(order(`f${i}`, 1_000 + i, 2_000 + i));
    assert.equal(table.pruneTerminal(2_005), 5);
    assert.deepEqual(ids(table), ['f5', 'f6', 'f7', 'f8', 'f9']);
  });

  test('the count bound drops the oldest finished orders beyond max; open and recent ones stay', () => {
    const table = new OrderTable();
    table.add(order('open-old', 0));
    for (let i = 0; i < 8; i++) table.add(order(`f${i}`, 1_000 + i, 2_000 + i));
    table.add(order('open-new', 3_000));
    // Max 3 finished; f6 and f7 changed after 2_006 are recent: they would stay even past max.
    const pruned = table.pruneTerminal(0, { max: 3, changedBeforeMs: 2_006 });
    assert.equal(pruned, 5);
    assert.deepEqual(ids(table), ['open-old', 'f5', 'f6', 'f7', 'open-new']);
    // Nothing recent: down to max.
    assert.equal(table.pruneTerminal(0, { max: 1, changedBeforeMs: 10_000 }), 2);
    assert.deepEqual(ids(table), ['open-old', 'f7', 'open-new']);
  });

  test('a pruned order is gone from the venue order id index too', () => {
    const table = new OrderTable();
    const o = order('a', 1_000);
    o.state = evolveOrder(o.state, { kind: 'accepted', venueOrderId: 'v-1', tsEventMs: 1_001 });
    o.state = evolveOrder(o.state, { kind: 'canceled', tsEventMs: 1_002 });
    table.add(o);
    assert.equal(table.byVenueOrderId('paper', 'main', 'v-1'), o);
    table.pruneTerminal(0, { max: 0, changedBeforeMs: 5_000 });
    assert.equal(table.byVenueOrderId('paper', 'main', 'v-1'), undefined);
    assert.equal(table.size, 0);
  });
});

describe('OrderTable.forgottenThroughMs: up to which created time an order may be missing', () => {
  test('nothing forgotten at first; a removal that is not an eviction forgets nothing', () => {
    const table = new OrderTable();
    assert.equal(table.forgottenThroughMs, Number.NEGATIVE_INFINITY);
    const o = order('a', 1_000, 1_500);
    table.add(o);
    table.remove(o);
    assert.equal(table.forgottenThroughMs, Number.NEGATIVE_INFINITY);
  });

  test('the time bound: the newest created time of the dropped orders, not of those kept', () => {
    const table = new OrderTable();
    // Created late, finished early (dropped) beside created early, finished late (kept).
    table.add(order('late-created', 1_900, 1_950));
    table.add(order('early-created', 1_000, 5_000));
    table.add(order('open', 2_500));
    assert.equal(table.pruneTerminal(2_000), 1);
    assert.equal(table.forgottenThroughMs, 1_900);
    assert.deepEqual(ids(table), ['early-created', 'open']);
  });

  test('the count bound moves it too; it never goes back', () => {
    const table = new OrderTable();
    for (let i = 0; i < 5; i++) table.add(order(`f${i}`, 1_000 + i, 2_000 + i));
    assert.equal(table.pruneTerminal(0, { max: 2, changedBeforeMs: 10_000 }), 3);
    assert.equal(table.forgottenThroughMs, 1_002);
    table.forgetThrough(500);
    assert.equal(table.forgottenThroughMs, 1_002);
    table.forgetThrough(1_500);
    assert.equal(table.forgottenThroughMs, 1_500);
  });
});

describe('OrderTable.waitForChange', () => {
  // The table's timers are unref'd: something must hold the event loop while a test waits on them.
  let keepAlive: NodeJS.Timeout | undefined;
  beforeEach(() => {
    keepAlive = setInterval(() => {}, 1_000);
  });
  afterEach(() => clearInterval(keepAlive));

  test('a wait that times out leaves no key behind', async () => {
    const table = new OrderTable();
    await Promise.all(
      Array.from({ length: 50 }, (_, i) => table.waitForChange('paper', 'main', `never-${i}`, 1)),
    );
    assert.equal(table.waitingKeys, 0);
  });

  test('a change wakes every waiter of the order and only them', async () => {
    const table = new OrderTable();
    let woken = 0;
    const waits = [1, 2].map(() =>
      table.waitForChange('paper', 'main', 'a', 60_000).then(() => {
        woken += 1;
      }),
    );
    const other = table.waitForChange('paper', 'main', 'b', 1);
    table.add(order('a', 1_000));
    await Promise.all(waits);
    await other;
    assert.equal(woken, 2);
    assert.equal(table.waitingKeys, 0);
  });
});
