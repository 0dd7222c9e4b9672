/**
 * The order aggregate: one transition table, an evolve function, and fill accounting.
 *
 * Decider shape (Emmett): the state is `OrderState | undefined` (undefined = no order
 * yet), `evolveOrder(state, event)` folds one event in. Commands and their decisions
 * live with the execution service; this file only says which events are legal when.
 *
 * `ORDER_TRANSITIONS` is the single table of legal moves, keyed by the current status
 * and the event's trigger. Fill events become the `partially_filled` or `filled`
 * trigger from the cumulative filled size after the fill. Anything not in the table
 * throws `IllegalOrderTransitionError`.
 *
 * Venues report the same order over several channels (the REST response, the user
 * stream, a reconciliation fetch) with no ordering between them, which is why the table
 * accepts late acks and late fills and treats repeated terminal reports as no-ops: a fill
 * is money and is never dropped because its message arrived after the cancel.
 */
import { Decimal, ZERO } from './decimal.js';
import { PerpmeshError, ValidationError } from './errors.js';
import { parseAccountId, parseClientOrderId, parseTradeId, parseVenueOrderId } from './ids.js';
import { parseInstrumentId, parseVenueId } from './instruments.js';
import type {
  AccountId,
  ClientOrderId,
  EpochMs,
  InstrumentId,
  Liquidity,
  OrderStatus,
  OrderType,
  Side,
  TimeInForce,
  TradeId,
  VenueId,
  VenueOrderId,
} from './types.js';

// ---------------------------------------------------------------------------------------
// Events

/** What the caller asked for; carried by the `submitted` event. */
export interface OrderRequest {
  readonly clientOrderId: ClientOrderId;
  readonly venue: VenueId;
  readonly account: AccountId;
  readonly instrument: InstrumentId;
  readonly side: Side;
  readonly type: OrderType;
  readonly timeInForce: TimeInForce;
  /** Limit price; for a market order an optional protection price (some venues need one). */
  readonly price?: Decimal;
  readonly size: Decimal;
  readonly reduceOnly: boolean;
}

export interface OrderSubmitted {
  readonly kind: 'submitted';
  readonly order: OrderRequest;
  readonly tsEventMs: EpochMs;
}
export interface OrderAccepted {
  readonly kind: 'accepted';
  readonly venueOrderId: VenueOrderId;
  readonly tsEventMs: EpochMs;
}
export interface OrderRejected {
  readonly kind: 'rejected';
  readonly reason: string;
  readonly tsEventMs: EpochMs;
}
export interface OrderFilled {
  readonly kind: 'fill';
  readonly tradeId: TradeId;
  /** Price and size of THIS fill (not cumulative). */
  readonly price: Decimal;
  readonly size: Decimal;
  /** Fee of this fill in the settle currency: positive is paid, negative a rebate. */
  readonly fee: Decimal;
  readonly liquidity: Liquidity;
  /** Fills may arrive before the ack and are the first place we learn the venue's id. */
  readonly venueOrderId?: VenueOrderId;
  readonly tsEventMs: EpochMs;
}
export interface OrderCancelRequested {
  readonly kind: 'cancel_requested';
  readonly tsEventMs: EpochMs;
}
export interface OrderCancelRejected {
  readonly kind: 'cancel_rejected';
  readonly reason: string;
  readonly tsEventMs: EpochMs;
}
export interface OrderCanceled {
  readonly kind: 'canceled';
  readonly reason?: string;
  readonly tsEventMs: EpochMs;
}
export interface OrderExpired {
  readonly kind: 'expired';
  readonly tsEventMs: EpochMs;
}

export type OrderEvent =
  | OrderSubmitted
  | OrderAccepted
  | OrderRejected
  | OrderFilled
  | OrderCancelRequested
  | OrderCancelRejected
  | OrderCanceled
  | OrderExpired;

export type OrderEventKind = OrderEvent['kind'];

