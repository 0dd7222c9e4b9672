/**
 * An order on its way when its account is killed (its strategy HALTED after the order
 * passed the check, before the kill's cancel-all saw it): canceled at the venue once there,
 * as the cancel-all would have done had it been open then.
 */
import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import type { StateStore } from '@perpmesh/state';
import { eventually, openTestBackend } from '@perpmesh/testing';
import { StaticVenueDirectory } from '@perpmesh/venues';
import { BTC, newHub, newService, SpyVenue } from './harness.test-helper.js';
import { limitRequest } from './scenarios.test-helper.js';
import { placeOrderCommandFromProto } from './validation.js';

const backend = await openTestBackend('embedded', { prefix: 'EXECKILLFLIGHT' });
after(() => backend.close());

/** A state store whose next idempotency claim waits until released (the placement is "in flight"). */
function holdNextClaim(state: StateStore) {
  let hold = false;
  let reached = (): void => {};
  let release = (): void => {};
  const store = new Proxy(state, {
    get(target, prop) {
      if (prop === 'claimIdempotencyKey' && hold) {
        hold = false;
        return async (...args: Parameters<StateStore['claimIdempotencyKey']>) => {
          reached();
          await new Promise<void>((resolve) => {
            release = resolve;
          });
          return target.claimIdempotencyKey(...args);
        };
      }
      const value = Reflect.get(target, prop, target);
      return typeof value === 'function' ? value.bind(target) : value;
    },
  });
  return {
    store,
    next: () => {
      hold = true;
      return new Promise<void>((resolve) => {
        reached = resolve;
      });
    },
    release: () => release(),
  };
}

test('an order in flight when its account is killed is canceled at the venue once placed', async () => {
  const hub = newHub();
  const port = new SpyVenue(hub.venue('paper', 'main'));
  const claims = holdNextClaim(backend.state);
  const svc = newService({
    ...backend,
    state: claims.store,
    directory: new StaticVenueDirectory([port]),
    instance: 'killflight',
  });
  await svc.service.start();
  const { engine } = svc.service;
  try {
    const book = await hub.venue('paper', 'taker').fetchOrderBook(BTC, 1);
    const low = book.bids[0]!.price.mul('0.9').toDecimalPlaces(0);
    const place = (clientOrderId: string) =>
      engine.placeOrder(placeOrderCommandFromProto(limitRequest('paper', clientOrderId, 'buy', low, '0.01')));
    const resting = await place('flight_1');
    assert.equal(resting.order.state.status, 'accepted');

    // The second order passes the check, then waits in its claim while the strategy is HALTED.
    const claimReached = claims.next();
    const inFlight = place('flight_2');
    await claimReached;
    await engine.setStrategyTradingState('flight', 'halted');
    assert.deepEqual(
      (await port.fetchOpenOrders()).map((o) => o.clientOrderId),
      [],
      'the kill canceled what was open',
    );
    claims.release();
    const placed = await inFlight;
    assert.equal(placed.replayed, false);
    await eventually('the order placed after the kill is canceled at the venue', async () =>
      (await port.fetchOpenOrders()).length === 0 ? true : undefined,
    );
    await engine.settled();
    const order = engine.getOrder({ venue: 'paper', account: 'main', clientOrderId: 'flight_2' });
    assert.equal(order.state.status, 'canceled');
  } finally {
    await svc.service.stop();
    hub.close();
  }
});
