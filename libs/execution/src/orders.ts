/**
 * The engine's in-memory order table: each order's state (core's `OrderState`, folded with
 * `evolveOrder`) plus what the wire view needs beside it, indexed by client order id and
 * by venue order id. Changes notify waiters (a duplicate PlaceOrder waiting for the first).
 */
import type {
  AccountId,
  ClientOrderId,
  EpochMs,
  InstrumentId,
  OrderRequest,
  OrderState,
  VenueId,
  VenueOrderId,
} from '@perpmesh/core';
import { evolveOrder, isOrderOpen } from '@perpmesh/core';
import type { PlaceOrderRequest as PortPlaceOrderRequest } from '@perpmesh/venues';

export interface TrackedOrder {
  state: OrderState;
  /** Copied into the correlation_id of the order's events; '' when none. */
  correlationId: string;
  /** Settle currency of the fees (from the first fill, else the market's settle asset). */
  feeCurrency: string;
  /** Cancel requests so far: part of the fact key of a repeated cancel request. */
  cancelRequests: number;
  /**
   * What asked for the current cancel round (the canceling decision's envelope id): the
   * correlation_id of the cancel's events (`cancelEventCorrelationId`); '' when none.
   */
  cancelCorrelationId: string;
  /** Venue order id learned from a snapshot that did not ack (an IOC canceled at once). */
  venueOrderIdHint: VenueOrderId | undefined;
  /** Id of the SUBMITTED envelope: the causation of every later event of the order. */
  submittedEventId: string;
  /** Publishes of this order's events, in order. */
  publishChain: Promise<void>;
  /**
   * Status and filled size of the last exec.order event of this order found in the log at
   * rebuild. Fills folded after it can move the order further (a crash between a fill's
   * event and the order event it implies): the rebuild then publishes the missing one.
   */
  logged?: { status: OrderState['status']; filled: OrderState['filled'] } | undefined;
}

/** A read-only snapshot for callers. */
export type OrderView = Readonly<Omit<TrackedOrder, 'publishChain'>>;

/** A new order in SUBMITTED, created at `createdAtMs` (the stamp of its fact ids). */
export function newTrackedOrder(
  request: OrderRequest,
  correlationId: string,
  createdAtMs: EpochMs,
  feeCurrency: string,
): TrackedOrder {
  return {
    state: evolveOrder(undefined, { kind: 'submitted', order: request, tsEventMs: createdAtMs }),
    correlationId,
    feeCurrency,
    cancelRequests: 0,
    cancelCorrelationId: '',
    venueOrderIdHint: undefined,
    submittedEventId: '',
    publishChain: Promise.resolve(),
  };
}

export function orderKey(venue: VenueId, account: AccountId, clientOrderId: ClientOrderId): string {
  return `${venue}\u0000${account}\u0000${clientOrderId}`;
}

function venueIdKey(venue: VenueId, account: AccountId, venueOrderId: VenueOrderId): string {
  return `${venue}\u0000${account}\u0000${venueOrderId}`;
}

export function venueOrderIdOf(order: OrderView): VenueOrderId | undefined {
  return order.state.venueOrderId ?? order.venueOrderIdHint;
}

export function snapshotOf(order: TrackedOrder): OrderView {
  const { publishChain: _chain, ...rest } = order;
  return { ...rest };
}

export class OrderTable {
  readonly #byKey = new Map<string, TrackedOrder>();
  readonly #byVenueOrderId = new Map<string, string>();
  readonly #waiters = new Map<string, Set<() => void>>();
  #forgottenThroughMs: EpochMs = Number.NEGATIVE_INFINITY;

  get size(): number {
    return this.#byKey.size;
  }

  /**
   * Orders created at or before this time may have been on the log without being in this
   * table now: the newest created time of any finished order the table dropped
   * (`pruneTerminal`), or the start of what a rebuild read (`forgetThrough`). An order created
   * later whose SUBMITTED was stored is here (once the log tail delivered it). Exact against
   * an idempotency claim's `at`, which is its order's created time.
   */
  get forgottenThroughMs(): EpochMs {
    return this.#forgottenThroughMs;
  }