/** The table's columns: every event kind except `submitted` (which creates the order), with fills split by outcome. */
export type OrderTrigger =
  | 'accepted'
  | 'rejected'
  | 'partially_filled'
  | 'filled'
  | 'cancel_requested'
  | 'cancel_rejected'
  | 'canceled'
  | 'expired';

// ---------------------------------------------------------------------------------------
// State

export interface OrderState extends OrderRequest {
  readonly venueOrderId: VenueOrderId | undefined;
  readonly status: OrderStatus;
  /** Cumulative filled size. */
  readonly filled: Decimal;
  /** size - filled. */
  readonly remaining: Decimal;
  /** Sum of price * size over fills; avgFillPrice = filledNotional / filled, kept exact. */
  readonly filledNotional: Decimal;
  readonly avgFillPrice: Decimal | undefined;
  /** Cumulative fees in the settle currency (positive paid, negative rebate). */
  readonly fees: Decimal;
  /** Trade ids already counted, so a re-delivered fill is not counted twice. */
  readonly tradeIds: ReadonlySet<TradeId>;
  /** The open status a `cancel_rejected` returns to; set while `cancel_requested`. */
  readonly statusBeforeCancel: OrderStatus | undefined;
  /** Last reason the venue gave (reject, cancel reject, cancel). */
  readonly reason: string | undefined;
  readonly createdAtMs: EpochMs;
  /** Latest event time seen (events can arrive out of order; this never moves back). */
  readonly updatedAtMs: EpochMs;
}

// ---------------------------------------------------------------------------------------
// Errors

export class IllegalOrderTransitionError extends PerpmeshError {
  readonly clientOrderId: ClientOrderId | undefined;
  /** Current status, or `none` when the order does not exist yet. */
  readonly from: OrderStatus | 'none';
  /** Status the trigger names (undefined for `cancel_rejected`, which returns to a previous one). */
  readonly to: OrderStatus | undefined;
  readonly event: OrderEventKind;
  constructor(
    clientOrderId: ClientOrderId | undefined,
    from: OrderStatus | 'none',
    to: OrderStatus | undefined,
    event: OrderEventKind,
  ) {
    const target = to === undefined ? '' : ` to ${to}`;
    const who = clientOrderId === undefined ? 'order' : `order ${clientOrderId}`;
    super('ILLEGAL_ORDER_TRANSITION', `${who}: illegal transition from ${from}${target} on event ${event}`);
    this.clientOrderId = clientOrderId;
    this.from = from;
    this.to = to;
    this.event = event;
  }
}

/** A fill would take the cumulative filled size past the order size. */
export class OrderOverfillError extends PerpmeshError {
  readonly clientOrderId: ClientOrderId;
  readonly tradeId: TradeId;
  readonly size: Decimal;
  readonly cumulativeFilled: Decimal;
  constructor(clientOrderId: ClientOrderId, tradeId: TradeId, size: Decimal, cumulativeFilled: Decimal) {
    super(
      'ORDER_OVERFILL',
      `order ${clientOrderId}: fill ${tradeId} would make filled ${cumulativeFilled.toFixed()} > size ${size.toFixed()}`,
    );
    this.clientOrderId = clientOrderId;
    this.tradeId = tradeId;
    this.size = size;
    this.cumulativeFilled = cumulativeFilled;
  }
}

// ---------------------------------------------------------------------------------------
// The transition table

/** `previous` = back to `statusBeforeCancel`. */
type Target = OrderStatus | 'previous';

export const ORDER_TRANSITIONS: Readonly<
  Record<OrderStatus, Readonly<Partial<Record<OrderTrigger, Target>>>>
