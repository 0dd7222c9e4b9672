/**
 * The proto ↔ domain boundary: wire enums ↔ the string unions of @perpmesh/core, and
 * decimal text ↔ `Decimal`. Generated messages stop here; domain code sees words and
 * decimals. Bad wire input (an UNSPECIFIED or unknown enum, non-decimal text) throws a
 * ValidationError naming the field, which the gRPC edge turns into INVALID_ARGUMENT.
 */
import type {
  Decimal,
  Liquidity,
  OrderStatus,
  OrderType,
  PositionSide,
  Side,
  TimeInForce,
} from '@perpmesh/core';
import { parseDecimal, toWire, ValidationError } from '@perpmesh/core';
import {
  FillOrigin as ProtoFillOrigin,
  Liquidity as ProtoLiquidity,
  OrderStatus as ProtoOrderStatus,
  OrderType as ProtoOrderType,
  PositionSide as ProtoPositionSide,
  Side as ProtoSide,
  TimeInForce as ProtoTimeInForce,
} from './gen/perpmesh/v1/common.js';
import { OrderEventKind as ProtoOrderEventKind } from './gen/perpmesh/v1/execution.js';
import { TradingState as ProtoTradingState } from './gen/perpmesh/v1/strategy.js';

/**
 * A two-way enum mapping built from one domain → proto table. `Record<D, P>` makes the
 * compiler demand every domain value; the unit test checks every proto value but
 * UNSPECIFIED / UNRECOGNIZED has a domain value.
 */
export interface EnumMapping<D extends string, P extends number> {
  readonly toProto: (value: D) => P;
  readonly fromProto: (value: P, field: string) => D;
  /** The domain → proto table. */
  readonly table: Readonly<Record<D, P>>;
}

function enumMapping<D extends string, P extends number>(
  protoName: string,
  table: Readonly<Record<D, P>>,
): EnumMapping<D, P> {
  const reverse = new Map<number, D>();
  for (const [domain, proto] of Object.entries(table) as [D, P][]) reverse.set(proto, domain);
  return {
    table,
    toProto: (value) => {
      const proto = table[value];
      if (proto === undefined)
        throw new ValidationError(protoName, `no wire value for ${JSON.stringify(value)}`);
      return proto;
    },
    fromProto: (value, field) => {
      const domain = reverse.get(value);
      if (domain === undefined) {
        throw new ValidationError(
          field,
          `must be a known ${protoName}, got ${value} (unspecified or unknown)`,
        );
      }
      return domain;
    },
  };
}

export const SIDE = enumMapping<Side, ProtoSide>('Side', {
  buy: ProtoSide.SIDE_BUY,
  sell: ProtoSide.SIDE_SELL,
});

export const ORDER_TYPE = enumMapping<OrderType, ProtoOrderType>('OrderType', {
  limit: ProtoOrderType.ORDER_TYPE_LIMIT,
  market: ProtoOrderType.ORDER_TYPE_MARKET,
});

export const TIME_IN_FORCE = enumMapping<TimeInForce, ProtoTimeInForce>('TimeInForce', {
  gtc: ProtoTimeInForce.TIME_IN_FORCE_GTC,
  ioc: ProtoTimeInForce.TIME_IN_FORCE_IOC,
  fok: ProtoTimeInForce.TIME_IN_FORCE_FOK,
  post_only: ProtoTimeInForce.TIME_IN_FORCE_POST_ONLY,
});

export const ORDER_STATUS = enumMapping<OrderStatus, ProtoOrderStatus>('OrderStatus', {
  submitted: ProtoOrderStatus.ORDER_STATUS_SUBMITTED,
  accepted: ProtoOrderStatus.ORDER_STATUS_ACCEPTED,
  rejected: ProtoOrderStatus.ORDER_STATUS_REJECTED,
  partially_filled: ProtoOrderStatus.ORDER_STATUS_PARTIALLY_FILLED,
  filled: ProtoOrderStatus.ORDER_STATUS_FILLED,
  cancel_requested: ProtoOrderStatus.ORDER_STATUS_CANCEL_REQUESTED,
  canceled: ProtoOrderStatus.ORDER_STATUS_CANCELED,
  expired: ProtoOrderStatus.ORDER_STATUS_EXPIRED,
});

/** Each order event kind names the status it moves the order to, so it maps to OrderStatus. */
export const ORDER_EVENT_KIND = enumMapping<OrderStatus, ProtoOrderEventKind>('OrderEventKind', {
  submitted: ProtoOrderEventKind.ORDER_EVENT_KIND_SUBMITTED,
  accepted: ProtoOrderEventKind.ORDER_EVENT_KIND_ACCEPTED,
  rejected: ProtoOrderEventKind.ORDER_EVENT_KIND_REJECTED,
  partially_filled: ProtoOrderEventKind.ORDER_EVENT_KIND_PARTIALLY_FILLED,
  filled: ProtoOrderEventKind.ORDER_EVENT_KIND_FILLED,
  cancel_requested: ProtoOrderEventKind.ORDER_EVENT_KIND_CANCEL_REQUESTED,
  canceled: ProtoOrderEventKind.ORDER_EVENT_KIND_CANCELED,
  expired: ProtoOrderEventKind.ORDER_EVENT_KIND_EXPIRED,
});

