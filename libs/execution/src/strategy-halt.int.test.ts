/**
 * The kill switch reaches execution (real NATS and Redis): a strategy's `trading_state`
 * decision on the bus — what StrategyService / the gateway's halt publishes — makes
 * execution refuse that strategy's new (not reduce-only) orders with StrategyHaltedError,
 * kills the account at the venue when every strategy trading there is HALTED (orders
 * canceled now, the dead-man switch no longer refreshed), and a resume undoes both.
 */
import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import { dec } from '@perpmesh/core';
import { eventually, openTestBackend } from '@perpmesh/testing';
import { StaticVenueDirectory } from '@perpmesh/venues';
import { publishTradingState as publishStrategyTradingState } from './dead-man.test-helper.js';
import { StrategyHaltedError } from './errors.js';
import { BTC, newHub, newService, SpyVenue } from './harness.test-helper.js';
import { limitRequest } from './scenarios.test-helper.js';
import { placeOrderCommandFromProto } from './validation.js';

const backend = await openTestBackend('nats-redis', { prefix: 'EXECHALT' });
after(() => backend.close());

const STRATEGY = `halt${process.pid}`;
let seq = 0;
const cid = (strategy = STRATEGY) => `${strategy}_${++seq}`;

const publishTradingState = (state: 'halted' | 'active', atMs: number) =>
  publishStrategyTradingState(backend, STRATEGY, state, atMs);

test('HALTED: new orders of the strategy refused by name, its account killed at the venue; resume undoes it', async () => {
  const hub = newHub();
  const port = new SpyVenue(hub.venue('paper', 'main'));
  const svc = newService({
    ...backend,
    directory: new StaticVenueDirectory([port]),
    instance: 'halt',
    settings: { deadManSwitch: { afterMs: 60_000, refreshMs: 20 } },
  });
  await svc.service.start();
  const { engine } = svc.service;
  try {
    const book = await hub.venue('paper', 'taker').fetchOrderBook(BTC, 1);
    const low = book.bids[0]!.price.mul('0.9').toDecimalPlaces(0);
    const place = (clientOrderId: string, reduceOnly = false) =>
      engine.placeOrder(
        placeOrderCommandFromProto({
          ...limitRequest('paper', clientOrderId, 'buy', low, '0.01'),
          reduceOnly,
        }),
      );
    const resting = await place(cid());
    assert.equal(resting.order.state.status, 'accepted');

    await publishTradingState('halted', Date.now());
    await eventually('execution refuses the HALTED strategy', async () => {
      try {
        await place(cid());
        return undefined;
      } catch (err) {
        return err instanceof StrategyHaltedError ? err : undefined;
      }
    });
    await assert.rejects(place(cid()), (err: unknown) => {
      assert.ok(err instanceof StrategyHaltedError, String(err));
      assert.equal(err.code, 'FAILED_PRECONDITION');
      assert.equal(err.strategyId, STRATEGY);
      return true;
    });
    // Reduce-only orders are not what the switch refuses (the venue may still reject them: no position).
    await place(cid(), true).catch((err: unknown) =>
      assert.ok(!(err instanceof StrategyHaltedError), String(err)),
    );
    // Its only strategy is HALTED: the account's orders are canceled now and the switch stops being refreshed.
    await eventually('the resting order canceled at the venue', async () =>
      (await port.fetchOpenOrders()).length === 0 ? true : undefined,
    );
    await engine.settled();
    const refreshes = port.scheduled.length;
    // Still armed, no longer refreshed: the venue fires it at its deadline on what it still has.
    const deadline = hub.exchange('paper').cancelAllDeadline('main');
    assert.ok(deadline !== undefined, 'the switch stays armed at the venue');
    const late = await port.createOrder({
      clientOrderId: cid('late'),
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
    await publishTradingState('active', Date.now() + 1);
    const resumed = await eventually('execution takes the strategy again', async () => {
      try {
        return await place(cid());
      } catch (err) {
        if (err instanceof StrategyHaltedError) return undefined;
        throw err;
      }
    });
    assert.equal(resumed.order.state.status, 'accepted');
    await eventually('the resume re-armed the switch', () =>
      port.scheduled.length > refreshes ? true : undefined,
    );

    // Halted again; another strategy trading on the account revives its switch and is not refused.
    await publishTradingState('halted', Date.now() + 2);
    await eventually('the account killed again', async () =>
      (await port.fetchOpenOrders()).length === 0 ? true : undefined,
    );
    await engine.settled();
    const killedAt = port.scheduled.length;
    const other = await place(cid('other'));
    assert.equal(other.order.state.status, 'accepted');
    await eventually('the switch refreshed for the strategy still trading', () =>
      port.scheduled.length > killedAt ? true : undefined,
    );
  } finally {
    await svc.service.stop();
    hub.close();
  }
});
