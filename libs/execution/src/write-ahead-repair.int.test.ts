/**
 * The write-ahead repair (README, "Write ahead and the mark, at once"): a placement that stopped
 * after its claim's `submitted` mark landed and before its SUBMITTED was stored sent nothing,
 * and only a duplicate PlaceOrder finds its claim. The duplicate writes the SUBMITTED and
 * settles the order with the venue whenever the order table proves the order would be there had
 * it been stored (created after everything the table forgot), however old the claim; never when
 * the order may have been stored, finished and forgotten. Both backends; the service's clock is
 * the harness's manual one (resolver waits move it), so no test waits out a bound.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { EventLog } from '@perpmesh/bus';
import type { OrderRequest } from '@perpmesh/core';
import type { StateStore } from '@perpmesh/state';
import { eventually, openTestBackend, TEST_BACKEND_KINDS, type TestBackend } from '@perpmesh/testing';
import { encodeClaim, IDEMPOTENCY_SCOPE } from './claims.js';
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
import type { ExecutionOptions } from './options.js';
import { cid, limitRequest } from './scenarios.test-helper.js';
import { orderRequestFingerprint, type PlaceOrderCommand, placeOrderCommandFromProto } from './validation.js';

/** Past the old rule's bound (`terminalOrderMinRetentionMs`, 60 s by default). */
const LATE_RETRY_MS = 90_000;

