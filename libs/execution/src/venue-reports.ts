/**
 * Venue reports → order events, as pure functions. A venue tells us about our orders over
 * racing channels (the REST answer, the user stream, fetchOrder / fetchOpenOrders, fetchFills);
 * each report becomes domain `OrderEvent`s, and `transitionOrder` folds one event into an
 * order and derives what to publish: a fill event for a new fill, an order event when the
 * status or the filled size moved. Publish ids are fact ids (wire.ts), so the same fact
 * derived twice — two replicas, a restart, REST and stream — is the same envelope.
 *
 * No I/O, no clock: the engine passes the time stamps and applies the outcome.
 */
import type { Envelope } from '@perpmesh/contracts';
import {
  type ClientOrderId,
  evolveOrder,
  IllegalOrderTransitionError,
  type OrderEvent,
  OrderOverfillError,
  type OrderState,
  type VenueOrderId,
} from '@perpmesh/core';
import type { UserStreamEvent, VenueFill, VenueOrder } from '@perpmesh/venues';
import { type OrderView, venueOrderIdOf } from './orders.js';
import {
  CANCEL_REJECTED_REASON_PREFIX,
  type EnvelopeContext,
  fillEnvelope,
  orderEventEnvelope,
} from './wire.js';

/** What a venue reported about one order: its view of the order, or one fill of it. */
export type VenueReport =
  | { readonly kind: 'order'; readonly order: VenueOrder }
  | { readonly kind: 'fill'; readonly fill: VenueFill };

/**
 * The order facts of a user-stream event; undefined for balances, positions and funding
 * payments (the account service's).
 */
export function venueReportOf(event: UserStreamEvent): VenueReport | undefined {
  if (event.kind === 'order') return { kind: 'order', order: event.order };
  if (event.kind === 'fill') return { kind: 'fill', fill: event.fill };
  return undefined;
}

/**
 * A fill the venue made on the account (a liquidation, auto-deleveraging), not one of an order
 * of ours: it is published as such (exec.fill with its origin), never matched to an order.
 */
export function isVenueMadeFill(fill: VenueFill): boolean {
  return (fill.origin ?? 'order') !== 'order';
}

/** The ids a report names its order by. */
export function reportIds(report: VenueReport): { clientOrderId: ClientOrderId; venueOrderId: VenueOrderId } {
  const r = report.kind === 'order' ? report.order : report.fill;
  return { clientOrderId: r.clientOrderId, venueOrderId: r.venueOrderId };
}

/**
 * Where a report goes: to the order we track; held for an order we do not know yet (another
 * replica's, not on our log tail yet) when it carries a client order id; dropped when it
 * does not (the venue made the order: a liquidation is not an order of ours).
 */
export type ReportTarget<T> =
  | { readonly kind: 'order'; readonly order: T }
  | { readonly kind: 'hold'; readonly clientOrderId: ClientOrderId }
  | { readonly kind: 'ignore' };

export function reportTarget<T>(
  ids: { clientOrderId: ClientOrderId; venueOrderId?: VenueOrderId | undefined },
  find: (ids: { clientOrderId: ClientOrderId; venueOrderId?: VenueOrderId | undefined }) => T | undefined,
): ReportTarget<T> {
  const order = find(ids);
  if (order !== undefined) return { kind: 'order', order };
  return ids.clientOrderId ? { kind: 'hold', clientOrderId: ids.clientOrderId } : { kind: 'ignore' };
}

/**
 * The events a venue's view of one of our orders implies. Fills are not among them: they
 * come with their trade ids (user stream, fetchFills), a snapshot only acks, ends or
 * refuses the order (see `venueIsAheadOnFills`). `submitted` says nothing new.
 */
export function orderEventsOfVenueOrder(venueOrder: VenueOrder): OrderEvent[] {
  const tsEventMs = venueOrder.tsEventMs;
  switch (venueOrder.status) {
    case 'submitted':
      return [];
    case 'rejected':
      return [{ kind: 'rejected', reason: venueOrder.reason ?? 'rejected by the venue', tsEventMs }];
    case 'accepted':
    case 'partially_filled':
    case 'filled':
    case 'cancel_requested':
      return venueOrder.venueOrderId
        ? [{ kind: 'accepted', venueOrderId: venueOrder.venueOrderId, tsEventMs }]
        : [];
    case 'canceled':
      return [{ kind: 'canceled', ...(venueOrder.reason ? { reason: venueOrder.reason } : {}), tsEventMs }];
    case 'expired':
      return [{ kind: 'expired', tsEventMs }];
  }
}

