/**
 * The claim's `submitted` mark and the write-ahead publish run at once; the order is sent only
 * once both are done (README, "Write ahead and the mark, at once"). Each test stops one of the
 * two (a held or refused publish, a held mark) and checks that nothing reaches the venue until
 * both are done, and that a refused write-ahead gives the id back whatever the mark did. The
 * crash between the mark and the write-ahead is in stale-claims.int.test.ts. Both backends;
 * the switch's `sequential` form (the mark after the write-ahead) on the embedded one.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { EventLog } from '@perpmesh/bus';
import type { StateStore } from '@perpmesh/state';
import { eventually, openTestBackend, TEST_BACKEND_KINDS, type TestBackend } from '@perpmesh/testing';
import { ExecutionUnavailableError } from './errors.js';
import {
  type Exchange,
  execEvents,
  Gate,
  gated,
  newExchange,
  newService,
  type ServiceUnderTest,
  storedClaim,
  timeline,
} from './harness.test-helper.js';
import { cid, limitRequest } from './scenarios.test-helper.js';
import { placeOrderCommandFromProto } from './validation.js';

for (const kind of TEST_BACKEND_KINDS) {
  describe(`execution (${kind}): the mark and the write-ahead at once, the send after both`, () => {
    let backend: TestBackend;
    let ex: Exchange;
    let svc: ServiceUnderTest;
    const publishes = new Gate();
    const marks = new Gate();

    before(async () => {
      backend = await openTestBackend(kind, { prefix: 'EXECWAM' });
      ex = newExchange();
      svc = newService({
        ...backend,
        log: gated<EventLog>(backend.log, ['publish', 'publishBatch'], publishes),
        state: gated<StateStore>(backend.state, ['updateIdempotencyValue'], marks),
        directory: ex.directory,
        markWithWriteAhead: true,
      });
      await svc.service.start();
    });

    after(async () => {
      publishes.release();
      marks.release();
      await svc.service.stop();
      ex.hub.close();
      await backend.close();
    });

    const claimOf = (clientOrderId: string) => storedClaim(backend.state, clientOrderId);
    const atVenue = (clientOrderId: string) =>
      ex.spy('paper').created.filter((r) => r.clientOrderId === clientOrderId).length;
    const logged = async (clientOrderId: string) =>
      timeline(await execEvents(backend.log, backend.stream('EXEC')), clientOrderId);
    async function restingBuy(prefix: string) {
      const { bid } = await ex.top('paper');
      return placeOrderCommandFromProto(limitRequest('paper', cid(prefix), 'buy', bid.minus(300), '0.01'));
    }

    test('the mark lands while the SUBMITTED is not stored yet: nothing is sent until it is', async () => {
      const command = await restingBuy('wam-publish-held');
      const id = command.request.clientOrderId;
      publishes.hold();
      const placing = svc.service.engine.placeOrder(command);
      await eventually('the claim is marked submitted', async () => (await claimOf(id))?.s === 'submitted');
      assert.ok(publishes.reached > 0, 'the write-ahead is being stored');
      assert.equal(atVenue(id), 0, 'not sent before its SUBMITTED is stored');
      publishes.release();
      const answer = await placing;
      assert.equal(answer.order.state.status, 'accepted');
      assert.equal(atVenue(id), 1);
      await svc.service.engine.settled();
      assert.deepEqual(await logged(id), ['SUBMITTED', 'ACCEPTED']);
      await svc.service.engine.cancelOrder({ venue: 'paper', account: 'main', clientOrderId: id });
    });

    test('the SUBMITTED is stored while the mark has not landed: nothing is sent until it has', async () => {
      const command = await restingBuy('wam-mark-held');
      const id = command.request.clientOrderId;
      marks.hold();
      const placing = svc.service.engine.placeOrder(command);
      await eventually('the SUBMITTED is on the log', async () => (await logged(id)).includes('SUBMITTED'));
      await eventually('the mark is on its way', () => marks.reached > 0);
      assert.equal((await claimOf(id))?.s, 'pending');
      assert.equal(atVenue(id), 0, 'not sent before its claim is marked');
      marks.release();
      const answer = await placing;
      assert.equal(answer.order.state.status, 'accepted');
      assert.equal(atVenue(id), 1);
      await svc.service.engine.cancelOrder({ venue: 'paper', account: 'main', clientOrderId: id });
    });

    test('the log refuses the SUBMITTED after the mark landed: nothing sent, the id released, a retry places it once', async () => {
      const command = await restingBuy('wam-refused');
      const id = command.request.clientOrderId;
      publishes.hold();
      const placing = svc.service.engine.placeOrder(command);
      await eventually('the claim is marked submitted', async () => (await claimOf(id))?.s === 'submitted');
      publishes.release(new Error('log refused the publish (test)'));
      await assert.rejects(placing, (err: unknown) => {
        assert.ok(err instanceof ExecutionUnavailableError);
        assert.match(err.message, /did not store its SUBMITTED event, so nothing was sent/);
        return true;
      });
      assert.equal(await claimOf(id), undefined, 'the submitted mark was released with the claim');
      assert.equal(atVenue(id), 0);
      const retried = await svc.service.engine.placeOrder(command);
      assert.equal(retried.replayed, false);
      assert.equal(retried.order.state.status, 'accepted');
      assert.equal(atVenue(id), 1, 'sent once, by the retry');
      await svc.service.engine.cancelOrder({ venue: 'paper', account: 'main', clientOrderId: id });
    });
  });
}

describe('execution (embedded, markWithWriteAhead: false): the mark after the write-ahead, as before', () => {
  let backend: TestBackend;
  let ex: Exchange;
  let svc: ServiceUnderTest;
  const publishes = new Gate();

  before(async () => {
    backend = await openTestBackend('embedded', { prefix: 'EXECWAMSEQ' });
    ex = newExchange();
    svc = newService({
      ...backend,
      log: gated<EventLog>(backend.log, ['publish', 'publishBatch'], publishes),
      directory: ex.directory,
      markWithWriteAhead: false,
    });
    await svc.service.start();
  });

  after(async () => {
    publishes.release();
    await svc.service.stop();
    ex.hub.close();
    await backend.close();
  });

  const claimOf = (clientOrderId: string) => storedClaim(backend.state, clientOrderId);

  test('the claim stays pending until the SUBMITTED is stored; a refused SUBMITTED releases it', async () => {
    const { bid } = await ex.top('paper');
    const command = placeOrderCommandFromProto(
      limitRequest('paper', cid('wam-seq'), 'buy', bid.minus(300), '0.01'),
    );
    const id = command.request.clientOrderId;
    publishes.hold();
    const placing = svc.service.engine.placeOrder(command);
    await eventually('the write-ahead is being stored', () => publishes.reached > 0);
    assert.equal((await claimOf(id))?.s, 'pending', 'not marked before the SUBMITTED is stored');
    publishes.release(new Error('log refused the publish (test)'));
    await assert.rejects(placing, ExecutionUnavailableError);
    assert.equal(await claimOf(id), undefined, 'released');
    const retried = await svc.service.engine.placeOrder(command);
    assert.equal(retried.order.state.status, 'accepted');
    assert.equal(ex.spy('paper').created.filter((r) => r.clientOrderId === id).length, 1);
    await svc.service.engine.cancelOrder({ venue: 'paper', account: 'main', clientOrderId: id });
  });
});
