/**
 * The execution service's proto boundary: order views → `perpmesh.v1.Order`, facts →
 * `exec.order` / `exec.fill` envelopes with deterministic ids, and envelopes from the log
 * → domain order events (to rebuild state, or follow other replicas).
 *
 * Fact ids (`factEventId`): the same fact derived twice — by two replicas on the same user
 * stream, by a restart's reconciliation, by the REST answer and the user stream — gets the
 * same envelope id, so the log stores it once.
 *   order event: `order|{venue}|{account}|{clientOrderId}|{status}|{filled}` (+ `|c{n}` for
 *                the n-th cancel request and its refusal), stamped with the order's created time;
 *   fill:        `fill|{venue}|{account}|{tradeId}`, stamped with the fill's venue time.
 */
import {
  type Envelope,
  FILL_ORIGIN,
  type Fill,
  factEventId,
  fillOriginFromProto,
  LIQUIDITY,
  newEnvelope,
  ORDER_EVENT_KIND,
  ORDER_STATUS,
  ORDER_TYPE,
  type Order,
  optionalDecimalFromWire,
  optionalDecimalToWire,
  SIDE,
  type Subjects,
  TIME_IN_FORCE,
} from '@perpmesh/contracts';
import {
  type AccountId,
  type EpochMs,
  type OrderEvent,
  type OrderRequest,
  type OrderStatus,
  parseDecimal,
  roundForReport,
  toWire,
  type VenueId,
} from '@perpmesh/core';
import type { VenueFill } from '@perpmesh/venues';
import { type OrderView, venueOrderIdOf } from './orders.js';

/** Reason prefix of an order event that undoes a cancel request (the venue refused the cancel). */
export const CANCEL_REJECTED_REASON_PREFIX = 'cancel rejected: ';

export function orderToProto(order: OrderView): Order {
  const s = order.state;
  return {
    clientOrderId: s.clientOrderId,
    venueOrderId: venueOrderIdOf(order) ?? '',
    venue: s.venue,
    account: s.account,
    instrument: s.instrument,
    side: SIDE.toProto(s.side),
    type: ORDER_TYPE.toProto(s.type),
    timeInForce: TIME_IN_FORCE.toProto(s.timeInForce),
    price: optionalDecimalToWire(s.price),
    size: toWire(s.size),
    filledSize: toWire(s.filled),
    averageFillPrice: optionalDecimalToWire(s.avgFillPrice && roundForReport(s.avgFillPrice)),
    status: ORDER_STATUS.toProto(s.status),
    reduceOnly: s.reduceOnly,
    reason: s.reason ?? '',
    feeTotal: toWire(s.fees),
    feeCurrency: order.feeCurrency,
    createdAtMs: s.createdAtMs,
    updatedAtMs: s.updatedAtMs,
    correlationId: order.correlationId,
  };
}

/** The order request carried by an order view (the SUBMITTED event's payload). */
export function orderRequestFromProto(order: Order): OrderRequest {
  const price = optionalDecimalFromWire(order.price, 'order.price');
  return {
    clientOrderId: order.clientOrderId,
    venue: order.venue,
    account: order.account,
    instrument: order.instrument,
    side: SIDE.fromProto(order.side, 'order.side'),
    type: ORDER_TYPE.fromProto(order.type, 'order.type'),
    timeInForce: TIME_IN_FORCE.fromProto(order.timeInForce, 'order.time_in_force'),
    ...(price === undefined ? {} : { price }),
    size: parseDecimal(order.size, 'order.size'),
    reduceOnly: order.reduceOnly,
  };
}

export function orderFactKey(order: OrderView, cancelRound: boolean): string {
  const s = order.state;
  const base = `order|${s.venue}|${s.account}|${s.clientOrderId}|${s.status}|${toWire(s.filled)}`;
  return cancelRound && order.cancelRequests > 0 ? `${base}|c${order.cancelRequests}` : base;
}

/**
 * The correlation_id of an order event's envelope. A cancel's events (cancel_requested,
 * canceled, a refused cancel) carry what asked for the cancel (the canceling decision), when
 * the cancel named one; every other event carries what placed the order. The placing
 * decision stays reachable from a cancel's event: the payload's `order.correlation_id`, and
 * the causation_id (the SUBMITTED event, whose correlation_id it is).
 */
export function orderEventCorrelationId(order: OrderView, reason: string | undefined): string {
  const cancelEvent =
    order.state.status === 'cancel_requested' ||
    order.state.status === 'canceled' ||
    (reason ?? '').startsWith(CANCEL_REJECTED_REASON_PREFIX);
  return cancelEvent && order.cancelCorrelationId ? order.cancelCorrelationId : order.correlationId;
}

export interface EnvelopeContext {
  readonly source: string;
  readonly tsInitMs: EpochMs;
}

/** `exec.order` after a change; `kind` is the status the order moved to. */
export function orderEventEnvelope(
  order: OrderView,
  ctx: EnvelopeContext & { tsEventMs: EpochMs; reason?: string; cancelRound: boolean },
): Envelope {
  const s = order.state;
  return newEnvelope({
    id: factEventId(s.createdAtMs, orderFactKey(order, ctx.cancelRound)),
    source: ctx.source,
    tsEventMs: ctx.tsEventMs,
    tsInitMs: ctx.tsInitMs,
    correlationId: orderEventCorrelationId(order, ctx.reason) || undefined,
    causationId: s.status === 'submitted' ? undefined : order.submittedEventId || undefined,
    payload: {
      $case: 'orderEvent',
      value: {
        kind: ORDER_EVENT_KIND.toProto(s.status),
        order: orderToProto(order),
        reason: ctx.reason ?? '',
      },
    },
  });
}