  /** Orders created at or before `ms` may be missing (a rebuild read the log from then on). */
  forgetThrough(ms: EpochMs): void {
    if (ms > this.#forgottenThroughMs) this.#forgottenThroughMs = ms;
  }

  get(venue: VenueId, account: AccountId, clientOrderId: ClientOrderId): TrackedOrder | undefined {
    return this.#byKey.get(orderKey(venue, account, clientOrderId));
  }

  byVenueOrderId(venue: VenueId, account: AccountId, venueOrderId: VenueOrderId): TrackedOrder | undefined {
    const key = this.#byVenueOrderId.get(venueIdKey(venue, account, venueOrderId));
    return key === undefined ? undefined : this.#byKey.get(key);
  }

  /** By client order id when given (non-empty), else by venue order id. */
  find(
    venue: VenueId,
    account: AccountId,
    ids: { clientOrderId?: string | undefined; venueOrderId?: string | undefined },
  ): TrackedOrder | undefined {
    if (ids.clientOrderId) {
      const found = this.get(venue, account, ids.clientOrderId);
      if (found) return found;
    }
    return ids.venueOrderId ? this.byVenueOrderId(venue, account, ids.venueOrderId) : undefined;
  }

  add(order: TrackedOrder): void {
    const { venue, account, clientOrderId } = order.state;
    this.#byKey.set(orderKey(venue, account, clientOrderId), order);
    this.changed(order);
  }

  remove(order: TrackedOrder): void {
    const { venue, account, clientOrderId } = order.state;
    const key = orderKey(venue, account, clientOrderId);
    if (this.#byKey.get(key) !== order) return;
    this.#byKey.delete(key);
    const venueOrderId = venueOrderIdOf(order);
    if (venueOrderId !== undefined) this.#byVenueOrderId.delete(venueIdKey(venue, account, venueOrderId));
  }

  /** Call after an order changed: indexes its venue order id and wakes its waiters. */
  changed(order: TrackedOrder): void {
    const { venue, account, clientOrderId } = order.state;
    const key = orderKey(venue, account, clientOrderId);
    const venueOrderId = venueOrderIdOf(order);
    if (venueOrderId !== undefined) this.#byVenueOrderId.set(venueIdKey(venue, account, venueOrderId), key);
    const waiters = this.#waiters.get(key);
    if (waiters) {
      this.#waiters.delete(key);
      for (const wake of waiters) wake();
    }
  }

  /**
   * Resolves at the next change of the order (or its creation), or after `timeoutMs`. The
   * timer keeps the process alive only with `keepAlive` (a call that is answered after it).
   */
  waitForChange(
    venue: VenueId,
    account: AccountId,
    clientOrderId: ClientOrderId,
    timeoutMs: number,
    options: { keepAlive?: boolean } = {},
  ): Promise<void> {
    const key = orderKey(venue, account, clientOrderId);
    return new Promise<void>((resolve) => {
      let set = this.#waiters.get(key);
      if (!set) {
        set = new Set();
        this.#waiters.set(key, set);
      }
      const done = () => {
        clearTimeout(timer);
        const waiting = this.#waiters.get(key);
        waiting?.delete(done);
        // A timed-out wait on an order that never changes again must not leave its key behind.
        if (waiting?.size === 0) this.#waiters.delete(key);
        resolve();
      };
      const timer = setTimeout(done, Math.max(0, timeoutMs));
      if (!options.keepAlive) timer.unref();
      set.add(done);
    });
  }

  /** Orders that may still trade, optionally of one venue / account / instrument. */
  open(filter: { venue?: VenueId; account?: AccountId; instrument?: InstrumentId } = {}): TrackedOrder[] {
    return this.all(filter).filter((o) => isOrderOpen(o.state.status));
  }

  all(filter: { venue?: VenueId; account?: AccountId; instrument?: InstrumentId } = {}): TrackedOrder[] {
    const out: TrackedOrder[] = [];
    for (const order of this.#byKey.values()) {
      const s = order.state;
      if (filter.venue && s.venue !== filter.venue) continue;
      if (filter.account && s.account !== filter.account) continue;
      if (filter.instrument && s.instrument !== filter.instrument) continue;
      out.push(order);
    }
    return out;
  }

  /**
   * Drops finished orders last changed before `beforeMs`; then, while more than
   * `overflow.max` finished ones are left, the oldest of them (first added first) among
   * those last changed before `overflow.changedBeforeMs`: the time bound alone lets a busy
   * day's orders pile up, and recent ones stay for their late events and duplicates.
   * Each dropped order moves `forgottenThroughMs` up to its created time. Returns how many
   * were dropped.
   */
  pruneTerminal(beforeMs: EpochMs, overflow?: { max: number; changedBeforeMs: EpochMs }): number {
    let pruned = 0;
    const finished: TrackedOrder[] = [];
    for (const order of [...this.#byKey.values()]) {
      if (isOrderOpen(order.state.status)) continue;
      if (order.state.updatedAtMs < beforeMs) {
        this.#evict(order);
        pruned += 1;
      } else finished.push(order);
    }
    if (overflow === undefined) return pruned;
    let excess = finished.length - overflow.max;
    for (const order of finished) {
      if (excess <= 0) break;
      if (order.state.updatedAtMs >= overflow.changedBeforeMs) continue;
      this.#evict(order);
      pruned += 1;
      excess -= 1;
    }
    return pruned;
  }

  /** Drops a finished order, remembering that orders created up to its time may be missing. */
  #evict(order: TrackedOrder): void {
    this.remove(order);
    this.forgetThrough(order.state.createdAtMs);
  }

  /** Keys with waiters registered (for tests of the waiters' bound). */
  get waitingKeys(): number {
    return this.#waiters.size;
  }
}

/** The port's request for an order: what is sent to the venue (a nonce is added by the sender). */
export function portRequestOf(
  s: Pick<
    OrderRequest,
    'clientOrderId' | 'instrument' | 'side' | 'type' | 'timeInForce' | 'price' | 'size' | 'reduceOnly'
  >,
): PortPlaceOrderRequest {
  return {
    clientOrderId: s.clientOrderId,
    instrument: s.instrument,
    side: s.side,
    type: s.type,
    timeInForce: s.timeInForce,
    ...(s.price === undefined ? {} : { price: s.price }),
    size: s.size,
    reduceOnly: s.reduceOnly,
  };
}