export const LIQUIDITY = enumMapping<Liquidity, ProtoLiquidity>('Liquidity', {
  maker: ProtoLiquidity.LIQUIDITY_MAKER,
  taker: ProtoLiquidity.LIQUIDITY_TAKER,
});

/**
 * Who made a fill: one of our orders, or the venue acting on the account (a liquidation,
 * auto-deleveraging). The venue port re-exports it as `FillOrigin`.
 */
export type FillOriginName = 'order' | 'liquidation' | 'adl';

export const FILL_ORIGIN = enumMapping<FillOriginName, ProtoFillOrigin>('FillOrigin', {
  order: ProtoFillOrigin.FILL_ORIGIN_ORDER,
  liquidation: ProtoFillOrigin.FILL_ORIGIN_LIQUIDATION,
  adl: ProtoFillOrigin.FILL_ORIGIN_ADL,
});

/** As FILL_ORIGIN.fromProto, but UNSPECIFIED (a producer from before the field) reads as `order`. */
export function fillOriginFromProto(value: ProtoFillOrigin, field = 'origin'): FillOriginName {
  return value === ProtoFillOrigin.FILL_ORIGIN_UNSPECIFIED ? 'order' : FILL_ORIGIN.fromProto(value, field);
}

export const POSITION_SIDE = enumMapping<PositionSide, ProtoPositionSide>('PositionSide', {
  long: ProtoPositionSide.POSITION_SIDE_LONG,
  short: ProtoPositionSide.POSITION_SIDE_SHORT,
  flat: ProtoPositionSide.POSITION_SIDE_FLAT,
});

export const sideToProto = SIDE.toProto;
export const sideFromProto = (value: ProtoSide, field = 'side'): Side => SIDE.fromProto(value, field);
export const orderTypeToProto = ORDER_TYPE.toProto;
export const orderTypeFromProto = (value: ProtoOrderType, field = 'type'): OrderType =>
  ORDER_TYPE.fromProto(value, field);
export const timeInForceToProto = TIME_IN_FORCE.toProto;
export const timeInForceFromProto = (value: ProtoTimeInForce, field = 'timeInForce'): TimeInForce =>
  TIME_IN_FORCE.fromProto(value, field);
export const orderStatusToProto = ORDER_STATUS.toProto;
export const orderStatusFromProto = (value: ProtoOrderStatus, field = 'status'): OrderStatus =>
  ORDER_STATUS.fromProto(value, field);
export const orderEventKindToProto = ORDER_EVENT_KIND.toProto;
export const orderEventKindFromProto = (value: ProtoOrderEventKind, field = 'kind'): OrderStatus =>
  ORDER_EVENT_KIND.fromProto(value, field);
export const liquidityToProto = LIQUIDITY.toProto;
export const liquidityFromProto = (value: ProtoLiquidity, field = 'liquidity'): Liquidity =>
  LIQUIDITY.fromProto(value, field);
export const positionSideToProto = POSITION_SIDE.toProto;
export const positionSideFromProto = (value: ProtoPositionSide, field = 'side'): PositionSide =>
  POSITION_SIDE.fromProto(value, field);

/** Decimal text from the wire → `Decimal`; an empty or malformed value names `field`. */
export function decimalFromWire(value: string, field: string): Decimal {
  return parseDecimal(value, field);
}

/** Like `decimalFromWire`, but the empty string (the proto default: "unknown") is `undefined`. */
export function optionalDecimalFromWire(value: string, field: string): Decimal | undefined {
  return value === '' ? undefined : parseDecimal(value, field);
}

/** `Decimal` → wire text: plain notation, no exponent ("0.0001", "-42"). */
export function decimalToWire(value: Decimal): string {
  return toWire(value);
}

/** `undefined` → "" (the proto default, read back as unknown by `optionalDecimalFromWire`). */
export function optionalDecimalToWire(value: Decimal | undefined): string {
  return value === undefined ? '' : toWire(value);
}

/** The strategies' trading state (the kill switch), as operators read and type it. */
export type TradingStateName = 'ACTIVE' | 'REDUCING' | 'HALTED';

export const TRADING_STATE = enumMapping<TradingStateName, ProtoTradingState>('TradingState', {
  HALTED: ProtoTradingState.TRADING_STATE_HALTED,
  REDUCING: ProtoTradingState.TRADING_STATE_REDUCING,
  ACTIVE: ProtoTradingState.TRADING_STATE_ACTIVE,
});
