import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { ORDER_EVENT_KIND } from '@perpmesh/contracts';
import { dec, evolveOrder, type OrderRequest } from '@perpmesh/core';
import type { VenueFill } from '@perpmesh/venues';
import { limitOrderRequest } from './fixtures.test-helper.js';
import type { TrackedOrder } from './orders.js';
import {
  CANCEL_REJECTED_REASON_PREFIX,
  fillEnvelope,
  orderEventEnvelope,
  orderEventFromLog,
  orderRequestFromProto,
  orderToProto,
} from './wire.js';

const T0 = 1_700_000_000_000;
const request: OrderRequest = limitOrderRequest('c1', { price: dec('60000.1') });

function tracked(): TrackedOrder {
  return {
    state: evolveOrder(undefined, { kind: 'submitted', order: request, tsEventMs: T0 }),
    correlationId: 'corr-1',
    feeCurrency: 'USDC',
    cancelRequests: 0,
    cancelCorrelationId: '',
    venueOrderIdHint: undefined,
    submittedEventId: '',
    publishChain: Promise.resolve(),
  };
}

const fill: VenueFill = {
  tradeId: 't-1',
  venueOrderId: 'v-1',
  clientOrderId: 'c1',
  instrument: 'BTC-USDC-PERP',
  side: 'buy',
  price: dec('60000.1'),
  size: dec('0.004'),
  fee: dec('-0.0000001'),
  feeCurrency: 'USDC',
  liquidity: 'maker',
  tsEventMs: T0 + 5,
};

describe('exec wire', () => {
  test("a cancel's events carry the canceling decision; the placing one stays in the payload", () => {
    const o = tracked();
    o.state = evolveOrder(o.state, { kind: 'accepted', venueOrderId: 'v-1', tsEventMs: T0 + 1 });
    o.cancelCorrelationId = 'cancel-decision';
    const ctx = { source: 's', tsInitMs: T0, tsEventMs: T0 + 2, cancelRound: true };
    const accepted = orderEventEnvelope(o, ctx);
    assert.equal(accepted.correlationId, 'corr-1');
    o.state = evolveOrder(o.state, { kind: 'cancel_requested', tsEventMs: T0 + 2 });
    const requested = orderEventEnvelope(o, ctx);
    assert.equal(requested.correlationId, 'cancel-decision');
    assert.equal(
      requested.payload?.$case === 'orderEvent' ? requested.payload.value.order?.correlationId : '',
      'corr-1',
    );
    const refused = orderEventEnvelope(
      { ...o, state: evolveOrder(o.state, { kind: 'cancel_rejected', reason: 'no', tsEventMs: T0 + 3 }) },
      { ...ctx, reason: `${CANCEL_REJECTED_REASON_PREFIX}no` },
    );
    assert.equal(refused.correlationId, 'cancel-decision');
    o.state = evolveOrder(o.state, { kind: 'canceled', tsEventMs: T0 + 4 });
    assert.equal(orderEventEnvelope(o, ctx).correlationId, 'cancel-decision');
    // A cancel that named nothing (an operator's): the placing decision, as before.
    o.cancelCorrelationId = '';
    assert.equal(orderEventEnvelope(o, ctx).correlationId, 'corr-1');
  });

  test('the same fact gets the same id whoever derives it and whenever', () => {
    const a = orderEventEnvelope(tracked(), {
      source: 'execution/a',
      tsInitMs: T0 + 1,
      tsEventMs: T0,
      cancelRound: false,
    });
    const b = orderEventEnvelope(tracked(), {
      source: 'execution/b',
      tsInitMs: T0 + 999,
      tsEventMs: T0 + 3,
      cancelRound: false,
    });
    assert.equal(a.id, b.id);
    const o = tracked();
    o.state = evolveOrder(o.state, { kind: 'accepted', venueOrderId: 'v-1', tsEventMs: T0 + 2 });
    const accepted = orderEventEnvelope(o, {
      source: 's',
      tsInitMs: T0,
      tsEventMs: T0 + 2,
      cancelRound: false,
    });
    assert.notEqual(accepted.id, a.id);
    assert.equal(
      fillEnvelope(o, fill, { source: 'x', tsInitMs: T0 }).id,
      fillEnvelope(tracked(), fill, { source: 'y', tsInitMs: T0 + 7 }).id,
    );
  });

  test('a repeated cancel request is a new fact; the first one is not', () => {
    const o = tracked();
    o.state = evolveOrder(o.state, { kind: 'accepted', venueOrderId: 'v-1', tsEventMs: T0 });
    const accepted = orderEventEnvelope(o, {
      source: 's',
      tsInitMs: T0,
      tsEventMs: T0,
      cancelRound: false,
    }).id;
    o.state = evolveOrder(o.state, { kind: 'cancel_requested', tsEventMs: T0 });
    o.cancelRequests = 1;
    const first = orderEventEnvelope(o, { source: 's', tsInitMs: T0, tsEventMs: T0, cancelRound: true }).id;
    o.state = evolveOrder(o.state, { kind: 'cancel_rejected', reason: 'too late', tsEventMs: T0 });
    const back = orderEventEnvelope(o, { source: 's', tsInitMs: T0, tsEventMs: T0, cancelRound: true }).id;
    assert.notEqual(back, accepted, 'back to accepted after a refused cancel is not the first ack');
    o.state = evolveOrder(o.state, { kind: 'cancel_requested', tsEventMs: T0 });
    o.cancelRequests = 2;
    assert.notEqual(
      orderEventEnvelope(o, { source: 's', tsInitMs: T0, tsEventMs: T0, cancelRound: true }).id,
      first,
    );
  });

  test('order views round-trip the request; log events map back to domain events', () => {
    const o = tracked();
    const view = orderToProto(o);
    assert.equal(view.price, '60000.1');
    assert.equal(view.correlationId, 'corr-1');
    const back = orderRequestFromProto(view);
    assert.equal(back.price?.toFixed(), '60000.1');
    assert.equal(back.size.toFixed(), '0.01');
    assert.deepEqual(orderEventFromLog('accepted', { ...view, venueOrderId: 'v-9' }, '', 'submitted', T0), {
      kind: 'accepted',
      venueOrderId: 'v-9',
      tsEventMs: T0,
    });
    assert.deepEqual(
      orderEventFromLog('accepted', view, `${CANCEL_REJECTED_REASON_PREFIX}too late`, 'cancel_requested', T0),
      { kind: 'cancel_rejected', reason: 'too late', tsEventMs: T0 },
    );
    // Fill-driven kinds carry nothing the exec.fill events do not.
    assert.equal(orderEventFromLog('filled', view, '', 'accepted', T0), undefined);
    assert.equal(ORDER_EVENT_KIND.toProto('canceled') > 0, true);
  });
});
