/**
 * Test-only: the execution service's behaviour, as one suite run on each backend pair
 * (embedded log + store, NATS + Redis), against the paper exchange.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import {
  OrderType,
  type PlaceOrderRequest as ProtoPlaceOrderRequest,
  Side,
  TimeInForce,
} from '@perpmesh/contracts';
import { type Decimal, dec, toWire, ValidationError } from '@perpmesh/core';
import { eventually, openTestBackend, type TestBackend, type TestBackendKind } from '@perpmesh/testing';
import { SimulatedCrashError } from './errors.js';
import {
  BTC,
  type Exchange,
  execEvents,
  newExchange,
  newService,
  type ServiceUnderTest,
  timeline,
} from './harness.test-helper.js';
import { placeOrderCommandFromProto } from './validation.js';

let seq = 0;
/** A client order id unique within the run. */
export function cid(prefix = 'o'): string {
  seq += 1;
  return `${prefix}-${process.pid}-${Date.now().toString(36)}-${seq}`;
}

export function limitRequest(
  venue: string,
  clientOrderId: string,
  side: 'buy' | 'sell',
  price: Decimal,
  size: string,
): ProtoPlaceOrderRequest {
  return {
    clientOrderId,
    venue,
    account: 'main',
    instrument: BTC,
    side: side === 'buy' ? Side.SIDE_BUY : Side.SIDE_SELL,
    type: OrderType.ORDER_TYPE_LIMIT,
    timeInForce: TimeInForce.TIME_IN_FORCE_GTC,
    price: toWire(price),
    size,
    reduceOnly: false,
    correlationId: '',
  };
}

/** A market (IOC) order of `account` on `venue`. */
export function marketRequest(
  venue: string,
  clientOrderId: string,
  side: 'buy' | 'sell',
  size: string,
  account = 'main',
): ProtoPlaceOrderRequest {
  return {
    clientOrderId,
    venue,
    account,
    instrument: BTC,
    side: side === 'buy' ? Side.SIDE_BUY : Side.SIDE_SELL,
    type: OrderType.ORDER_TYPE_MARKET,
    timeInForce: TimeInForce.TIME_IN_FORCE_IOC,
    price: '',
    size,
    reduceOnly: false,
    correlationId: '',
  };
}