> = {
  submitted: {
    accepted: 'accepted',
    rejected: 'rejected',
    // A fill before the ack: venues push fills on the user stream before the REST
    // response (or the ack event) arrives, and an IOC/market order may never be acked.
    partially_filled: 'partially_filled',
    filled: 'filled',
    // Cancelling an order still in flight; the venue answers once it knows the order.
    cancel_requested: 'cancel_requested',
    // An IOC/FOK that found nothing is canceled (Binance: expired) without an ack.
    canceled: 'canceled',
    expired: 'expired',
  },
  accepted: {
    // The same ack from the REST response and from the user stream.
    accepted: 'accepted',
    partially_filled: 'partially_filled',
    filled: 'filled',
    cancel_requested: 'cancel_requested',
    canceled: 'canceled',
    expired: 'expired',
  },
  partially_filled: {
    // A late ack after the first fill changes nothing but the venue order id.
    accepted: 'partially_filled',
    partially_filled: 'partially_filled',
    filled: 'filled',
    cancel_requested: 'cancel_requested',
    // Canceled with a partial fill: status canceled, `filled` keeps what traded.
    canceled: 'canceled',
    // An IOC's unfilled rest, or a GTD order timing out after a partial fill.
    expired: 'expired',
  },
  cancel_requested: {
    // The ack of an order we asked to cancel while it was in flight.
    accepted: 'cancel_requested',
    // The order itself was rejected (it was still in flight when we asked to cancel).
    rejected: 'rejected',
    // A fill after a cancel request: the fill won the race at the matching engine. The
    // cancel is still pending for the rest; a cancel_rejected now returns to partially_filled.
    partially_filled: 'cancel_requested',
    // The whole remainder filled before the cancel arrived: the cancel is moot.
    filled: 'filled',
    // Asking again (a retry after a timeout) is the same request.
    cancel_requested: 'cancel_requested',
    // The venue refused to cancel (already gone, or too late): back to the open status.
    cancel_rejected: 'previous',
    canceled: 'canceled',
    expired: 'expired',
  },
  rejected: {
    // The same rejection reported twice (REST error and user stream).
    rejected: 'rejected',
  },
  filled: {
    // A late ack of an order that filled at once (market/IOC).
    accepted: 'filled',
  },
  canceled: {
    // A late ack, after the cancel confirmation overtook it.
    accepted: 'canceled',
    // A late fill: it traded before the cancel took effect, its message came after the
    // cancel confirmation. Count it; the order stays canceled...
    partially_filled: 'canceled',
    // ...unless it completes the order, in which case the cancel did not happen.
    filled: 'filled',
    // The same cancel confirmation from the REST response and the user stream.
    canceled: 'canceled',
  },
  expired: {
    accepted: 'expired',
    // Late fills after expiry, as for canceled.
    partially_filled: 'expired',
    filled: 'filled',
    expired: 'expired',
  },
};

export const OPEN_ORDER_STATUSES: ReadonlySet<OrderStatus> = new Set([
  'submitted',
  'accepted',
  'partially_filled',
  'cancel_requested',
]);

export const TERMINAL_ORDER_STATUSES: ReadonlySet<OrderStatus> = new Set([
  'rejected',
  'filled',
  'canceled',
  'expired',
]);

/** Open = may still trade (including in flight and pending cancel). */
export function isOrderOpen(status: OrderStatus): boolean {
  return OPEN_ORDER_STATUSES.has(status);
}

/** Terminal = will not trade any more (late fills are still accounted). */
export function isOrderTerminal(status: OrderStatus): boolean {
  return TERMINAL_ORDER_STATUSES.has(status);
}

/** The status after `trigger` in `from`, or undefined when the table has no such move. `previous` is resolved by evolveOrder. */
export function nextOrderStatus(from: OrderStatus, trigger: OrderTrigger): Target | undefined {
  return ORDER_TRANSITIONS[from][trigger];
}

export function canTransition(from: OrderStatus, trigger: OrderTrigger): boolean {
  return nextOrderStatus(from, trigger) !== undefined;
}

// ---------------------------------------------------------------------------------------
// Validation

function requireDecimal(value: unknown, field: string): Decimal {
  if (!(value instanceof Decimal) || !value.isFinite()) {
    throw new ValidationError(field, `must be a finite decimal, got ${String(value)}`);
  }
  return value;
}

