/**
 * A failed `fetchOrder` (timeout, disconnect) is no answer about the order: it never counts as
 * "the venue has no such order". Before, a flaky link while settling a cancel ended as a
 * refused cancel of an order the venue had canceled. Embedded log + store, paper exchange.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { openTestBackend, type TestBackend } from '@perpmesh/testing';
import { encodeClaim, IDEMPOTENCY_SCOPE } from './claims.js';
import { ExecutionUnavailableError } from './errors.js';
import {
  type Exchange,
  execEvents,
  newExchange,
  newService,
  type ServiceUnderTest,
  timeline,
} from './harness.test-helper.js';
import { cid, limitRequest } from './scenarios.test-helper.js';
import { orderRequestFingerprint, placeOrderCommandFromProto } from './validation.js';

describe('execution: a failed fetchOrder is not "no such order"', () => {
  let backend: TestBackend;
  let ex: Exchange;
  let svc: ServiceUnderTest;

  before(async () => {
    backend = await openTestBackend('embedded', { prefix: 'EXECF' });
    ex = newExchange();
    svc = newService({
      ...backend,
      directory: ex.directory,
      config: { notFoundAfterMs: 5_000, duplicateWaitMs: 50 },
    });
    await svc.service.start();
  });

  after(async () => {
    await svc.service.stop();
    ex.hub.close();
    await backend.close();
  });

  const place = (req: ReturnType<typeof limitRequest>) =>
    svc.service.engine.placeOrder(placeOrderCommandFromProto(req));
  const statusOf = (clientOrderId: string) =>
    svc.service.engine.getOrder({ venue: 'paper', account: 'main', clientOrderId }).state.status;

  /** A resting order; the user stream is cut so only asking the venue can tell what happened. */
  async function restingOrder(prefix: string): Promise<string> {
    const id = cid(prefix);
    const { bid } = await ex.top('paper');
    const placed = await place(limitRequest('paper', id, 'buy', bid.minus(300), '0.01'));
    assert.equal(placed.order.state.status, 'accepted');
    return id;
  }

  test('a lost cancel answer and a flaky link past the bound: still settled by the venue, not refused', async () => {
    const spy = ex.spy('paper');
    const id = await restingOrder('lostans');
    spy.deliverUserStream = false;
    spy.cancelOrderMode = 'timeout';
    // Enough failures to pass notFoundAfterMs (5 s of resolver backoff) with no answer.
    spy.fetchOrderFailures = 12;
    try {
      const requested = await svc.service.engine.cancelOrder({
        venue: 'paper',
        account: 'main',
        clientOrderId: id,
      });
      assert.equal(requested.state.status, 'cancel_requested');
      await svc.service.engine.settled();
    } finally {
      spy.cancelOrderMode = 'normal';
      spy.deliverUserStream = true;
      spy.fetchOrderFailures = 0;
    }
    assert.equal(statusOf(id), 'canceled');
    const events = await execEvents(backend.log, backend.stream('EXEC'));
    assert.deepEqual(timeline(events, id), ['SUBMITTED', 'ACCEPTED', 'CANCEL_REQUESTED', 'CANCELED']);
  });

  test('a cancel answered "no such order" and a failed fetchOrder: asked again, not refused', async () => {
    const spy = ex.spy('paper');
    const id = await restingOrder('gone');
    spy.deliverUserStream = false;
    spy.cancelOrderMode = 'gone';
    spy.fetchOrderFailures = 3;
    try {
      await svc.service.engine.cancelOrder({ venue: 'paper', account: 'main', clientOrderId: id });
      await svc.service.engine.settled();
    } finally {
      spy.cancelOrderMode = 'normal';
      spy.deliverUserStream = true;
      spy.fetchOrderFailures = 0;
    }
    assert.equal(statusOf(id), 'canceled');
    const events = await execEvents(backend.log, backend.stream('EXEC'));
    assert.deepEqual(timeline(events, id), ['SUBMITTED', 'ACCEPTED', 'CANCEL_REQUESTED', 'CANCELED']);
  });

  test('an unknown placement and a flaky link: resolved once the venue answers, never "not found"', async () => {
    const spy = ex.spy('paper');
    const id = cid('unkflaky');
    const { bid } = await ex.top('paper');
    spy.createOrderMode = 'timeout';
    spy.deliverUserStream = false;
    spy.fetchOrderFailures = 12;
    try {
      const placed = await place(limitRequest('paper', id, 'buy', bid.minus(300), '0.01'));
      assert.equal(placed.order.state.status, 'submitted');
      await svc.service.engine.settled();
    } finally {
      spy.createOrderMode = 'normal';
      spy.deliverUserStream = true;
      spy.fetchOrderFailures = 0;
    }
    assert.equal(statusOf(id), 'accepted');
    await svc.service.engine.cancelOrder({ venue: 'paper', account: 'main', clientOrderId: id });
  });

  test('a duplicate whose order only the venue knows: a failed fetchOrder is reported as such', async () => {
    const spy = ex.spy('paper');
    const { bid } = await ex.top('paper');
    const req = limitRequest('paper', cid('claimed'), 'buy', bid.minus(300), '0.01');
    const { request } = placeOrderCommandFromProto(req);
    // Another replica claimed it and is sending it; this one has no record of the order yet. (A
    // claim past `pendingClaimTakeoverMs` the venue does not know is repaired from here:
    // write-ahead-repair.int.test.ts.)
    const claim = encodeClaim({
      s: 'submitted',
      at: svc.clock.now,
      fp: orderRequestFingerprint(request),
      by: 'other',
    });
    const claimed = await backend.state.claimIdempotencyKey(
      IDEMPOTENCY_SCOPE,
      `paper:main:${request.clientOrderId}`,
      claim,
      60_000,
    );
    assert.equal(claimed.claimed, true);
    // The engine's duplicate wait does not hold the process open, and nothing else here does.
    const keepAlive = setInterval(() => undefined, 1_000);
    try {
      spy.fetchOrderFailures = 1;
      await assert.rejects(place(req), (err: unknown) => {
        assert.ok(err instanceof ExecutionUnavailableError, String(err));
        assert.match(err.message, /asking paper about it failed: .*link down/);
        return true;
      });
      // The venue's answer "no such order" (yet) is a different message.
      await assert.rejects(place(req), (err: unknown) => {
        assert.ok(err instanceof ExecutionUnavailableError, String(err));
        assert.match(err.message, /not known here yet; retry, or follow StreamOrderEvents/);
        return true;
      });
    } finally {
      spy.fetchOrderFailures = 0;
      clearInterval(keepAlive);
    }
  });
});
