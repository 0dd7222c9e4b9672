/**
 * Orders another placement left unsettled (issue 15, findings 2 and 4): a replica killed with
 * orders in flight, or this process before a crash. The survivor settles them by asking the
 * venue, instead of replaying them as live (finding 2) or waiting a minute for a stale claim
 * (finding 4). The dead placement is planted by hand: its claim in the store and, where it got
 * that far, its SUBMITTED event on the log. Embedded log + store, paper exchange.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { publishEnvelope } from '@perpmesh/contracts';
import type { OrderRequest } from '@perpmesh/core';
import { eventually, openTestBackend, type TestBackend } from '@perpmesh/testing';
import { encodeClaim, IDEMPOTENCY_SCOPE } from './claims.js';
import {
  type Exchange,
  execEvents,
  newExchange,
  newService,
  type ServiceUnderTest,
  timeline,
} from './harness.test-helper.js';
import { newTrackedOrder, portRequestOf, snapshotOf } from './orders.js';
import { cid, limitRequest } from './scenarios.test-helper.js';
import { orderRequestFingerprint, placeOrderCommandFromProto } from './validation.js';
import { orderEventEnvelope } from './wire.js';

describe('execution: orders a stopped placement left unsettled are settled with the venue', () => {
  let backend: TestBackend;
  let ex: Exchange;
  let svc: ServiceUnderTest;
  // The engine's duplicate wait does not hold the process open, and nothing else here does.
  let keepAlive: NodeJS.Timeout;

  before(async () => {
    keepAlive = setInterval(() => undefined, 1_000);
    backend = await openTestBackend('embedded', { prefix: 'EXECSTALE' });
    ex = newExchange();
    // pendingClaimTakeoverMs stays the default: the bound a stale claim waits for is part of the fix.
    svc = newService({
      ...backend,
      directory: ex.directory,
      config: { notFoundAfterMs: 5_000, duplicateWaitMs: 2_000 },
    });
    await svc.service.start();
  });

  after(async () => {
    clearInterval(keepAlive);
    await svc.service.stop();
    ex.hub.close();
    await backend.close();
  });

  const engine = () => svc.service.engine;
  const statusOf = (clientOrderId: string) =>
    engine().getOrder({ venue: 'paper', account: 'main', clientOrderId }).state.status;

  /** A resting buy's request, as the dead placement had it. */
  async function restingBuy(prefix: string) {
    const { bid } = await ex.top('paper');
    const proto = limitRequest('paper', cid(prefix), 'buy', bid.minus(300), '0.01');
    return { proto, request: placeOrderCommandFromProto(proto).request };
  }

  /** The dead placement's claim, made at `atMs` on the service's clock. */
  async function plantClaim(request: OrderRequest, s: 'pending' | 'submitted', atMs: number) {
    const claimed = await backend.state.claimIdempotencyKey(
      IDEMPOTENCY_SCOPE,
      `${request.venue}:${request.account}:${request.clientOrderId}`,
      encodeClaim({ s, at: atMs, fp: orderRequestFingerprint(request), by: 'dead-replica' }),
      60_000,
    );
    assert.equal(claimed.claimed, true);
  }

  /** The dead placement's SUBMITTED event (written ahead), published by another replica. */
  async function plantSubmitted(request: OrderRequest, atMs: number) {
    const order = newTrackedOrder(request, 'corr', atMs, 'USDC');
    const envelope = orderEventEnvelope(snapshotOf(order), {
      source: 'execution/dead-replica',
      tsInitMs: atMs,
      tsEventMs: atMs,
      cancelRound: false,
    });
    await publishEnvelope(backend.log, envelope, backend.subjects);
    await eventually(
      'the survivor folded the foreign SUBMITTED event',
      () => statusOf(request.clientOrderId) === 'submitted',
    );
  }

  /** What the venue has under the client order id (sent by the dead replica before it died). */
  function sentByTheDeadReplica(request: OrderRequest) {
    return ex.spy('paper').inner.createOrder(portRequestOf(request));
  }

  /** A claim time past the default stale-claim bound (5 s), well inside the old 60 s one. */
  function sixSecondsAgo(): number {
    return svc.clock.now - 6_000;
  }

  test('finding 2: a foreign SUBMITTED order the venue never got is resolved (REJECTED), not replayed as live', async () => {
    const { proto, request } = await restingBuy('foreign-lost');
    const at = sixSecondsAgo();
    await plantClaim(request, 'submitted', at);
    await plantSubmitted(request, at);
    const created = ex.spy('paper').created.length;
    const answer = await engine().placeOrder(placeOrderCommandFromProto(proto));
    assert.equal(answer.replayed, true);
    // The survivor asks the venue and, once notFoundAfterMs has passed since the order was
    // created with the venue never knowing it, rejects it; it never sends it itself.
    await eventually(
      'the foreign order is resolved',
      () => statusOf(request.clientOrderId) === 'rejected',
      10_000,
    );
    assert.equal(
      ex.spy('paper').created.length,
      created,
      'a claim marked submitted may have been sent: never resent',
    );
    const state = engine().getOrder({
      venue: 'paper',
      account: 'main',
      clientOrderId: request.clientOrderId,
    }).state;
    assert.match(state.reason ?? '', /not found at venue/);
    await engine().settled();
    const events = await execEvents(backend.log, backend.stream('EXEC'));
    assert.deepEqual(timeline(events, request.clientOrderId), ['SUBMITTED', 'REJECTED']);
  });

  test('finding 2: a foreign SUBMITTED order the venue has is answered with the venue view (ACCEPTED)', async () => {
    const { proto, request } = await restingBuy('foreign-sent');
    const at = sixSecondsAgo();
    await plantClaim(request, 'submitted', at);
    await plantSubmitted(request, at);
    ex.spy('paper').deliverUserStream = false; // the survivor must ask, not overhear
    try {
      await sentByTheDeadReplica(request);
      const answer = await engine().placeOrder(placeOrderCommandFromProto(proto));
      assert.equal(answer.replayed, true);
      assert.equal(answer.order.state.status, 'accepted');
    } finally {
      ex.spy('paper').deliverUserStream = true;
    }
    await engine().settled();
    const events = await execEvents(backend.log, backend.stream('EXEC'));
    assert.deepEqual(timeline(events, request.clientOrderId), ['SUBMITTED', 'ACCEPTED']);
    await engine().cancelOrder({ venue: 'paper', account: 'main', clientOrderId: request.clientOrderId });
  });

  test('finding 4: a stale pending claim (placement died before writing ahead) is taken over now, not after 60 s', async () => {
    const { proto, request } = await restingBuy('pending-stale');
    await plantClaim(request, 'pending', sixSecondsAgo());
    const created = ex.spy('paper').created.length;
    const answer = await engine().placeOrder(placeOrderCommandFromProto(proto));
    assert.equal(answer.replayed, false);
    assert.equal(answer.order.state.status, 'accepted');
    assert.equal(ex.spy('paper').created.length, created + 1, 'sent once');
    await engine().cancelOrder({ venue: 'paper', account: 'main', clientOrderId: request.clientOrderId });
  });

  test('finding 4: SUBMITTED written ahead, claim still pending (died before marking it): sent from here', async () => {
    const { proto, request } = await restingBuy('pending-logged');
    const at = sixSecondsAgo();
    await plantClaim(request, 'pending', at);
    await plantSubmitted(request, at);
    const created = ex.spy('paper').created.length;
    const answer = await engine().placeOrder(placeOrderCommandFromProto(proto));
    assert.equal(answer.replayed, true);
    assert.equal(answer.order.state.status, 'accepted');
    assert.equal(ex.spy('paper').created.length, created + 1, 'sent once, by the survivor');
    await engine().settled();
    const events = await execEvents(backend.log, backend.stream('EXEC'));
    assert.deepEqual(timeline(events, request.clientOrderId), ['SUBMITTED', 'ACCEPTED']);
    await engine().cancelOrder({ venue: 'paper', account: 'main', clientOrderId: request.clientOrderId });
  });

  test('a stale pending claim whose order the venue has (a lost claim write) is not sent again', async () => {
    const { proto, request } = await restingBuy('pending-atvenue');
    await plantClaim(request, 'pending', sixSecondsAgo());
    await sentByTheDeadReplica(request);
    const created = ex.spy('paper').created.length;
    const answer = await engine().placeOrder(placeOrderCommandFromProto(proto));
    assert.equal(answer.replayed, true);
    assert.equal(answer.order.state.status, 'accepted');
    assert.equal(ex.spy('paper').created.length, created, 'not sent again');
    await ex
      .spy('paper')
      .inner.cancelOrder({ instrument: request.instrument, clientOrderId: request.clientOrderId });
  });

  test('a claim marked submitted with nothing written ahead (died between the mark and the write-ahead): written from here and REJECTED, never sent', async () => {
    const { proto, request } = await restingBuy('submitted-unwritten');
    await plantClaim(request, 'submitted', sixSecondsAgo());
    const created = ex.spy('paper').created.length;
    // The mark runs at once with the write-ahead, so its placement may have stopped with the
    // claim marked and no SUBMITTED stored: it sent nothing, and nothing else knows the order.
    const answer = await engine().placeOrder(placeOrderCommandFromProto(proto));
    assert.equal(answer.replayed, true);
    await eventually(
      'the order is settled with the venue',
      () => statusOf(request.clientOrderId) === 'rejected',
      10_000,
    );
    assert.equal(
      ex.spy('paper').created.length,
      created,
      'a claim marked submitted may have been sent: never sent from here',
    );
    await engine().settled();
    const events = await execEvents(backend.log, backend.stream('EXEC'));
    assert.deepEqual(timeline(events, request.clientOrderId), ['SUBMITTED', 'REJECTED']);
  });

  test('a young claim marked submitted with nothing written ahead (its placement may be storing it now) is left to it', async () => {
    const { proto, request } = await restingBuy('submitted-young');
    await plantClaim(request, 'submitted', svc.clock.now);
    const created = ex.spy('paper').created.length;
    await assert.rejects(
      engine().placeOrder(placeOrderCommandFromProto(proto)),
      /being placed by another request/,
    );
    assert.equal(ex.spy('paper').created.length, created);
    const events = await execEvents(backend.log, backend.stream('EXEC'));
    assert.deepEqual(timeline(events, request.clientOrderId), [], 'nothing written from here');
  });

  test('a young pending claim (its placement may be alive) is not taken over', async () => {
    const { proto, request } = await restingBuy('pending-young');
    await plantClaim(request, 'pending', svc.clock.now);
    const created = ex.spy('paper').created.length;
    await assert.rejects(
      engine().placeOrder(placeOrderCommandFromProto(proto)),
      /being placed by another request/,
    );
    assert.equal(ex.spy('paper').created.length, created);
  });
});