function requirePositive(value: unknown, field: string): Decimal {
  const d = requireDecimal(value, field);
  if (!d.gt(0)) throw new ValidationError(field, `must be greater than 0, got ${d.toFixed()}`);
  return d;
}

function requireTimestamp(value: unknown, field: string): EpochMs {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 0) {
    throw new ValidationError(
      field,
      `must be epoch milliseconds (a non-negative integer), got ${String(value)}`,
    );
  }
  return value;
}

const SIDES: ReadonlySet<string> = new Set<Side>(['buy', 'sell']);
const ORDER_TYPES: ReadonlySet<string> = new Set<OrderType>(['limit', 'market']);
const TIME_IN_FORCES: ReadonlySet<string> = new Set<TimeInForce>(['gtc', 'ioc', 'fok', 'post_only']);

/** Validates an order request; every error names the field (`order.price`, ...). */
export function validateOrderRequest(request: OrderRequest, field = 'order'): OrderRequest {
  parseClientOrderId(request.clientOrderId, `${field}.clientOrderId`);
  parseVenueId(request.venue, `${field}.venue`);
  parseAccountId(request.account, `${field}.account`);
  parseInstrumentId(request.instrument, `${field}.instrument`);
  if (!SIDES.has(request.side)) {
    throw new ValidationError(`${field}.side`, `must be buy or sell, got ${JSON.stringify(request.side)}`);
  }
  if (!ORDER_TYPES.has(request.type)) {
    throw new ValidationError(
      `${field}.type`,
      `must be limit or market, got ${JSON.stringify(request.type)}`,
    );
  }
  if (!TIME_IN_FORCES.has(request.timeInForce)) {
    throw new ValidationError(
      `${field}.timeInForce`,
      `must be gtc, ioc, fok or post_only, got ${JSON.stringify(request.timeInForce)}`,
    );
  }
  requirePositive(request.size, `${field}.size`);
  if (request.type === 'limit' && request.price === undefined) {
    throw new ValidationError(`${field}.price`, 'a limit order needs a price');
  }
  if (request.price !== undefined) requirePositive(request.price, `${field}.price`);
  if (request.type === 'market' && request.timeInForce === 'post_only') {
    throw new ValidationError(`${field}.timeInForce`, 'a market order cannot be post_only');
  }
  if (typeof request.reduceOnly !== 'boolean') {
    throw new ValidationError(`${field}.reduceOnly`, `must be a boolean, got ${String(request.reduceOnly)}`);
  }
  return request;
}

// ---------------------------------------------------------------------------------------
// Evolve

function triggerOf(state: OrderState, event: Exclude<OrderEvent, OrderSubmitted>): OrderTrigger {
  if (event.kind !== 'fill') return event.kind;
  return state.filled.plus(event.size).eq(state.size) ? 'filled' : 'partially_filled';
}

function impliedStatus(trigger: OrderTrigger): OrderStatus | undefined {
  return trigger === 'cancel_rejected' ? undefined : trigger;
}