export function fillToProto(order: OrderView, fill: VenueFill): Fill {
  const s = order.state;
  return {
    ...venueFillToProto(s.venue, s.account, fill),
    instrument: s.instrument,
    clientOrderId: s.clientOrderId,
    venueOrderId: fill.venueOrderId || (venueOrderIdOf(order) ?? ''),
    side: SIDE.toProto(s.side),
  };
}

/** A fill as the venue reported it: for venue-made fills (liquidation, ADL), which have no order of ours. */
export function venueFillToProto(venue: VenueId, account: AccountId, fill: VenueFill): Fill {
  return {
    venue,
    account,
    instrument: fill.instrument,
    clientOrderId: fill.clientOrderId,
    venueOrderId: fill.venueOrderId,
    tradeId: fill.tradeId,
    side: SIDE.toProto(fill.side),
    price: toWire(fill.price),
    size: toWire(fill.size),
    fee: toWire(fill.fee),
    feeCurrency: fill.feeCurrency,
    liquidity: LIQUIDITY.toProto(fill.liquidity),
    filledAtMs: fill.tsEventMs,
    origin: FILL_ORIGIN.toProto(fill.origin ?? 'order'),
  };
}

/** The fact id of a fill: the venue's trade id within the account. */
function fillFactId(venue: VenueId, account: AccountId, fill: VenueFill): string {
  return factEventId(fill.tsEventMs, `fill|${venue}|${account}|${fill.tradeId}`);
}

export function fillEnvelope(order: OrderView, fill: VenueFill, ctx: EnvelopeContext): Envelope {
  const s = order.state;
  return newEnvelope({
    id: fillFactId(s.venue, s.account, fill),
    source: ctx.source,
    tsEventMs: fill.tsEventMs,
    tsInitMs: ctx.tsInitMs,
    correlationId: order.correlationId || undefined,
    causationId: order.submittedEventId || undefined,
    payload: { $case: 'fill', value: fillToProto(order, fill) },
  });
}

/**
 * exec.fill of a venue-made fill (a liquidation, auto-deleveraging): no order of ours, so no
 * correlation; the same fact id as any fill, so the stream and fetchFills publish it once.
 */
export function venueMadeFillEnvelope(
  venue: VenueId,
  account: AccountId,
  fill: VenueFill,
  ctx: Pick<EnvelopeContext, 'source' | 'tsInitMs'>,
): Envelope {
  return newEnvelope({
    id: fillFactId(venue, account, fill),
    source: ctx.source,
    tsEventMs: fill.tsEventMs,
    tsInitMs: ctx.tsInitMs,
    payload: { $case: 'fill', value: venueFillToProto(venue, account, fill) },
  });
}

/** A fill from the log, as the venue port reports one (to apply it the same way). */
export function venueFillFromProto(fill: Fill): VenueFill {
  return {
    tradeId: fill.tradeId,
    venueOrderId: fill.venueOrderId,
    clientOrderId: fill.clientOrderId,
    instrument: fill.instrument,
    side: SIDE.fromProto(fill.side, 'fill.side'),
    price: parseDecimal(fill.price, 'fill.price'),
    size: parseDecimal(fill.size, 'fill.size'),
    fee: parseDecimal(fill.fee, 'fill.fee'),
    feeCurrency: fill.feeCurrency,
    liquidity: LIQUIDITY.fromProto(fill.liquidity, 'fill.liquidity'),
    tsEventMs: fill.filledAtMs,
    origin: fillOriginFromProto(fill.origin, 'fill.origin'),
  };
}

/**
 * The domain event an `exec.order` envelope stands for, given the order's current state
 * (undefined when the event changes nothing we do not learn from the fills).
 * Fill-driven kinds (PARTIALLY_FILLED / FILLED) carry nothing new: the fills come as
 * `exec.fill` events, published before them.
 */
export function orderEventFromLog(
  kind: OrderStatus,
  view: Order,
  reason: string,
  currentStatus: OrderStatus,
  tsEventMs: EpochMs,
): OrderEvent | undefined {
  const cancelRejected = reason.startsWith(CANCEL_REJECTED_REASON_PREFIX);
  switch (kind) {
    case 'submitted':
      return undefined;
    case 'accepted':
    case 'partially_filled':
    case 'filled':
      if (cancelRejected && currentStatus === 'cancel_requested') {
        return {
          kind: 'cancel_rejected',
          reason: reason.slice(CANCEL_REJECTED_REASON_PREFIX.length),
          tsEventMs,
        };
      }
      return kind === 'accepted' && view.venueOrderId
        ? { kind: 'accepted', venueOrderId: view.venueOrderId, tsEventMs }
        : undefined;
    case 'rejected':
      return { kind: 'rejected', reason: reason || view.reason || 'rejected', tsEventMs };
    case 'cancel_requested':
      return { kind: 'cancel_requested', tsEventMs };
    case 'canceled':
      return {
        kind: 'canceled',
        ...(reason || view.reason ? { reason: reason || view.reason } : {}),
        tsEventMs,
      };
    case 'expired':
      return { kind: 'expired', tsEventMs };
  }
}

/**
 * The consumer filter of every exec event (`exec.*.*.*`), derived from the subject table:
 * tokens where `exec.order` and `exec.fill` differ become `*`. Narrower filters
 * (`exec.*.paper.main`) span two stream subjects, which NATS 2.9 refuses for a consumer,
 * so readers narrow by venue and account on their side.
 */
export function execFilter(subjects: Subjects): string {
  const order = subjects.filter('execOrder').split('.');
  const fill = subjects.filter('execFill').split('.');
  return order.map((token, i) => (token === fill[i] ? token : '*')).join('.');
}