export function describeExecutionScenarios(kind: TestBackendKind): void {
  describe(`execution service (${kind})`, () => {
    let backend: TestBackend;
    let ex: Exchange;
    let svc: ServiceUnderTest;
    const started: ServiceUnderTest[] = [];

    const start = async (s: ServiceUnderTest) => {
      started.push(s);
      await s.service.start();
      return s;
    };
    const place = async (req: ProtoPlaceOrderRequest, s: ServiceUnderTest = svc) =>
      s.service.engine.placeOrder(placeOrderCommandFromProto(req));

    before(async () => {
      backend = await openTestBackend(kind, { prefix: 'EXEC' });
      ex = newExchange();
      svc = await start(
        newService({ ...backend, directory: ex.directory, config: { notFoundAfterMs: 5_000 } }),
      );
    });

    after(async () => {
      for (const s of started) await s.service.stop();
      ex.hub.close();
      await backend.close();
    });

    test('starts reconciled: every account ready, with reasons while not', () => {
      const report = svc.health.readiness();
      assert.equal(report.ready, true, JSON.stringify(report.components));
      const names = report.components.map((c) => c.name);
      assert.ok(names.includes('paper/main/reconciliation'));
      assert.ok(names.includes('paper-lighter/main/execution_user_stream'));
    });

    test('a resting order that then fills: SUBMITTED → ACCEPTED → fill → FILLED', async () => {
      const id = cid('fill');
      const { bid } = await ex.top('paper');
      const price = bid.plus('0.1'); // inside the spread: alone at the top of the book
      const result = await place(limitRequest('paper', id, 'buy', price, '0.01'));
      assert.equal(result.replayed, false);
      assert.equal(result.order.state.status, 'accepted');
      // Another account takes it.
      await ex.hub.venue('paper', 'taker').createOrder({
        clientOrderId: cid('taker'),
        instrument: BTC,
        side: 'sell',
        type: 'market',
        timeInForce: 'ioc',
        size: dec('0.01'),
        reduceOnly: false,
      });
      await svc.service.engine.settled();
      const order = svc.service.engine.getOrder({ venue: 'paper', account: 'main', clientOrderId: id });
      assert.equal(order.state.status, 'filled');
      assert.equal(toWire(order.state.filled), '0.01');
      assert.equal(order.feeCurrency, 'USDC');
      const events = await execEvents(backend.log, backend.stream('EXEC'));
      assert.deepEqual(timeline(events, id), ['SUBMITTED', 'ACCEPTED', 'fill', 'FILLED']);
    });

    test('the same client_order_id twice places one order (replayed); 20 concurrent place one', async () => {
      const spy = ex.spy('paper');
      const { bid } = await ex.top('paper');
      const price = bid.minus(500);
      const id = cid('dup');
      const before = spy.created.length;
      const first = await place(limitRequest('paper', id, 'buy', price, '0.01'));
      const second = await place(limitRequest('paper', id, 'buy', price, '0.01'));
      assert.equal(first.replayed, false);
      assert.equal(second.replayed, true);
      assert.equal(second.order.state.clientOrderId, id);
      assert.equal(spy.created.length - before, 1, 'one createOrder');

      const id20 = cid('dup20');
      const before20 = spy.created.length;
      const results = await Promise.all(
        Array.from({ length: 20 }, () => place(limitRequest('paper', id20, 'buy', price, '0.01'))),
      );
      assert.equal(spy.created.length - before20, 1, 'one createOrder for 20 concurrent requests');
      assert.equal(results.filter((r) => !r.replayed).length, 1);
      for (const r of results) {
        assert.equal(r.order.state.clientOrderId, id20);
        assert.equal(r.order.state.status, 'accepted');
      }
      const open = await spy.inner.fetchOpenOrders(BTC);
      assert.equal(open.filter((o) => o.clientOrderId === id20).length, 1, 'one order at the venue');

      // The same id for a different order is a caller bug, not a replay.
      await assert.rejects(place(limitRequest('paper', id20, 'buy', price, '0.02')), (err: unknown) => {
        assert.ok(err instanceof ValidationError);
        assert.equal(err.field, 'client_order_id');
        return true;
      });
    });

    test('concurrent orders to a venue without nonces share batch calls: each written ahead and placed once; a refusal fails only its order', async () => {
      const spy = ex.spy('paper');
      const { bid, ask } = await ex.top('paper');
      const callsBefore = spy.calls.length;
      const createdBefore = spy.created.length;
      const ids = Array.from({ length: 12 }, () => cid('batch'));
      // The fourth would take liquidity as post-only: the venue refuses it and does not look
      // at the ones after it in its batch, which go again in the next batch.
      const crossing = ids[3] as string;
      const requests = ids.map((id) =>
        id === crossing
          ? {
              ...limitRequest('paper', id, 'buy', ask.plus(10), '0.01'),
              timeInForce: TimeInForce.TIME_IN_FORCE_POST_ONLY,
            }
          : limitRequest('paper', id, 'buy', bid.minus(450), '0.01'),
      );
      // Each order of a batch has its SUBMITTED stored before the batch goes to the venue.
      const notWrittenAhead: string[] = [];
      spy.beforeBatch = async (batch) => {
        const stored = await execEvents(backend.log, backend.stream('EXEC'));
        for (const r of batch)
          if (!timeline(stored, r.clientOrderId).includes('SUBMITTED')) notWrittenAhead.push(r.clientOrderId);
      };
      const results = await Promise.all(requests.map((r) => place(r))).finally(() => {
        spy.beforeBatch = undefined;
      });
      assert.deepEqual(notWrittenAhead, [], 'sent in a batch before its SUBMITTED was stored');
      const batchCalls = spy.calls.slice(callsBefore).filter((c) => c === 'createOrders').length;
      assert.ok(
        batchCalls >= 1,
        `orders went out in batch calls: ${spy.calls.slice(callsBefore).join(', ')}`,
      );
      for (const [n, r] of results.entries()) {
        assert.equal(r.replayed, false);
        assert.equal(r.order.state.status, ids[n] === crossing ? 'rejected' : 'accepted', ids[n]);
      }
      const open = await spy.inner.fetchOpenOrders(BTC);
      for (const id of ids) {
        assert.equal(
          open.filter((o) => o.clientOrderId === id).length,
          id === crossing ? 0 : 1,
          `${id} at the venue`,
        );
      }
      // Each order reached the venue once, except those a refusal passed over (sent again: nothing was done the first time).
      const sent = spy.created.slice(createdBefore).map((r) => r.clientOrderId);
      assert.deepEqual(new Set(sent), new Set(ids));
      await svc.service.engine.settled();
      const events = await execEvents(backend.log, backend.stream('EXEC'));
      for (const id of ids)
        assert.deepEqual(
          timeline(events, id),
          id === crossing ? ['SUBMITTED', 'REJECTED'] : ['SUBMITTED', 'ACCEPTED'],
          id,
        );
    });

    test('bad requests name the field and reach no venue', async () => {
      const spy = ex.spy('paper');
      const before = spy.created.length;
      const { bid } = await ex.top('paper');
      const good = limitRequest('paper', cid('bad'), 'buy', bid.minus(500), '0.01');
      const cases: [string, Partial<ProtoPlaceOrderRequest>][] = [
        ['instrument', { instrument: 'DOGE-USDC-PERP' }],
        ['size', { size: '-1' }],
        ['size', { size: '0.0001' }], // below lot 0.001
        ['price', { price: toWire(bid.minus(500).plus('0.05')) }], // off the 0.1 tick
        ['client_order_id', { clientOrderId: '' }],
        ['client_order_id', { clientOrderId: 'has spaces' }],
        ['venue', { venue: 'nowhere' }],
        ['account', { account: 'ghost' }],
        ['side', { side: Side.SIDE_UNSPECIFIED }],
        ['price', { type: OrderType.ORDER_TYPE_MARKET, timeInForce: TimeInForce.TIME_IN_FORCE_IOC }],
        ['time_in_force', { type: OrderType.ORDER_TYPE_MARKET, price: '' }],
        ['size', { size: '0.001' }], // notional below 100 USDC
      ];
      for (const [field, patch] of cases) {
        await assert.rejects(place({ ...good, ...patch }), (err: unknown) => {
          assert.ok(err instanceof ValidationError, `${field}: ${String(err)}`);
          assert.equal(err.field, field, `${JSON.stringify(patch)} → ${err.message}`);
          return true;
        });
      }
      assert.equal(spy.created.length, before, 'nothing sent to the venue');
    });

    test('an unknown outcome is resolved by fetchOrder, never resent', async () => {
      const spy = ex.spy('paper');
      const { bid } = await ex.top('paper');
      // The venue got it; the answer was lost (and the user stream is down, so only asking tells).
      spy.createOrderMode = 'timeout';
      spy.deliverUserStream = false;
      const id = cid('unk');
      const before = spy.created.length;
      try {
        const result = await place(limitRequest('paper', id, 'buy', bid.minus(400), '0.01'));
        assert.equal(result.order.state.status, 'submitted', 'in flight');
      } finally {
        spy.createOrderMode = 'normal';
        spy.deliverUserStream = true;
      }
      await svc.service.engine.settled();
      const resolved = svc.service.engine.getOrder({ venue: 'paper', account: 'main', clientOrderId: id });
      assert.equal(resolved.state.status, 'accepted');
      assert.equal(spy.created.length - before, 1, 'sent once');

      // The request never arrived: after the bound it is REJECTED, still never resent.
      spy.createOrderMode = 'lost';
      const lost = cid('lost');
      try {
        const result = await place(limitRequest('paper', lost, 'buy', bid.minus(400), '0.01'));
        assert.equal(result.order.state.status, 'submitted');
      } finally {
        spy.createOrderMode = 'normal';
      }
      await svc.service.engine.settled();
      const rejected = svc.service.engine.getOrder({ venue: 'paper', account: 'main', clientOrderId: lost });
      assert.equal(rejected.state.status, 'rejected');
      assert.match(rejected.state.reason ?? '', /not found at venue/);
      assert.equal(spy.created.filter((r) => r.clientOrderId === lost).length, 1, 'never resent');
      assert.equal(await spy.inner.fetchOrder({ instrument: BTC, clientOrderId: lost }), undefined);
    });

    test('cancel one, then cancel all: CANCEL_REQUESTED → CANCELED, nothing left open', async () => {
      const { bid } = await ex.top('paper');
      const ids = [cid('c'), cid('c'), cid('c')];
      for (const id of ids) await place(limitRequest('paper', id, 'buy', bid.minus(300), '0.01'));
      const canceled = await svc.service.engine.cancelOrder({
        venue: 'paper',
        account: 'main',
        clientOrderId: ids[0],
      });
      assert.equal(canceled.state.status, 'canceled');
      const all = await svc.service.engine.cancelAllOrders({ venue: 'paper', account: 'main' });
      assert.ok(all.length >= 2);
      for (const o of all) assert.equal(o.state.status, 'canceled', o.state.clientOrderId);
      await svc.service.engine.settled();
      assert.deepEqual(svc.service.engine.listOpenOrders({ venue: 'paper', account: 'main' }), []);
      assert.deepEqual(await ex.spy('paper').inner.fetchOpenOrders(), []);
      const events = await execEvents(backend.log, backend.stream('EXEC'));
      assert.deepEqual(timeline(events, ids[0]!), ['SUBMITTED', 'ACCEPTED', 'CANCEL_REQUESTED', 'CANCELED']);
      assert.deepEqual(timeline(events, ids[1]!), ['SUBMITTED', 'ACCEPTED', 'CANCEL_REQUESTED', 'CANCELED']);
    });

    test('a crash between the venue ack and the publish is reconciled on restart: one ACCEPTED, one fill', async () => {
      const spy = ex.spy('paper');
      const id = cid('crash');
      const crashing = await start(
        newService({
          ...backend,
          directory: ex.directory,
          instance: 'crashing',
          hooks: {
            afterVenueAck: () => {
              throw new SimulatedCrashError('after the venue ack, before the publish');
            },
          },
        }),
      );
      const { ask } = await ex.top('paper');
      // The dying process hears nothing more from the venue.
      spy.deliverUserStream = false;
      try {
        await assert.rejects(
          place(limitRequest('paper', id, 'buy', ask.plus(50), '0.01'), crashing),
          SimulatedCrashError,
        );
      } finally {
        await crashing.service.stop();
        spy.deliverUserStream = true;
      }
      let events = await execEvents(backend.log, backend.stream('EXEC'));
      assert.deepEqual(timeline(events, id), ['SUBMITTED'], 'only the write-ahead record made it');

      const restarted = await start(
        newService({ ...backend, directory: ex.directory, instance: 'restarted' }),
      );
      await restarted.service.engine.settled();
      const order = restarted.service.engine.getOrder({ venue: 'paper', account: 'main', clientOrderId: id });
      assert.equal(order.state.status, 'filled');
      events = await execEvents(backend.log, backend.stream('EXEC'));
      const t = timeline(events, id);
      assert.equal(t.filter((k) => k === 'ACCEPTED').length, 1, t.join(' '));
      assert.equal(t.filter((k) => k === 'fill').length, 1, t.join(' '));
      assert.equal(spy.created.filter((r) => r.clientOrderId === id).length, 1, 'the venue got one order');
      const venueFills = (await spy.inner.fetchFills(0)).filter((f) => f.clientOrderId === id);
      assert.equal(venueFills.length, 1);
      // The first service is still running and learns the outcome through the log too.
      await eventually(
        'the other replica sees the reconciled order',
        () =>
          svc.service.engine.getOrder({ venue: 'paper', account: 'main', clientOrderId: id }).state.status ===
          'filled',
      );
      await restarted.service.stop();
    });

    test('two replicas sharing the state store: 200 concurrent orders on a strict-nonce venue, no nonce reused', async () => {
      const spy = ex.spy('paper-lighter');
      assert.equal(spy.capabilities.nonces, true);
      const second = await start(
        newService({
          ...backend,
          // A second replica's own connections (embedded: one process, the same instances).
          log: await backend.secondLog(),
          state: await backend.secondState(),
          directory: ex.directory,
          instance: 'replica-2',
        }),
      );
      const { bid } = await ex.top('paper-lighter');
      const price = bid.minus(1000);
      const before = spy.created.length;
      const results = await Promise.all(
        Array.from({ length: 200 }, (_, i) =>
          place(
            limitRequest('paper-lighter', cid(`n${i % 2}`), 'buy', price, '0.001'),
            i % 2 === 0 ? svc : second,
          ),
        ),
      );
      const statuses = new Map<string, number>();
      for (const r of results)
        statuses.set(r.order.state.status, (statuses.get(r.order.state.status) ?? 0) + 1);
      assert.deepEqual([...statuses], [['accepted', 200]], 'the venue accepted every order');
      const sent = spy.created.slice(before);
      const accepted = new Set(results.map((r) => r.order.state.clientOrderId));
      const acceptedNonces = sent.filter((r) => accepted.has(r.clientOrderId)).map((r) => r.nonce);
      assert.ok(acceptedNonces.every((n) => typeof n === 'bigint'));
      assert.equal(new Set(acceptedNonces.map(String)).size, acceptedNonces.length, 'no nonce used twice');
      const open = await spy.inner.fetchOpenOrders(BTC);
      assert.equal(open.filter((o) => accepted.has(o.clientOrderId)).length, 200);

      // Each replica knows the other's orders (through the log) and replays them.
      const fromFirst = results[0]!.order.state.clientOrderId;
      await eventually(
        'replica 2 follows replica 1 on the log',
        () => second.service.engine.listOpenOrders({ venue: 'paper-lighter' }).length >= 200,
      );
      const replay = await place(limitRequest('paper-lighter', fromFirst, 'buy', price, '0.001'), second);
      assert.equal(replay.replayed, true);
      assert.equal(spy.created.length - before - sent.length, 0, 'the replay sent nothing');
      await second.service.engine.cancelAllOrders({ venue: 'paper-lighter', account: 'main' });
      await eventually(
        'replica 1 follows the cancels',
        () => svc.service.engine.listOpenOrders({ venue: 'paper-lighter' }).length === 0,
      );
    });
  });
}