/** Folds one event into the order. Throws on an illegal move, an overfill or bad event data. */
export function evolveOrder(state: OrderState | undefined, event: OrderEvent): OrderState {
  requireTimestamp(event.tsEventMs, 'event.tsEventMs');
  if (event.kind === 'submitted') {
    if (state !== undefined) {
      throw new IllegalOrderTransitionError(state.clientOrderId, state.status, 'submitted', 'submitted');
    }
    const order = validateOrderRequest(event.order);
    return {
      clientOrderId: order.clientOrderId,
      venue: order.venue,
      account: order.account,
      instrument: order.instrument,
      side: order.side,
      type: order.type,
      timeInForce: order.timeInForce,
      price: order.price,
      size: order.size,
      reduceOnly: order.reduceOnly,
      venueOrderId: undefined,
      status: 'submitted',
      filled: ZERO,
      remaining: order.size,
      filledNotional: ZERO,
      avgFillPrice: undefined,
      fees: ZERO,
      tradeIds: new Set(),
      statusBeforeCancel: undefined,
      reason: undefined,
      createdAtMs: event.tsEventMs,
      updatedAtMs: event.tsEventMs,
    };
  }
  if (state === undefined) {
    throw new IllegalOrderTransitionError(undefined, 'none', undefined, event.kind);
  }

  if (event.kind === 'fill') {
    parseTradeId(event.tradeId, 'fill.tradeId');
    // Re-delivered fill (reconnect, reconciliation): already counted, nothing changes.
    if (state.tradeIds.has(event.tradeId)) return state;
    requirePositive(event.price, 'fill.price');
    requirePositive(event.size, 'fill.size');
    requireDecimal(event.fee, 'fill.fee');
  }

  const trigger = triggerOf(state, event);
  const target = nextOrderStatus(state.status, trigger);
  if (target === undefined) {
    throw new IllegalOrderTransitionError(
      state.clientOrderId,
      state.status,
      impliedStatus(trigger),
      event.kind,
    );
  }
  const status: OrderStatus = target === 'previous' ? (state.statusBeforeCancel ?? 'accepted') : target;
  const updatedAtMs = Math.max(state.updatedAtMs, event.tsEventMs);

  switch (event.kind) {
    case 'fill': {
      const filled = state.filled.plus(event.size);
      if (filled.gt(state.size)) {
        throw new OrderOverfillError(state.clientOrderId, event.tradeId, state.size, filled);
      }
      const filledNotional = state.filledNotional.plus(event.price.mul(event.size));
      const tradeIds = new Set(state.tradeIds);
      tradeIds.add(event.tradeId);
      return {
        ...state,
        status,
        venueOrderId: state.venueOrderId ?? optionalVenueOrderId(event.venueOrderId),
        filled,
        remaining: state.size.minus(filled),
        filledNotional,
        avgFillPrice: filledNotional.div(filled),
        fees: state.fees.plus(event.fee),
        tradeIds,
        // While a cancel is pending the order's open status has become partially filled.
        statusBeforeCancel: status === 'cancel_requested' ? 'partially_filled' : undefined,
        updatedAtMs,
      };
    }
    case 'accepted': {
      const venueOrderId = parseVenueOrderId(event.venueOrderId, 'accepted.venueOrderId');
      return {
        ...state,
        status,
        venueOrderId: state.venueOrderId ?? venueOrderId,
        // A late ack of an in-flight order we are cancelling: if the cancel is refused
        // the order is open and acked.
        statusBeforeCancel:
          status !== 'cancel_requested'
            ? undefined
            : state.statusBeforeCancel === 'submitted'
              ? 'accepted'
              : state.statusBeforeCancel,
        updatedAtMs,
      };
    }
    case 'cancel_requested':
      return {
        ...state,
        status,
        statusBeforeCancel: state.status === 'cancel_requested' ? state.statusBeforeCancel : state.status,
        updatedAtMs,
      };
    case 'cancel_rejected':
      return { ...state, status, statusBeforeCancel: undefined, reason: event.reason, updatedAtMs };
    case 'rejected':
      return { ...state, status, statusBeforeCancel: undefined, reason: event.reason, updatedAtMs };
    case 'canceled':
      return {
        ...state,
        status,
        statusBeforeCancel: undefined,
        reason: event.reason ?? state.reason,
        updatedAtMs,
      };
    case 'expired':
      return { ...state, status, statusBeforeCancel: undefined, updatedAtMs };
  }
}

function optionalVenueOrderId(value: VenueOrderId | undefined): VenueOrderId | undefined {
  return value === undefined ? undefined : parseVenueOrderId(value, 'fill.venueOrderId');
}

/** Folds a sequence of events from no order. */
export function replayOrder(events: Iterable<OrderEvent>): OrderState | undefined {
  let state: OrderState | undefined;
  for (const event of events) state = evolveOrder(state, event);
  return state;
}