/** One venue fill as the order's fill event. */
export function orderEventOfVenueFill(fill: VenueFill): OrderEvent {
  return {
    kind: 'fill',
    tradeId: fill.tradeId,
    price: fill.price,
    size: fill.size,
    fee: fill.fee,
    liquidity: fill.liquidity,
    ...(fill.venueOrderId ? { venueOrderId: fill.venueOrderId } : {}),
    tsEventMs: fill.tsEventMs,
  };
}

/** The venue's view counts more filled than we do: its fills are to be fetched. */
export function venueIsAheadOnFills(state: OrderState, venueOrder: VenueOrder): boolean {
  return venueOrder.filled.gt(state.filled);
}

/**
 * A venue order id learned from a snapshot that did not ack (an IOC canceled at once): the
 * order's hint, so later reports by venue order id find it. Undefined when nothing to learn.
 */
export function venueOrderIdHintOf(order: OrderView, venueOrder: VenueOrder): VenueOrderId | undefined {
  return venueOrder.venueOrderId && venueOrderIdOf(order) === undefined ? venueOrder.venueOrderId : undefined;
}

/**
 * An order we no longer hold (older than our memory, or another replica's not on our log
 * yet), as the venue reports it: `order` is the order rebuilt from its request, this its
 * status, fills and reason per the venue. Answers a replayed PlaceOrder; never stored.
 */
export function orderViewFromVenue(order: OrderView, venueOrder: VenueOrder): OrderView {
  const state = order.state;
  return {
    ...order,
    venueOrderIdHint: venueOrder.venueOrderId,
    state: {
      ...state,
      status: venueOrder.status,
      filled: venueOrder.filled,
      remaining: state.size.minus(venueOrder.filled),
      avgFillPrice: venueOrder.avgFillPrice,
      filledNotional: venueOrder.avgFillPrice
        ? venueOrder.avgFillPrice.mul(venueOrder.filled)
        : state.filledNotional,
      reason: venueOrder.reason,
      updatedAtMs: Math.max(state.updatedAtMs, venueOrder.tsEventMs),
    },
  };
}

/** The outcome of folding one event into an order. */
export type OrderTransition =
  /** A duplicate or a report that adds nothing: nothing to store, nothing to publish. */
  | { readonly kind: 'unchanged' }
  /** The report does not fit the order (an illegal move, an overfill): counted as drift, never thrown. */
  | {
      readonly kind: 'illegal';
      readonly error: IllegalOrderTransitionError | OrderOverfillError;
    }
  /** The order moved; `envelopes` (fill first, then the order event) when a context was given. */
  | { readonly kind: 'changed'; readonly order: OrderView; readonly envelopes: Envelope[] };

/**
 * Folds `event` into `order` and derives the envelopes that record it. Without `ctx`
 * (folding our own log) nothing is derived to publish. A cancel request opens a new
 * cancel round (its fact id and its refusal's carry `|c{n}`); a refused cancel is
 * published as the status it returns to, with the `cancel rejected: ` reason prefix.
 */
export function transitionOrder(
  order: OrderView,
  event: OrderEvent,
  options: { fill?: VenueFill | undefined; ctx?: EnvelopeContext | undefined } = {},
): OrderTransition {
  const prev = order.state;
  let next: OrderState;
  try {
    next = evolveOrder(prev, event);
  } catch (err) {
    if (err instanceof IllegalOrderTransitionError || err instanceof OrderOverfillError) {
      return { kind: 'illegal', error: err };
    }
    throw err;
  }
  if (next === prev) return { kind: 'unchanged' };
  const opensCancelRound = event.kind === 'cancel_requested' && prev.status !== 'cancel_requested';
  const cancelRound = opensCancelRound || event.kind === 'cancel_rejected';
  const { fill, ctx } = options;
  const view: OrderView = {
    ...order,
    state: next,
    cancelRequests: order.cancelRequests + (opensCancelRound ? 1 : 0),
    feeCurrency:
      event.kind === 'fill' && fill?.feeCurrency && !order.feeCurrency ? fill.feeCurrency : order.feeCurrency,
  };
  const envelopes: Envelope[] = [];
  if (ctx) {
    if (event.kind === 'fill' && fill) envelopes.push(fillEnvelope(view, fill, ctx));
    if (next.status !== prev.status || !next.filled.eq(prev.filled)) {
      const reason =
        event.kind === 'cancel_rejected'
          ? CANCEL_REJECTED_REASON_PREFIX + event.reason
          : event.kind === 'rejected' || event.kind === 'canceled'
            ? (next.reason ?? '')
            : '';
      envelopes.push(orderEventEnvelope(view, { ...ctx, tsEventMs: event.tsEventMs, reason, cancelRound }));
    }
  }
  return { kind: 'changed', order: view, envelopes };
}
