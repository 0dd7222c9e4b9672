/**
 * PlaceOrder validation: the wire request → a domain `PlaceOrderCommand` (every error a
 * ValidationError naming the proto field: `client_order_id`, `size`, `price`...), and the
 * venue's market rules (tick, lot, min size, min notional). Pure: the caller passes the
 * market it found. Nothing here talks to a venue; nothing reaches one until this passed.
 */
import { createHash } from 'node:crypto';
import {
  ORDER_TYPE,
  type PlaceOrderRequest as ProtoPlaceOrderRequest,
  TimeInForce as ProtoTimeInForce,
  SIDE,
  TIME_IN_FORCE,
} from '@perpmesh/contracts';
import {
  type Decimal,
  dec,
  marketRuleViolation,
  type OrderRequest,
  type OrderType,
  parseAccountId,
  parseClientOrderId,
  parseDecimal,
  parseInstrumentId,
  parseVenueId,
  type TimeInForce,
  toWire,
  ValidationError,
} from '@perpmesh/core';
import type { VenueCapabilities, VenueMarket } from '@perpmesh/venues';

export interface PlaceOrderCommand {
  readonly request: OrderRequest;
  /** What caused the order (a strategy decision's envelope id); '' when none. */
  readonly correlationId: string;
}

const MAX_CORRELATION_ID_LENGTH = 128;

/** Core's one strict grammar and its limits (`DECIMAL_LIMITS`): 1e9000000000000000 never gets here. */
function decimalField(value: string, field: string): Decimal {
  return parseDecimal(value, field);
}

/**
 * Time in force, with the order type: unspecified means GTC for a limit order and IOC for a
 * market order; a market order cannot rest, so GTC and POST_ONLY are refused for it.
 */
function timeInForceOf(value: ProtoTimeInForce, type: OrderType): TimeInForce {
  if (value === ProtoTimeInForce.TIME_IN_FORCE_UNSPECIFIED) return type === 'limit' ? 'gtc' : 'ioc';
  const tif = TIME_IN_FORCE.fromProto(value, 'time_in_force');
  if (type === 'market' && (tif === 'gtc' || tif === 'post_only')) {
    throw new ValidationError(
      'time_in_force',
      `a market order cannot rest on the book: use IOC or FOK, got ${tif}`,
    );
  }
  return tif;
}

/** Wire → domain, field by field; the market rules are checked by `checkOrderAgainstMarket`. */
export function placeOrderCommandFromProto(req: ProtoPlaceOrderRequest): PlaceOrderCommand {
  if (!req.clientOrderId) throw new ValidationError('client_order_id', 'is required');
  const clientOrderId = parseClientOrderId(req.clientOrderId, 'client_order_id');
  if (!req.venue) throw new ValidationError('venue', 'is required');
  const venue = parseVenueId(req.venue, 'venue');
  if (!req.account) throw new ValidationError('account', 'is required');
  const account = parseAccountId(req.account, 'account');
  if (!req.instrument) throw new ValidationError('instrument', 'is required');
  const instrument = parseInstrumentId(req.instrument, 'instrument');
  const side = SIDE.fromProto(req.side, 'side');
  const type = ORDER_TYPE.fromProto(req.type, 'type');
  const timeInForce = timeInForceOf(req.timeInForce, type);
  if (!req.size) throw new ValidationError('size', 'is required');
  const size = decimalField(req.size, 'size');
  if (!size.gt(0)) throw new ValidationError('size', `must be greater than 0, got ${toWire(size)}`);
  let price: Decimal | undefined;
  if (type === 'limit') {
    if (!req.price) throw new ValidationError('price', 'a limit order needs a price');
    price = decimalField(req.price, 'price');
    if (!price.gt(0)) throw new ValidationError('price', `must be greater than 0, got ${toWire(price)}`);
  } else if (req.price) {
    throw new ValidationError('price', 'must be empty for a market order');
  }
  const correlationId = correlationIdField(req.correlationId);
  return {
    request: {
      clientOrderId,
      venue,
      account,
      instrument,
      side,
      type,
      timeInForce,
      ...(price === undefined ? {} : { price }),
      size,
      reduceOnly: req.reduceOnly === true,
    },
    correlationId,
  };
}

/**
 * Per-market bounds on one order, beyond the venue's own rules: they stop an absurd order
 * (a typo's extra zeros, a hostile 1e29) before it reaches a venue. Sizes and prices are
 * counted in the market's own steps (lots, ticks), so one default fits every market;
 * `priceBand` needs a reference price (mark or mid), which only the caller knows.
 */
