/**
 * PlaceOrder while the state store's Redis is frozen (SIGSTOP: connections open, no answers).
 * The claim gets no answer, so the placement fails UNAVAILABLE within the command timeout and
 * nothing reaches the venue; after the thaw the same client order id gives exactly one venue
 * order, whether or not the frozen claim ran on Redis when it woke (an unknown outcome, like a
 * connection lost mid-command: the existing stale-claim path settles it). Without the command
 * timeout the placement waits forever (the deadline below fails).
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { errorCodeInfo, PerpmeshError, withTimeout } from '@perpmesh/core';
import { RedisStateStore } from '@perpmesh/state';
import { eventually, FrozenServer, openTestBackend, type TestBackend } from '@perpmesh/testing';
import { decodeClaim, IDEMPOTENCY_SCOPE } from './claims.js';
import { type Exchange, newExchange, newService, type ServiceUnderTest } from './harness.test-helper.js';
import { cid, limitRequest } from './scenarios.test-helper.js';
import { placeOrderCommandFromProto } from './validation.js';

const COMMAND_TIMEOUT_MS = 500;
/** Far above the command timeout, far below "forever": a placement that outlives it hung. */
const PLACE_DEADLINE_MS = 10_000;

describe('execution on a frozen Redis', () => {
  let backend: TestBackend;
  let redis: FrozenServer;
  let store: RedisStateStore;
  let ex: Exchange;
  let svc: ServiceUnderTest;

  before(async () => {
    backend = await openTestBackend('embedded', { prefix: 'EXECFROZEN' });
    redis = await FrozenServer.start('redis');
    store = await RedisStateStore.connect(redis.url, {
      keyPrefix: 'pm:test:execfrozen:',
      commandTimeoutMs: COMMAND_TIMEOUT_MS,
    });
    ex = newExchange();
    svc = newService({ ...backend, state: store, directory: ex.directory, config: { duplicateWaitMs: 500 } });
    await svc.service.start();
  });

  after(async () => {
    await svc?.service.stop();
    ex?.hub.close();
    await store?.close();
    await redis?.stop();
    await backend?.close();
  });

  test('PlaceOrder answers UNAVAILABLE during the freeze, and the same id after the thaw gives one venue order', async () => {
    const { bid } = await ex.top('paper');
    const clientOrderId = cid('frozen');
    const command = placeOrderCommandFromProto(
      limitRequest('paper', clientOrderId, 'buy', bid.minus(300), '0.01'),
    );
    const sentFor = () => ex.spy('paper').created.filter((r) => r.clientOrderId === clientOrderId);

    await redis.freeze();
    await withTimeout(
      assert.rejects(svc.service.engine.placeOrder(command), (err: unknown) => {
        assert.ok(err instanceof PerpmeshError, String(err));
        assert.equal(errorCodeInfo(err.code)?.grpc, 'UNAVAILABLE', String(err));
        assert.match(String(err), /redis idempotency claim failed/);
        return true;
      }),
      PLACE_DEADLINE_MS,
      'PlaceOrder on a frozen Redis',
    );
    assert.deepEqual(sentFor(), [], 'nothing sent to the venue during the freeze');

    await redis.thaw();
    // The claim's command reached Redis before the freeze: on waking Redis may run it (in
    // these runs it did), leaving a `pending` claim whose answer was lost. Never `submitted`:
    // nothing was stored or sent for it.
    const lost = await eventually(
      'the claim read back after the thaw',
      async () => ({ raw: await store.getIdempotencyKey(IDEMPOTENCY_SCOPE, `paper:main:${clientOrderId}`) }),
      20_000,
    );
    if (lost.raw !== undefined) assert.equal(decodeClaim(lost.raw)?.s, 'pending');
    // The client retries. A claim the frozen Redis ran on waking is a pending claim nobody
    // holds: it is taken over once pendingClaimTakeoverMs has passed on the service's clock.
    const answer = await eventually(
      'the retried PlaceOrder placed after the thaw',
      async () => {
        svc.clock.now += 1_000;
        return svc.service.engine.placeOrder(command);
      },
      { timeoutMs: 30_000, intervalMs: 100 },
    );
    assert.equal(answer.order.state.clientOrderId, clientOrderId);
    assert.equal(sentFor().length, 1, 'exactly one venue order for the client order id');
    // Once more: a duplicate now, answered from the order, still one venue order.
    assert.equal((await svc.service.engine.placeOrder(command)).replayed, true);
    assert.equal(sentFor().length, 1);
  });
});
