/**
 * A PlaceOrder whose venue answer counts fills execution has not seen yet (README "Answered with
 * its fills"): the answer waits for them — from the user stream, else the fill catch-up — and
 * says FILLED with the fills folded; when neither brings them it answers, bounded, with what it
 * knows, and the fills still arrive as events later.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { PlaceOrderRequest as ProtoPlaceOrderRequest } from '@perpmesh/contracts';
import { toWire } from '@perpmesh/core';
import { eventually, openTestBackend, TEST_BACKEND_KINDS, type TestBackend } from '@perpmesh/testing';
import {
  type Exchange,
  execEvents,
  newExchange,
  newService,
  type ServiceUnderTest,
  type SpyVenue,
  timeline,
} from './harness.test-helper.js';
import { cid, marketRequest } from './scenarios.test-helper.js';
import { placeOrderCommandFromProto } from './validation.js';

const marketBuy = (clientOrderId: string, size: string) => marketRequest('paper', clientOrderId, 'buy', size);

const FILL_ANSWER_WAIT_MS = 800;

for (const kind of TEST_BACKEND_KINDS) {
  describe(`a venue answer ahead of its fills (${kind})`, () => {
    let backend: TestBackend;
    let ex: Exchange;
    let svc: ServiceUnderTest;
    let spy: SpyVenue;

    before(async () => {
      backend = await openTestBackend(kind, { prefix: 'EXECFILLS' });
      ex = newExchange();
      spy = ex.spy('paper');
      svc = newService({
        ...backend,
        directory: ex.directory,
        // The catch-up well after the stream's delay: which channel brought the fills is known.
        config: { fillCatchUpDelayMs: 300, fillAnswerWaitMs: FILL_ANSWER_WAIT_MS },
      });
      await svc.service.start();
    });

    after(async () => {
      await svc.service.stop();
      ex.hub.close();
      await backend.close();
    });

    const place = (req: ProtoPlaceOrderRequest) =>
      svc.service.engine.placeOrder(placeOrderCommandFromProto(req));

    test('fills on a user stream slower than the answer: the answer waits for them, FILLED', async () => {
      spy.userStreamDelayMs = 40;
      try {
        const id = cid('slowstream');
        const fetchesBefore = spy.calls.filter((c) => c === 'fetchFills').length;
        const result = await place(marketBuy(id, '0.01'));
        assert.equal(result.order.state.status, 'filled');
        assert.equal(toWire(result.order.state.filled), '0.01');
        assert.ok(result.order.state.avgFillPrice, 'an average fill price');
        assert.equal(
          spy.calls.filter((c) => c === 'fetchFills').length,
          fetchesBefore,
          'the stream brought the fills, no fetchFills',
        );
        await svc.service.engine.settled();
        const events = timeline(await execEvents(backend.log, backend.stream('EXEC')), id);
        assert.deepEqual([events[0], events[1], events.at(-1)], ['SUBMITTED', 'ACCEPTED', 'FILLED']);
        assert.ok(events.includes('fill'));
      } finally {
        spy.userStreamDelayMs = 0;
      }
    });

    test('no user stream: the fill catch-up brings them before the answer, FILLED', async () => {
      spy.deliverUserStream = false;
      try {
        const id = cid('nostream');
        const result = await place(marketBuy(id, '0.02'));
        assert.equal(result.order.state.status, 'filled');
        assert.equal(toWire(result.order.state.filled), '0.02');
        assert.ok(spy.calls.includes('fetchFills'));
      } finally {
        spy.deliverUserStream = true;
      }
    });

    test('neither channel brings them: answered within the bound with the fills known, the rest later', async () => {
      spy.deliverUserStream = false;
      spy.fetchFillsWorks = false;
      const id = cid('nofills');
      let result: Awaited<ReturnType<typeof place>>;
      const started = performance.now();
      try {
        result = await place(marketBuy(id, '0.01'));
        const tookMs = performance.now() - started;
        assert.equal(result.order.state.status, 'accepted');
        assert.equal(toWire(result.order.state.filled), '0');
        assert.ok(tookMs >= FILL_ANSWER_WAIT_MS - 5, `waited the bound (${tookMs.toFixed(0)} ms)`);
        // The venue's fill history answers again: the next catch-up (another order's) brings
        // the first order's fills too.
        spy.fetchFillsWorks = true;
        const again = await place(marketBuy(cid('nudge'), '0.01'));
        assert.equal(again.order.state.status, 'filled');
        await eventually('the first order FILLED from the catch-up', () => {
          const order = svc.service.engine.getOrder({ venue: 'paper', account: 'main', clientOrderId: id });
          return order.state.status === 'filled' ? order : undefined;
        });
      } finally {
        spy.deliverUserStream = true;
        spy.fetchFillsWorks = true;
      }
    });
  });
}