export interface OrderLimits {
  /** Largest size, in lots of the market (default 10^9 lots: 10^6 BTC at a 0.001 lot). */
  readonly maxLotsPerOrder: Decimal;
  /** Largest limit price, in ticks of the market (default 10^12 ticks). */
  readonly maxTicksPerPrice: Decimal;
  /** Largest notional (size × limit price) in the quote currency (default 10^9). */
  readonly maxNotional: Decimal;
  /**
   * A limit price must lie within this fraction of `referencePrice` (0.2 = ±20 %); without a
   * reference price the band is not checked.
   */
  readonly priceBandFraction?: Decimal;
  readonly referencePrice?: Decimal;
}

export const DEFAULT_ORDER_LIMITS: OrderLimits = {
  maxLotsPerOrder: dec('1e9'),
  maxTicksPerPrice: dec('1e12'),
  maxNotional: dec('1e9'),
};

/** The first limit the order breaks, as a ValidationError naming `size` or `price`; else nothing. */
export function checkOrderLimits(request: OrderRequest, market: VenueMarket, limits: OrderLimits): void {
  const where = `for ${market.instrument}`;
  const maxSize = market.lotSize.mul(limits.maxLotsPerOrder);
  if (request.size.gt(maxSize))
    throw new ValidationError(
      'size',
      `must be at most ${toWire(maxSize)} ${where}, got ${toWire(request.size)}`,
    );
  const price = request.price;
  if (price === undefined) return;
  const maxPrice = market.tickSize.mul(limits.maxTicksPerPrice);
  if (price.gt(maxPrice))
    throw new ValidationError('price', `must be at most ${toWire(maxPrice)} ${where}, got ${toWire(price)}`);
  const notional = price.mul(request.size);
  if (notional.gt(limits.maxNotional)) {
    throw new ValidationError(
      'size',
      `notional ${toWire(notional)} is above the limit ${toWire(limits.maxNotional)} ${where}`,
    );
  }
  const { priceBandFraction: band, referencePrice: reference } = limits;
  if (band !== undefined && reference?.gt(0)) {
    const low = reference.mul(dec(1).minus(band));
    const high = reference.mul(dec(1).plus(band));
    if (price.lt(low) || price.gt(high)) {
      throw new ValidationError(
        'price',
        `must lie within ${toWire(band.mul(100))}% of the reference price ${toWire(reference)} ${where}, got ${toWire(price)}`,
      );
    }
  }
}

/**
 * The venue's rules for this instrument (core's `marketRuleViolation`, the one check execution,
 * the simulated exchange and risk share): size a multiple of the lot and >= the minimum,
 * price a multiple of the tick, notional (limit orders) >= the minimum; then the order
 * limits (`checkOrderLimits`, default `DEFAULT_ORDER_LIMITS`). A market order has no price
 * here, so its notional is left to the venue, which knows the mark. A violation is a
 * ValidationError naming the order field (`size` or `price`).
 */
export function checkOrderAgainstMarket(
  request: OrderRequest,
  market: VenueMarket,
  limits: OrderLimits = DEFAULT_ORDER_LIMITS,
): void {
  checkOrderLimits(request, market, limits);
  const violation = marketRuleViolation({ size: request.size, price: request.price }, market);
  if (violation) throw new ValidationError(violation.field, `${violation.message} of ${market.instrument}`);
}

/**
 * The order asks for nothing the venue lacks (`capabilities`): a FOK or post-only order to a
 * venue without it is refused here, naming the field, instead of failing at the venue (or,
 * worse, being silently downgraded by it).
 */
export function checkOrderAgainstCapabilities(
  request: Pick<OrderRequest, 'venue' | 'timeInForce'>,
  capabilities: Pick<VenueCapabilities, 'fok' | 'postOnly'>,
): void {
  if (request.timeInForce === 'fok' && !capabilities.fok) {
    throw new ValidationError('time_in_force', `${request.venue} does not support FOK orders`);
  }
  if (request.timeInForce === 'post_only' && !capabilities.postOnly) {
    throw new ValidationError('time_in_force', `${request.venue} does not support post-only orders`);
  }
}

/**
 * What makes two PlaceOrder requests "the same order": the same client_order_id with
 * another fingerprint is a caller bug, refused rather than answered with the first order.
 */
export function orderRequestFingerprint(request: OrderRequest): string {
  const canonical = [
    request.venue,
    request.account,
    request.instrument,
    request.side,
    request.type,
    request.timeInForce,
    request.price === undefined ? '' : toWire(request.price),
    toWire(request.size),
    request.reduceOnly ? 'r' : '',
  ].join('|');
  return createHash('sha256').update(canonical).digest('hex').slice(0, 16);
}

/** A request's `correlation_id` (PlaceOrder, CancelOrder, CancelAllOrders): '' when absent. */
export function correlationIdField(value: string | undefined): string {
  const correlationId = value ?? '';
  if (correlationId.length > MAX_CORRELATION_ID_LENGTH || /[\s\p{Cc}]/u.test(correlationId)) {
    throw new ValidationError(
      'correlation_id',
      `must be at most ${MAX_CORRELATION_ID_LENGTH} characters without whitespace`,
    );
  }
  return correlationId;
}
