import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { type Envelope, ORDER_EVENT_KIND } from '@perpmesh/contracts';
import { dec, type OrderEvent, type OrderRequest, type OrderStatus } from '@perpmesh/core';
import type { VenueFill, VenueOrder } from '@perpmesh/venues';
import { limitOrderRequest } from './fixtures.test-helper.js';
import { newTrackedOrder, type OrderView } from './orders.js';
import {
  orderEventOfVenueFill,
  orderEventsOfVenueOrder,
  orderViewFromVenue,
  reportIds,
  reportTarget,
  transitionOrder,
  venueIsAheadOnFills,
  venueOrderIdHintOf,
  venueReportOf,
} from './venue-reports.js';
import { CANCEL_REJECTED_REASON_PREFIX, type EnvelopeContext } from './wire.js';

const T0 = 1_700_000_000_000;
const request: OrderRequest = limitOrderRequest('c1');
const ctxA: EnvelopeContext = { source: 'execution/a', tsInitMs: T0 + 100 };
const ctxB: EnvelopeContext = { source: 'execution/b', tsInitMs: T0 + 900 };

function submitted(): OrderView {
  const order = newTrackedOrder(request, 'corr', T0, 'USDC');
  order.submittedEventId = 'submitted-id';
  return order;
}

function venueOrder(status: OrderStatus, patch: Partial<VenueOrder> = {}): VenueOrder {
  return {
    clientOrderId: 'c1',
    venueOrderId: 'v1',
    instrument: 'BTC-USDC-PERP',
    side: 'buy',
    type: 'limit',
    timeInForce: 'gtc',
    price: dec('60000'),
    size: dec('0.01'),
    filled: dec('0'),
    status,
    reduceOnly: false,
    tsEventMs: T0 + 10,
    ...patch,
  };
}

function venueFill(tradeId: string, size: string, tsEventMs = T0 + 20): VenueFill {
  return {
    tradeId,
    venueOrderId: 'v1',
    clientOrderId: 'c1',
    instrument: 'BTC-USDC-PERP',
    side: 'buy',
    price: dec('60000'),
    size: dec(size),
    fee: dec('0.012'),
    feeCurrency: 'USDC',
    liquidity: 'maker',
    tsEventMs,
  };
}

/** Folds events (venue views and fills) in order; returns the final view and every envelope. */
function run(
  steps: ({ order: VenueOrder } | { fill: VenueFill } | { event: OrderEvent })[],
  ctx: EnvelopeContext = ctxA,
  start: OrderView = submitted(),
): { order: OrderView; envelopes: Envelope[] } {
  let order = start;
  const envelopes: Envelope[] = [];
  for (const step of steps) {
    const events =
      'order' in step
        ? orderEventsOfVenueOrder(step.order)
        : 'fill' in step
          ? [orderEventOfVenueFill(step.fill)]
          : [step.event];
    for (const event of events) {
      const t = transitionOrder(order, event, { fill: 'fill' in step ? step.fill : undefined, ctx });
      assert.notEqual(t.kind, 'illegal', `${event.kind} on ${order.state.status}`);
      if (t.kind === 'changed') {
        order = t.order;
        envelopes.push(...t.envelopes);
      }
    }
  }
  return { order, envelopes };
}

/** `ACCEPTED`, `fill`, `PARTIALLY_FILLED`... */
function kinds(envelopes: Envelope[]): string[] {
  return envelopes.map((e) =>
    e.payload?.$case === 'fill'
      ? 'fill'
      : e.payload?.$case === 'orderEvent'
        ? ORDER_EVENT_KIND.fromProto(e.payload.value.kind, 'kind').toUpperCase()
        : '?',
  );
}

