/**
 * Account settings and the venue dead-man switch through the execution service, against the
 * paper exchange (manual clock): leverage applied before the account is ready, a setting the
 * venue cannot take named in readiness, the switch armed and refreshed, firing at the venue
 * once execution stops refreshing, and HALTED canceling now.
 */
import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import { dec } from '@perpmesh/core';
import { eventually, openTestBackend } from '@perpmesh/testing';
import { StaticVenueDirectory } from '@perpmesh/venues';
import { BTC, newHub, newService, SpyVenue, T0 } from './harness.test-helper.js';
import { limitRequest } from './scenarios.test-helper.js';
import { placeOrderCommandFromProto } from './validation.js';

const backend = await openTestBackend('embedded', { prefix: 'EXECCTL' });
after(() => backend.close());

let ids = 0;
function cid(): string {
  ids += 1;
  return `ctl-${process.pid}-${ids}`;
}

test('leverage from config is set before the account is ready; one the venue cannot take is named in readiness', async () => {
  const hub = newHub();
  const port = new SpyVenue(hub.venue('paper', 'main'));
  const svc = newService({
    ...backend,
    directory: new StaticVenueDirectory([port]),
    settings: { accountSettings: [{ venue: 'paper', account: 'main', instrument: BTC, leverage: dec(7) }] },
  });
  await svc.service.start();
  assert.deepEqual(port.leverageSet, [`${BTC}=7`]);
  assert.ok(svc.service.engine.isReconciled());
  await svc.service.stop();

  const refused = newService({
    ...backend,
    directory: new StaticVenueDirectory([new SpyVenue(hub.venue('paper', 'main'))]),
    instance: 'refused',
    settings: {
      accountSettings: [{ venue: 'paper', account: 'main', instrument: BTC, marginMode: 'isolated' }],
    },
  });
  await refused.service.start();
  const component = refused.health.component('paper/main/reconciliation');
  assert.equal(component?.ready, false);
  assert.match(component?.reason ?? '', /marginMode.*does not offer margin mode isolated/);
  await refused.service.stop();
  hub.close();
});

test('the dead-man switch: refreshed while execution runs; once it stops, the venue cancels after the deadline', async () => {
  const hub = newHub();
  const port = new SpyVenue(hub.venue('paper', 'main'));
  const svc = newService({
    ...backend,
    directory: new StaticVenueDirectory([port]),
    settings: { deadManSwitch: { afterMs: 60_000, refreshMs: 30 } },
  });
  await svc.service.start();
  assert.deepEqual(port.scheduled, [60_000], 'armed before the account is ready');
  const book = await hub.venue('paper', 'taker').fetchOrderBook(BTC, 1);
  const low = book.bids[0]!.price.mul('0.9').toDecimalPlaces(0);
  const placed = await svc.service.engine.placeOrder(
    placeOrderCommandFromProto(limitRequest('paper', cid(), 'buy', low, '0.01')),
  );
  assert.equal(placed.order.state.status, 'accepted');

  hub.advanceTo(T0 + 40_000);
  const refreshedAt = port.scheduled.length;
  await eventually('a refresh after 40 s of venue time', () => port.scheduled.length > refreshedAt);
  hub.advanceTo(T0 + 80_000);
  assert.equal((await port.fetchOpenOrders()).length, 1, 'refreshed: still open past the first deadline');

  // Execution dies: nobody refreshes. The venue cancels once the deadline passes.
  await svc.service.stop();
  hub.advanceTo(T0 + 200_000);
  const open = await port.fetchOpenOrders();
  assert.deepEqual(open, []);
  const order = await port.fetchOrder({ instrument: BTC, clientOrderId: placed.order.state.clientOrderId });
  assert.equal(order?.status, 'canceled');
  assert.equal(order?.reason, 'dead_man_switch');
  hub.close();
});

test('HALTED cancels every open order now and stops refreshing the switch', async () => {
  const hub = newHub();
  const port = new SpyVenue(hub.venue('paper', 'main'));
  const svc = newService({
    ...backend,
    directory: new StaticVenueDirectory([port]),
    instance: 'halt',
    settings: { deadManSwitch: { afterMs: 60_000, refreshMs: 20 } },
  });
  await svc.service.start();
  const book = await hub.venue('paper', 'taker').fetchOrderBook(BTC, 1);
  const low = book.bids[0]!.price.mul('0.9').toDecimalPlaces(0);
  await svc.service.engine.placeOrder(
    placeOrderCommandFromProto(limitRequest('paper', cid(), 'buy', low, '0.01')),
  );
  await svc.service.engine.setHalted(true);
  assert.deepEqual(await port.fetchOpenOrders(), []);
  await svc.service.engine.settled();
  // Not refreshed while HALTED: the switch fires at its deadline on what the venue still has.
  const deadline = hub.exchange('paper').cancelAllDeadline('main');
  assert.ok(deadline !== undefined);
  const late = await port.createOrder({
    clientOrderId: cid(),
    instrument: BTC,
    side: 'buy',
    type: 'limit',
    timeInForce: 'gtc',
    price: low,
    size: dec('0.01'),
    reduceOnly: false,
  });
  hub.advanceTo(deadline);
  const fired = await port.fetchOrder({ instrument: BTC, clientOrderId: late.clientOrderId });
  assert.equal(fired?.reason, 'dead_man_switch');
  const refreshes = port.scheduled.length;
  await svc.service.engine.setHalted(false);
  await eventually('refreshing resumes', () => port.scheduled.length > refreshes);
  await svc.service.stop();
  hub.close();
});