for (const kind of TEST_BACKEND_KINDS) {
  describe(`execution (${kind}): a marked claim with nothing written ahead, retried late`, () => {
    let backend: TestBackend;
    let ex: Exchange;
    const running: ServiceUnderTest[] = [];
    // The engine's duplicate wait does not hold the process open, and nothing else here does.
    let keepAlive: NodeJS.Timeout;

    before(async () => {
      keepAlive = setInterval(() => undefined, 1_000);
      backend = await openTestBackend(kind, { prefix: 'EXECREPAIR' });
      ex = newExchange();
    });

    after(async () => {
      clearInterval(keepAlive);
      for (const svc of running) await svc.service.stop();
      ex.hub.close();
      await backend.close();
    });

    async function started(config: Partial<ExecutionOptions>, clockMs?: number): Promise<ServiceUnderTest> {
      const svc = newService({
        ...backend,
        directory: ex.directory,
        config: { notFoundAfterMs: 5_000, duplicateWaitMs: 300, ...config },
      });
      if (clockMs !== undefined) svc.clock.now = clockMs;
      running.push(svc);
      await svc.service.start();
      return svc;
    }

    async function stopped(svc: ServiceUnderTest): Promise<void> {
      await svc.service.stop();
      running.splice(running.indexOf(svc), 1);
    }

    async function restingBuy(prefix: string): Promise<PlaceOrderCommand> {
      const { bid } = await ex.top('paper');
      return placeOrderCommandFromProto(limitRequest('paper', cid(prefix), 'buy', bid.minus(300), '0.01'));
    }

    /** The claim a placement left when it stopped after the mark, before its SUBMITTED was stored. */
    async function plantMarkedClaim(request: OrderRequest, atMs: number): Promise<void> {
      const claimed = await backend.state.claimIdempotencyKey(
        IDEMPOTENCY_SCOPE,
        `${request.venue}:${request.account}:${request.clientOrderId}`,
        encodeClaim({ s: 'submitted', at: atMs, fp: orderRequestFingerprint(request), by: 'crashed' }),
        600_000,
      );
      assert.equal(claimed.claimed, true);
    }

    const atVenue = (clientOrderId: string) =>
      ex.spy('paper').created.filter((r) => r.clientOrderId === clientOrderId).length;
    const logged = async (clientOrderId: string) =>
      timeline(await execEvents(backend.log, backend.stream('EXEC')), clientOrderId);
    const orderOf = (svc: ServiceUnderTest, clientOrderId: string) =>
      svc.service.engine.getOrder({ venue: 'paper', account: 'main', clientOrderId }).state;

    /** The duplicate is repaired: written from here, settled with the venue (REJECTED), never sent. */
    async function assertRepaired(svc: ServiceUnderTest, command: PlaceOrderCommand): Promise<void> {
      const id = command.request.clientOrderId;
      const answer = await svc.service.engine.placeOrder(command);
      assert.equal(answer.replayed, true);
      await eventually(
        'the order is settled with the venue',
        () => orderOf(svc, id).status === 'rejected',
        10_000,
      );
      assert.match(orderOf(svc, id).reason ?? '', /not found at venue/);
      assert.equal(atVenue(id), 0, 'the claim says it may have been sent: never sent from here');
      await svc.service.engine.settled();
      assert.deepEqual(await logged(id), ['SUBMITTED', 'REJECTED']);
    }

    /** The duplicate is refused, with why and what to do; nothing written, nothing sent. */
    async function assertNotWrittenAgain(
      svc: ServiceUnderTest,
      command: PlaceOrderCommand,
      earlier: { logged: string[]; atVenue: number },
    ): Promise<void> {
      const id = command.request.clientOrderId;
      await assert.rejects(svc.service.engine.placeOrder(command), (err: unknown) => {
        assert.ok(err instanceof ExecutionUnavailableError);
        assert.match(
          err.message,
          /may have been recorded, finished and forgotten here: it is not written again/,
        );
        assert.match(err.message, /use a new client_order_id/);
        return true;
      });
      await svc.service.engine.settled();
      assert.equal(atVenue(id), earlier.atVenue, 'nothing sent');
      assert.deepEqual(await logged(id), earlier.logged, 'nothing written');
    }

    test('retried later than terminalOrderMinRetentionMs: written from here and REJECTED, never sent', async () => {
      const svc = await started({});
      try {
        const command = await restingBuy('rep-late');
        await plantMarkedClaim(command.request, svc.clock.now - LATE_RETRY_MS);
        await assertRepaired(svc, command);
      } finally {
        await stopped(svc);
      }
    });

    test('an order that was written, finished and forgotten (the time bound) is never written again', async () => {
      // Finished orders kept 6 s: an order forgotten well inside the old rule's 60 s, which
      // wrote it again.
      const svc = await started({ terminalOrderRetentionMs: 6_000, housekeepingIntervalMs: 20 });
      try {
        const command = await restingBuy('rep-forgot');
        const id = command.request.clientOrderId;
        assert.equal((await svc.service.engine.placeOrder(command)).order.state.status, 'accepted');
        await svc.service.engine.cancelOrder({ venue: 'paper', account: 'main', clientOrderId: id });
        await eventually('canceled', () => orderOf(svc, id).status === 'canceled');
        await svc.service.engine.settled();
        ex.spy('paper').forgottenOrders.add(id);
        svc.clock.now += 7_000;
        await eventually('the finished order is dropped from memory', () => {
          try {
            orderOf(svc, id);
            return false;
          } catch {
            return true;
          }
        });
        await assertNotWrittenAgain(svc, command, { logged: await logged(id), atVenue: 1 });
      } finally {
        await stopped(svc);
      }
    });

    test('after a restart: a crash claim newer than the rebuild is repaired; an order older than it is not written again', async () => {
      // Before the crash: an order written, placed, finished; the venue forgets it later.
      const wallNow = Date.now();
      const beforeCrash = await started({}, wallNow);
      const old = await restingBuy('rep-old');
      const oldId = old.request.clientOrderId;
      assert.equal((await beforeCrash.service.engine.placeOrder(old)).order.state.status, 'accepted');
      await beforeCrash.service.engine.cancelOrder({ venue: 'paper', account: 'main', clientOrderId: oldId });
      await eventually('canceled', () => orderOf(beforeCrash, oldId).status === 'canceled');
      await beforeCrash.service.engine.settled();
      await stopped(beforeCrash);
      ex.spy('paper').forgottenOrders.add(oldId);

      // The restart, 200 s later: its rebuild reads the last 120 s of the log, so the old
      // order is not in its table; the crash left a claim marked 90 s ago, nothing written.
      const restartAt = wallNow + 200_000;
      const crashed = await restingBuy('rep-crash');
      await plantMarkedClaim(crashed.request, restartAt - LATE_RETRY_MS);
      const restarted = await started(
        { rebuildLookbackMs: 120_000, fillReconcileLookbackMs: 120_000 },
        restartAt,
      );
      try {
        await assertRepaired(restarted, crashed);
        await assertNotWrittenAgain(restarted, old, { logged: await logged(oldId), atVenue: 1 });
      } finally {
        await stopped(restarted);
      }
    });
  });
}

