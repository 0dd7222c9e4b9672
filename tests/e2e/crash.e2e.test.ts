/**
 * kill -9 of the execution process between the venue's ack and the event publish
 * (services/execution/src/crash-test-main.ts, PERPMESH_TEST_KILL_AFTER_VENUE_ACK): after a
 * restart the order is reconciled from the venue, exactly one ACCEPTED and one fill event
 * exist, and the venue holds one order, also when the client retries the same id.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import {
  type GetOrderRequest,
  type GetOrderResponse,
  OrderEventKind,
  OrderStatus,
} from '@perpmesh/contracts';
import type { PaperVenueClient } from '@perpmesh/venues';
import {
  ACCOUNT,
  BTC,
  call,
  E2eStack,
  type EventRecorder,
  fillsOf,
  kindNames,
  marketOrder,
  newClientOrderId,
  orderEventsOf,
  placeOrder,
} from './harness.js';

const CRASH_PREFIX = 'crash';

describe('execution killed between venue ack and event publish', () => {
  let stack: E2eStack;
  let execEvents: EventRecorder;
  let paper: PaperVenueClient;
  let crashedId: string | undefined;

  before(async () => {
    stack = await E2eStack.create();
    stack.paperVenue.start();
    await stack.paperVenue.waitReady();
    stack.execution.start({
      entry: 'crash-test-main.ts',
      env: { PERPMESH_TEST_KILL_AFTER_VENUE_ACK: `${CRASH_PREFIX}-` },
    });
    await stack.execution.waitReady();
    execEvents = await stack.events(stack.filter('exec.>'));
    paper = await stack.venue('paper');
  });

  after(async () => {
    await stack?.close();
  });

  test('after a restart the order is reconciled: one ACCEPTED, one fill, one order at the venue', async (t) => {
    const exec = stack.executionClient();
    // Control: an order outside the prefix goes through the crash entrypoint untouched.
    const control = await placeOrder(exec, marketOrder({ clientOrderId: newClientOrderId('ok') }));
    assert.equal(control.order?.status, OrderStatus.ORDER_STATUS_FILLED);
    assert.ok(stack.execution.running);

    const req = marketOrder({ clientOrderId: newClientOrderId(CRASH_PREFIX), size: '0.01' });
    await assert.rejects(placeOrder(exec, req), 'the call dies with the process');
    const exit = await stack.execution.exited;
    assert.equal(exit.signal, 'SIGKILL', JSON.stringify(exit));

    // The process died inside the crash window: after the venue's answer, before execution
    // applied it. Its write-ahead SUBMITTED is on the log; what the user stream delivered
    // in the meantime may be too (a race we do not control), the rest is missing.
    await execEvents.caughtUp(stack.stream('EXEC'));
    const beforeRestart = kindNames(orderEventsOf(execEvents, req.clientOrderId));
    assert.equal(beforeRestart[0], 'SUBMITTED', beforeRestart.join(','));
    t.diagnostic(
      `on the log before the restart: ${beforeRestart.join(',')} + ${fillsOf(execEvents, req.clientOrderId).length} fill(s)`,
    );
    const atVenue = await paper.fetchOrder({ clientOrderId: req.clientOrderId, instrument: BTC });
    assert.equal(atVenue?.status, 'filled', JSON.stringify(atVenue));

    // Restart the real entrypoint: it reconciles the account before it is ready.
    stack.execution.start({ entry: 'main.ts', env: {} });
    await stack.execution.waitReady();
    await execEvents.waitFor(
      'the reconciled fill',
      (e) => e.payload?.$case === 'fill' && e.payload.value.clientOrderId === req.clientOrderId,
    );
    // The client retries the same id on the new process: the existing order, nothing new.
    const exec2 = stack.executionClient();
    const retried = await placeOrder(exec2, req);
    assert.equal(retried.replayed, true);
    assert.equal(retried.order?.venueOrderId, atVenue?.venueOrderId);
    assert.equal(retried.order?.status, OrderStatus.ORDER_STATUS_FILLED);
    const got = await call<GetOrderRequest, GetOrderResponse>(exec2.getOrder.bind(exec2), {
      venue: 'paper',
      account: ACCOUNT,
      instrument: BTC,
      orderId: { $case: 'clientOrderId', value: req.clientOrderId },
    });
    assert.equal(got.order?.status, OrderStatus.ORDER_STATUS_FILLED);
    assert.equal(got.order?.filledSize, '0.01');
    assert.equal(got.order?.venueOrderId, atVenue?.venueOrderId);

    await execEvents.caughtUp(stack.stream('EXEC'));
    const kinds = kindNames(orderEventsOf(execEvents, req.clientOrderId));
    assert.equal(kinds.filter((k) => k === 'SUBMITTED').length, 1, kinds.join(','));
    assert.equal(kinds.filter((k) => k === 'ACCEPTED').length, 1, kinds.join(','));
    assert.ok(kinds.filter((k) => k === 'FILLED').length <= 1, kinds.join(','));
    assert.equal(kinds.filter((k) => k === 'REJECTED').length, 0, kinds.join(','));
    const venueFills = (await paper.fetchFills(0)).filter((f) => f.clientOrderId === req.clientOrderId);
    const fills = fillsOf(execEvents, req.clientOrderId);
    assert.equal(venueFills.length, 1, JSON.stringify(venueFills));
    assert.deepEqual(
      fills.map((f) => f.tradeId),
      venueFills.map((f) => f.tradeId),
      'one fill event per venue fill',
    );
    // One order at the venue: every fill of this id belongs to the one venue order.
    assert.deepEqual(new Set(venueFills.map((f) => f.venueOrderId)), new Set([atVenue?.venueOrderId]));
    assert.equal(
      (await paper.fetchOpenOrders(BTC)).filter((o) => o.clientOrderId === req.clientOrderId).length,
      0,
    );

    crashedId = req.clientOrderId;
  });

  test('the FILLED order event of the crashed order is on the log after the restart', async () => {
    assert.ok(crashedId, 'the crash test ran');
    const filled = await execEvents.waitFor(
      'the FILLED order event',
      (e) =>
        e.payload?.$case === 'orderEvent' &&
        e.payload.value.order?.clientOrderId === crashedId &&
        e.payload.value.kind === OrderEventKind.ORDER_EVENT_KIND_FILLED,
      1,
      5_000,
    );
    assert.equal(filled.length, 1);
  });

  test('execution and the paper venue stop cleanly on SIGTERM', async () => {
    await stack.execution.stop();
    await stack.paperVenue.stop();
  });
});