describe('venue reports → order events', () => {
  test('each status of a venue order view maps to the events it implies', () => {
    assert.deepEqual(orderEventsOfVenueOrder(venueOrder('submitted')), []);
    for (const status of ['accepted', 'partially_filled', 'filled', 'cancel_requested'] as const) {
      // A snapshot only acks: fills come with their trade ids.
      assert.deepEqual(orderEventsOfVenueOrder(venueOrder(status)), [
        { kind: 'accepted', venueOrderId: 'v1', tsEventMs: T0 + 10 },
      ]);
      assert.deepEqual(orderEventsOfVenueOrder(venueOrder(status, { venueOrderId: '' })), [], status);
    }
    assert.deepEqual(orderEventsOfVenueOrder(venueOrder('rejected', { reason: 'post only would cross' })), [
      { kind: 'rejected', reason: 'post only would cross', tsEventMs: T0 + 10 },
    ]);
    assert.deepEqual(orderEventsOfVenueOrder(venueOrder('rejected')), [
      { kind: 'rejected', reason: 'rejected by the venue', tsEventMs: T0 + 10 },
    ]);
    assert.deepEqual(orderEventsOfVenueOrder(venueOrder('canceled', { reason: 'self trade' })), [
      { kind: 'canceled', reason: 'self trade', tsEventMs: T0 + 10 },
    ]);
    assert.deepEqual(orderEventsOfVenueOrder(venueOrder('canceled')), [
      { kind: 'canceled', tsEventMs: T0 + 10 },
    ]);
    assert.deepEqual(orderEventsOfVenueOrder(venueOrder('expired')), [
      { kind: 'expired', tsEventMs: T0 + 10 },
    ]);
  });

  test('each status path: what is published, in order', () => {
    assert.deepEqual(kinds(run([{ order: venueOrder('accepted') }]).envelopes), ['ACCEPTED']);
    assert.deepEqual(kinds(run([{ order: venueOrder('rejected') }]).envelopes), ['REJECTED']);
    // An IOC that found nothing: canceled without an ack.
    assert.deepEqual(kinds(run([{ order: venueOrder('canceled') }]).envelopes), ['CANCELED']);
    assert.deepEqual(
      kinds(run([{ order: venueOrder('accepted') }, { order: venueOrder('expired') }]).envelopes),
      ['ACCEPTED', 'EXPIRED'],
    );
    const canceled = run([
      { order: venueOrder('accepted') },
      { event: { kind: 'cancel_requested', tsEventMs: T0 + 30 } },
      { order: venueOrder('canceled', { reason: 'by request' }) },
    ]);
    assert.deepEqual(kinds(canceled.envelopes), ['ACCEPTED', 'CANCEL_REQUESTED', 'CANCELED']);
    const last = canceled.envelopes.at(-1)!;
    assert.equal(last.payload?.$case === 'orderEvent' && last.payload.value.reason, 'by request');
    assert.equal(last.causationId, 'submitted-id');
  });

  test('partial fills: a fill event before the order event it causes; the venue view never counts fills', () => {
    const partly = run([{ order: venueOrder('accepted') }, { fill: venueFill('t1', '0.004') }]);
    assert.deepEqual(kinds(partly.envelopes), ['ACCEPTED', 'fill', 'PARTIALLY_FILLED']);
    assert.equal(partly.order.state.filled.toFixed(), '0.004');
    // The venue says more is filled than we know: its fills are to be fetched, not guessed.
    const ahead = venueOrder('partially_filled', { filled: dec('0.007') });
    assert.equal(venueIsAheadOnFills(partly.order.state, ahead), true);
    assert.equal(
      venueIsAheadOnFills(partly.order.state, venueOrder('partially_filled', { filled: dec('0.004') })),
      false,
    );
    const applied = run([{ order: ahead }], ctxA, partly.order);
    assert.deepEqual(applied.envelopes, [], 'a snapshot adds no fill');
    const full = run([{ fill: venueFill('t2', '0.006', T0 + 40) }], ctxA, partly.order);
    assert.deepEqual(kinds(full.envelopes), ['fill', 'FILLED']);
    assert.equal(full.order.state.status, 'filled');
    assert.equal(full.order.state.fees.toFixed(), '0.024');
  });

  test('a fill after a cancel is counted and the order stays canceled', () => {
    const canceled = run([
      { order: venueOrder('accepted') },
      { event: { kind: 'cancel_requested', tsEventMs: T0 + 30 } },
      { order: venueOrder('canceled') },
    ]);
    const late = run([{ fill: venueFill('t1', '0.004') }], ctxA, canceled.order);
    assert.equal(late.order.state.status, 'canceled');
    assert.equal(late.order.state.filled.toFixed(), '0.004');
    // The fill, then the order event that records the new filled size (same status).
    assert.deepEqual(kinds(late.envelopes), ['fill', 'CANCELED']);
    assert.notEqual(late.envelopes[1]!.id, canceled.envelopes.at(-1)!.id, 'a new fact: filled moved');
  });

  test('a fill after a cancel request keeps the request pending; a refused cancel returns with the prefix', () => {
    const requested = run([
      { order: venueOrder('accepted') },
      { event: { kind: 'cancel_requested', tsEventMs: T0 + 30 } },
      { fill: venueFill('t1', '0.004') },
    ]);
    assert.equal(requested.order.state.status, 'cancel_requested');
    const refused = run(
      [{ event: { kind: 'cancel_rejected', reason: 'too late', tsEventMs: T0 + 50 } }],
      ctxA,
      requested.order,
    );
    assert.equal(refused.order.state.status, 'partially_filled');
    const e = refused.envelopes[0]!;
    assert.equal(
      e.payload?.$case === 'orderEvent' && e.payload.value.reason,
      `${CANCEL_REJECTED_REASON_PREFIX}too late`,
    );
  });

  test('duplicates publish nothing; a repeated fill changes nothing', () => {
    const once = run([{ order: venueOrder('accepted') }, { fill: venueFill('t1', '0.004') }]);
    const order = once.order;
    // A repeated ack may refresh the state's time; it moves neither status nor filled: nothing to publish.
    const ack = transitionOrder(order, orderEventsOfVenueOrder(venueOrder('accepted'))[0]!, { ctx: ctxA });
    assert.deepEqual(ack.kind === 'changed' ? ack.envelopes : [], []);
    assert.equal(ack.kind === 'changed' && ack.order.state.status, 'partially_filled');
    const t1 = venueFill('t1', '0.004');
    assert.equal(
      transitionOrder(order, orderEventOfVenueFill(t1), { fill: t1, ctx: ctxA }).kind,
      'unchanged',
    );
  });

  test('a report that does not fit the order is reported, never thrown', () => {
    const filled = run([{ order: venueOrder('accepted') }, { fill: venueFill('t1', '0.01') }]).order;
    const rejected = transitionOrder(filled, { kind: 'rejected', reason: 'late', tsEventMs: T0 + 60 });
    assert.equal(rejected.kind, 'illegal');
    const accepted = run([{ order: venueOrder('accepted') }]).order;
    const big = venueFill('t9', '0.02');
    const overfill = transitionOrder(accepted, orderEventOfVenueFill(big), { fill: big });
    assert.equal(overfill.kind, 'illegal');
    assert.equal(overfill.kind === 'illegal' && overfill.error.code, 'ORDER_OVERFILL');
  });

  test('re-deriving the same facts (another replica, a restart) gives the same fact ids', () => {
    const steps = [
      { order: venueOrder('accepted') },
      { fill: venueFill('t1', '0.004') },
      { event: { kind: 'cancel_requested', tsEventMs: T0 + 30 } as OrderEvent },
      { order: venueOrder('canceled') },
    ];
    const a = run(steps, ctxA);
    const b = run(steps, ctxB);
    assert.deepEqual(
      b.envelopes.map((e) => e.id),
      a.envelopes.map((e) => e.id),
    );
    assert.notDeepEqual(
      b.envelopes.map((e) => e.source),
      a.envelopes.map((e) => e.source),
    );
    // Without a context (folding our own log), nothing is derived to publish.
    const folded = transitionOrder(submitted(), orderEventsOfVenueOrder(venueOrder('accepted'))[0]!);
    assert.ok(folded.kind === 'changed');
    assert.deepEqual(folded.envelopes, []);
  });

  test('a second cancel request is a new fact; a first one is not repeated', () => {
    const accepted = run([{ order: venueOrder('accepted') }]).order;
    const first = run([{ event: { kind: 'cancel_requested', tsEventMs: T0 + 30 } }], ctxA, accepted);
    const refused = run(
      [{ event: { kind: 'cancel_rejected', reason: 'busy', tsEventMs: T0 + 31 } }],
      ctxA,
      first.order,
    );
    const second = run([{ event: { kind: 'cancel_requested', tsEventMs: T0 + 32 } }], ctxA, refused.order);
    assert.equal(second.order.cancelRequests, 2);
    assert.notEqual(second.envelopes[0]!.id, first.envelopes[0]!.id);
    const again = run([{ event: { kind: 'cancel_requested', tsEventMs: T0 + 30 } }], ctxB, accepted);
    assert.equal(again.envelopes[0]!.id, first.envelopes[0]!.id);
  });

  test('reports of unknown orders: held when they name a client order id, dropped when the venue made the order', () => {
    const known = submitted();
    const find = (ids: { clientOrderId: string }) => (ids.clientOrderId === 'c1' ? known : undefined);
    const report = venueReportOf({ kind: 'fill', fill: venueFill('t1', '0.004') })!;
    assert.deepEqual(reportTarget(reportIds(report), find), { kind: 'order', order: known });
    const other = venueReportOf({ kind: 'order', order: venueOrder('accepted', { clientOrderId: 'c2' }) })!;
    assert.deepEqual(reportTarget(reportIds(other), find), { kind: 'hold', clientOrderId: 'c2' });
    const liquidation = venueReportOf({
      kind: 'fill',
      fill: { ...venueFill('t3', '0.01'), clientOrderId: '' },
    })!;
    assert.deepEqual(reportTarget(reportIds(liquidation), find), { kind: 'ignore' });
    assert.equal(
      venueReportOf({ kind: 'funding_payment', payment: {} as never }),
      undefined,
      'not an order fact',
    );
  });

  test('a venue order id from a snapshot that did not ack becomes the order hint, once', () => {
    const order = submitted();
    assert.equal(venueOrderIdHintOf(order, venueOrder('canceled', { venueOrderId: 'v9' })), 'v9');
    assert.equal(venueOrderIdHintOf(order, venueOrder('canceled', { venueOrderId: '' })), undefined);
    const accepted = run([{ order: venueOrder('accepted') }]).order;
    assert.equal(venueOrderIdHintOf(accepted, venueOrder('canceled', { venueOrderId: 'v9' })), undefined);
  });

  test("a replayed order we no longer hold is answered with the venue's view of it", () => {
    const view = orderViewFromVenue(
      submitted(),
      venueOrder('partially_filled', {
        filled: dec('0.004'),
        avgFillPrice: dec('59999.5'),
        tsEventMs: T0 + 70,
      }),
    );
    assert.equal(view.state.status, 'partially_filled');
    assert.equal(view.state.filled.toFixed(), '0.004');
    assert.equal(view.state.remaining.toFixed(), '0.006');
    assert.equal(view.state.avgFillPrice?.toFixed(), '59999.5');
    assert.equal(view.state.updatedAtMs, T0 + 70);
    assert.equal(view.venueOrderIdHint, 'v1');
    assert.equal(view.state.clientOrderId, 'c1');
  });
});