for (const kind of TEST_BACKEND_KINDS) {
  describe(`execution (${kind}): a SUBMITTED the log refused, stored later by a retry, with the claim kept`, () => {
    let backend: TestBackend;
    let ex: Exchange;
    let svc: ServiceUnderTest;
    const publishes = new Gate();
    const releases = new Gate();
    let keepAlive: NodeJS.Timeout;

    before(async () => {
      keepAlive = setInterval(() => undefined, 1_000);
      backend = await openTestBackend(kind, { prefix: 'EXECREPAIRQ' });
      ex = newExchange();
      svc = newService({
        ...backend,
        log: gated<EventLog>(backend.log, ['publish', 'publishBatch'], publishes),
        state: gated<StateStore>(backend.state, ['releaseIdempotencyKey'], releases),
        directory: ex.directory,
        markWithWriteAhead: true,
        config: { notFoundAfterMs: 5_000, housekeepingIntervalMs: 20 },
      });
      await svc.service.start();
    });

    after(async () => {
      clearInterval(keepAlive);
      publishes.release();
      releases.release();
      await svc.service.stop();
      ex.hub.close();
      await backend.close();
    });

    test('its order is tracked again and settled (REJECTED), never sent', async () => {
      const { bid } = await ex.top('paper');
      const command = placeOrderCommandFromProto(
        limitRequest('paper', cid('rep-queued'), 'buy', bid.minus(300), '0.01'),
      );
      const id = command.request.clientOrderId;
      const claimOf = () => storedClaim(backend.state, id);
      const known = () => {
        try {
          return svc.service.engine.getOrder({ venue: 'paper', account: 'main', clientOrderId: id }).state;
        } catch {
          return undefined;
        }
      };
      publishes.hold();
      releases.hold();
      const placing = svc.service.engine.placeOrder(command);
      await eventually('the claim is marked submitted', async () => (await claimOf())?.s === 'submitted');
      // The log refuses the SUBMITTED (it stays queued for retry); giving the id back fails too.
      publishes.release(new Error('log refused the publish (test)'));
      await eventually('the placement gives the id back', () => releases.reached > 0);
      releases.release(new Error('store unreachable (test)'));
      await assert.rejects(placing, ExecutionUnavailableError);
      assert.equal((await claimOf())?.s, 'submitted', 'the claim stays marked');
      // Housekeeping's retry stores the queued SUBMITTED: its order is in the table again (its
      // echo on the tail is skipped as our own), so the table's proof holds for it.
      await eventually('the order stored late is tracked', () => known()?.status === 'submitted');
      svc.clock.now += 6_000;
      await eventually('settled with the venue', () => known()?.status === 'rejected', 10_000);
      assert.equal(atVenueOf(ex, id), 0, 'never sent');
      await svc.service.engine.settled();
      assert.deepEqual(timeline(await execEvents(backend.log, backend.stream('EXEC')), id), [
        'SUBMITTED',
        'REJECTED',
      ]);
    });
  });
}

function atVenueOf(ex: Exchange, clientOrderId: string): number {
  return ex.spy('paper').created.filter((r) => r.clientOrderId === clientOrderId).length;
}
