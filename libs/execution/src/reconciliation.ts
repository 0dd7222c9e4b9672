/**
 * Reconciliation: bringing our orders of one account in line with what the venue reports.
 * The comparisons are pure functions (which venue order is which of ours, which of ours
 * the venue did not list, what a venue's answer about one order means); `reconcileOrders`
 * is the thin I/O around them (fetchOpenOrders, fetchOrder per order not listed), applying
 * through the engine. Fills are the engine's (`fetchFills`, fact ids make repeats no-ops).
 *
 * Asking about one order (`fetchVenueOrder`): only "no such order" (undefined, or
 * `VenueOrderNotFoundError`) means the venue does not have it. A timeout, a disconnect or any
 * other failure says nothing about the order: callers keep its outcome unknown and ask again.
 */
import type { ClientOrderId, OrderState, VenueOrderId } from '@perpmesh/core';
import { type OrderRef, type VenueOrder, VenueOrderNotFoundError, type VenuePort } from '@perpmesh/venues';
import { type OrderView, venueOrderIdOf } from './orders.js';

type OrderIds = { clientOrderId: ClientOrderId; venueOrderId?: VenueOrderId | undefined };

/**
 * The venue's open orders against ours: each one we track with the venue's view of it, and
 * the ones we have no record of (drift: an order placed outside this service, or lost).
 */
export function matchOpenOrders<T>(
  openAtVenue: readonly VenueOrder[],
  find: (ids: OrderIds) => T | undefined,
): { matched: { order: T; venueOrder: VenueOrder }[]; unknownAtVenue: VenueOrder[] } {
  const matched: { order: T; venueOrder: VenueOrder }[] = [];
  const unknownAtVenue: VenueOrder[] = [];
  for (const venueOrder of openAtVenue) {
    const order = find(venueOrder);
    if (order === undefined) unknownAtVenue.push(venueOrder);
    else matched.push({ order, venueOrder });
  }
  return { matched, unknownAtVenue };
}

/** Our open orders the venue did not list as open: each is asked about on its own. */
export function openOrdersNotListed<T>(localOpen: readonly T[], listed: ReadonlySet<T>): T[] {
  return localOpen.filter((order) => !listed.has(order));
}

/** What the venue's answer about one order we think open means. */
export type FetchedOrderVerdict =
  /** The venue knows it: apply its view (ack, end, refusal; fills follow by trade id). */
  | { readonly kind: 'apply'; readonly venueOrder: VenueOrder }
  /**
   * In flight when we stopped and unknown to the venue (yet): an unknown placement outcome,
   * resolved by asking again until `notFoundAfterMs`.
   */
  | { readonly kind: 'resolve_placement' }
  /** Acked (or further) in our state, unknown to the venue: drift, reported, not guessed at. */
  | { readonly kind: 'missing_at_venue' };

export function fetchedOrderVerdict(
  state: Pick<OrderState, 'status'>,
  venueOrder: VenueOrder | undefined,
): FetchedOrderVerdict {
  if (venueOrder) return { kind: 'apply', venueOrder };
  return state.status === 'submitted' ? { kind: 'resolve_placement' } : { kind: 'missing_at_venue' };
}

/** How to ask the venue about one of our orders (by venue order id too, when known). */
export function orderRefOf(order: OrderView): OrderRef {
  const s = order.state;
  const venueOrderId = venueOrderIdOf(order);
  return {
    instrument: s.instrument,
    clientOrderId: s.clientOrderId,
    ...(venueOrderId ? { venueOrderId } : {}),
  };
}

/**
 * The venue's view of one order; undefined when it has no such order (its answer, or
 * `VenueOrderNotFoundError`). Any other failure is thrown: it does not mean "not found".
 */
export async function fetchVenueOrder(
  port: Pick<VenuePort, 'fetchOrder'>,
  ref: OrderRef,
): Promise<VenueOrder | undefined> {
  try {
    return await port.fetchOrder(ref);
  } catch (err) {
    if (err instanceof VenueOrderNotFoundError) return undefined;
    throw err;
  }
}

/** What `reconcileOrders` needs: the port, our orders of the account, and how to apply. */
export interface ReconcileIo<T extends OrderView> {
  readonly port: Pick<VenuePort, 'fetchOpenOrders' | 'fetchOrder'>;
  find(ids: OrderIds): T | undefined;
  /** Our open orders of the account, now. */
  localOpen(): T[];
  applyVenueOrder(order: T, venueOrder: VenueOrder): Promise<void>;
  /** Hands a SUBMITTED order the venue does not know to the unknown-outcome resolver. */
  resolvePlacement(order: T): void;
  /** Counts and logs a difference the venue's answers cannot settle. */
  drift(
    kind: 'unknown_venue_order' | 'missing_at_venue',
    detail: { clientOrderId: string; venueOrderId?: string; status?: string },
  ): void;
}

/**
 * The venue's open orders applied to ours, then each order we think open that it did not
 * list asked about (`fetchOrder`) and settled by `fetchedOrderVerdict`. A failed venue call
 * fails the run (the caller retries it); it never counts as "no such order".
 */
export async function reconcileOrders<T extends OrderView>(
  io: ReconcileIo<T>,
): Promise<{ openAtVenue: number; unknownAtVenue: number }> {
  const openAtVenue = await io.port.fetchOpenOrders();
  const { matched, unknownAtVenue } = matchOpenOrders(openAtVenue, (ids) => io.find(ids));
  for (const venueOrder of unknownAtVenue) {
    io.drift('unknown_venue_order', {
      clientOrderId: venueOrder.clientOrderId,
      venueOrderId: venueOrder.venueOrderId,
    });
  }
  const listed = new Set<T>();
  for (const { order, venueOrder } of matched) {
    listed.add(order);
    await io.applyVenueOrder(order, venueOrder);
  }
  for (const order of openOrdersNotListed(io.localOpen(), listed)) {
    const verdict = fetchedOrderVerdict(order.state, await fetchVenueOrder(io.port, orderRefOf(order)));
    if (verdict.kind === 'apply') await io.applyVenueOrder(order, verdict.venueOrder);
    else if (verdict.kind === 'resolve_placement') io.resolvePlacement(order);
    else
      io.drift('missing_at_venue', { clientOrderId: order.state.clientOrderId, status: order.state.status });
  }
  return { openAtVenue: openAtVenue.length, unknownAtVenue: unknownAtVenue.length };
}