describe('execution: a start finds an order its placement stopped before sending', () => {
  test('claim still pending, SUBMITTED on the log, unknown to the venue, nobody asking: REJECTED, never sent late', async () => {
    const backend = await openTestBackend('embedded', { prefix: 'EXECSTALE2' });
    const ex = newExchange();
    const svc = newService({ ...backend, directory: ex.directory, config: { notFoundAfterMs: 5_000 } });
    try {
      const { bid } = await ex.top('paper');
      const { request } = placeOrderCommandFromProto(
        limitRequest('paper', cid('before-crash'), 'buy', bid.minus(300), '0.01'),
      );
      // The process before the crash: claimed, wrote SUBMITTED ahead, died before marking the claim.
      const at = svc.clock.now - 6_000;
      const claimed = await backend.state.claimIdempotencyKey(
        IDEMPOTENCY_SCOPE,
        `paper:main:${request.clientOrderId}`,
        encodeClaim({ s: 'pending', at, fp: orderRequestFingerprint(request), by: 'before-crash' }),
        60_000,
      );
      assert.equal(claimed.claimed, true);
      const order = newTrackedOrder(request, 'corr', at, 'USDC');
      await publishEnvelope(
        backend.log,
        orderEventEnvelope(snapshotOf(order), {
          source: 'execution/test',
          tsInitMs: at,
          tsEventMs: at,
          cancelRound: false,
        }),
        backend.subjects,
      );
      const created = ex.spy('paper').created.length;
      await svc.service.start();
      const statusOf = () =>
        svc.service.engine.getOrder({ venue: 'paper', account: 'main', clientOrderId: request.clientOrderId })
          .state;
      await eventually('the start settled it', () => (statusOf().status === 'rejected' ? true : undefined));
      assert.match(statusOf().reason ?? '', /not sent: its placement stopped before sending it/);
      assert.equal(ex.spy('paper').created.length, created, 'not sent late');
      await svc.service.engine.settled();
      const events = await execEvents(backend.log, backend.stream('EXEC'));
      assert.deepEqual(timeline(events, request.clientOrderId), ['SUBMITTED', 'REJECTED']);
    } finally {
      await svc.service.stop();
      ex.hub.close();
      await backend.close();
    }
  });
});
