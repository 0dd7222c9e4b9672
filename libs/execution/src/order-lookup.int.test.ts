/**
 * GetOrder of a finished order execution no longer keeps in memory (pruned by
 * `maxTerminalOrders`): answered from its last view on the EXEC log, found through its
 * idempotency claim; by venue order id through the venue (which needs the instrument). On
 * both backends. Without the lookup, each of these answers NOT_FOUND.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import {
  ORDER_STATUS,
  type Order,
  type PlaceOrderRequest as ProtoPlaceOrderRequest,
} from '@perpmesh/contracts';
import { eventually, openTestBackend, TEST_BACKEND_KINDS, type TestBackend } from '@perpmesh/testing';
import { OrderNotFoundError } from './errors.js';
import { type Exchange, newExchange, newService, type ServiceUnderTest } from './harness.test-helper.js';
import { cid, limitRequest, marketRequest } from './scenarios.test-helper.js';
import { placeOrderCommandFromProto } from './validation.js';
import { orderToProto } from './wire.js';

const INSTRUMENT = 'BTC-USDC-PERP';

for (const kind of TEST_BACKEND_KINDS) {
  describe(`GetOrder beyond the orders kept in memory (${kind})`, () => {
    let backend: TestBackend;
    let ex: Exchange;
    let svc: ServiceUnderTest;
    const locator = (ids: { clientOrderId?: string; venueOrderId?: string; instrument?: string }) => ({
      venue: 'paper',
      account: 'main',
      ...ids,
    });
    const kept = (clientOrderId: string) => {
      try {
        svc.service.engine.getOrder(locator({ clientOrderId }));
        return true;
      } catch (err) {
        if (err instanceof OrderNotFoundError) return false;
        throw err;
      }
    };
    const place = async (req: ProtoPlaceOrderRequest): Promise<Order> =>
      orderToProto((await svc.service.engine.placeOrder(placeOrderCommandFromProto(req))).order);
    /** What GetOrder must keep telling of an order: all of its view but the correlation id. */
    const essentials = (o: Order) => ({
      clientOrderId: o.clientOrderId,
      venueOrderId: o.venueOrderId,
      instrument: o.instrument,
      side: o.side,
      type: o.type,
      status: o.status,
      size: o.size,
      filledSize: o.filledSize,
      averageFillPrice: o.averageFillPrice,
      feeTotal: o.feeTotal,
      feeCurrency: o.feeCurrency,
      createdAtMs: o.createdAtMs,
    });

    before(async () => {
      backend = await openTestBackend(kind, { prefix: 'EXECLOOKUP' });
      ex = newExchange();
      svc = newService({
        ...backend,
        directory: ex.directory,
        realTime: true,
        // One finished order kept: the second one finished pushes the first out.
        config: { maxTerminalOrders: 1, terminalOrderMinRetentionMs: 1, housekeepingIntervalMs: 50 },
      });
      await svc.service.start();
    });

    after(async () => {
      await svc.service.stop();
      ex.hub.close();
      await backend.close();
    });

    test('a filled and a canceled order, pruned from memory, answer with their final views', async () => {
      const filledId = cid('lookfill');
      const filled = await place(marketRequest('paper', filledId, 'buy', '0.01'));
      const { bid } = await ex.top('paper');
      const restingId = cid('lookcancel');
      await place(limitRequest('paper', restingId, 'buy', bid.minus(300), '0.01'));
      await svc.service.engine.cancelOrder(locator({ clientOrderId: restingId }), 'test-cancel');
      await svc.service.engine.settled();
      const canceled = orderToProto(svc.service.engine.getOrder(locator({ clientOrderId: restingId })));
      assert.equal(canceled.status, ORDER_STATUS.toProto('canceled'));
      // Two more finished orders: both above are pruned from the table.
      await place(marketRequest('paper', cid('lookpad'), 'sell', '0.01'));
      await place(marketRequest('paper', cid('lookpad'), 'buy', '0.01'));
      await eventually('both pruned from memory', () => !kept(filledId) && !kept(restingId), 10_000);

      const byClientId = await svc.service.engine.lookUpOrder(locator({ clientOrderId: filledId }));
      assert.deepEqual(essentials(byClientId), essentials(filled));
      assert.ok(Number(byClientId.feeTotal) > 0, 'its fees, from its fills');
      const canceledView = await svc.service.engine.lookUpOrder(locator({ clientOrderId: restingId }));
      assert.deepEqual(essentials(canceledView), essentials(canceled));

      const byVenueId = await svc.service.engine.lookUpOrder(
        locator({ venueOrderId: filled.venueOrderId, instrument: INSTRUMENT }),
      );
      assert.deepEqual(essentials(byVenueId), essentials(filled));
      assert.equal(filled.status, ORDER_STATUS.toProto('filled'));

      // CancelOrder of a finished order no longer kept: answered as it ended, nothing sent.
      const cancelsBefore = ex.spy('paper').calls.filter((c) => c === 'cancelOrder').length;
      const cancelAnswer = await svc.service.engine.cancelOrderAnswer(locator({ clientOrderId: filledId }));
      assert.deepEqual(essentials(cancelAnswer), essentials(filled));
      assert.equal(ex.spy('paper').calls.filter((c) => c === 'cancelOrder').length, cancelsBefore);
    });

    test('what it cannot look up is NOT_FOUND, naming what was missing', async () => {
      const filledId = cid('looknf');
      const filled = await place(marketRequest('paper', filledId, 'buy', '0.01'));
      await place(marketRequest('paper', cid('lookpad'), 'sell', '0.01'));
      await place(marketRequest('paper', cid('lookpad'), 'buy', '0.01'));
      await eventually('pruned from memory', () => !kept(filledId), 10_000);
      const notFound = (pattern: RegExp) => (err: unknown) =>
        err instanceof OrderNotFoundError && pattern.test(err.message);
      // By venue order id, without the instrument the venue needs.
      await assert.rejects(
        svc.service.engine.lookUpOrder(locator({ venueOrderId: filled.venueOrderId })),
        notFound(/name its instrument/),
      );
      // Never placed: no claim of its id.
      await assert.rejects(
        svc.service.engine.lookUpOrder(locator({ clientOrderId: cid('never') })),
        notFound(/no claim of its client order id/),
      );
      // A venue order id the venue does not know.
      await assert.rejects(
        svc.service.engine.lookUpOrder(locator({ venueOrderId: '999999999', instrument: INSTRUMENT })),
        notFound(/neither execution nor the venue knows it/),
      );
      // A cancel of what it cannot find stays NOT_FOUND.
      await assert.rejects(
        svc.service.engine.cancelOrderAnswer(locator({ clientOrderId: cid('never') })),
        notFound(/no order/),
      );
      // The right id on the wrong instrument.
      await assert.rejects(
        svc.service.engine.lookUpOrder(locator({ clientOrderId: filledId, instrument: 'ETH-USDC-PERP' })),
        notFound(/no order/),
      );
    });
  });
}
