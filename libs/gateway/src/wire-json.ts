/**
 * Events and views as JSON for browsers and scripts: every field present (defaults
 * included, unlike proto3 JSON), decimals as the strings they are on the wire, times as
 * ms since epoch, and wire enums as the lowercase words of the domain (`SIDE_BUY` → `buy`,
 * `ORDER_STATUS_PARTIALLY_FILLED` → `partially_filled`).
 */
import {
  bookUpdateKindToJSON,
  type Envelope,
  type EnvelopePayload,
  liquidityToJSON,
  type Order,
  type OrderIntent,
  orderEventKindToJSON,
  orderStatusToJSON,
  orderTypeToJSON,
  type PayloadCase,
  positionSideToJSON,
  sideToJSON,
  stateSourceToJSON,
  timeInForceToJSON,
} from '@perpmesh/contracts';

/** `SIDE_BUY` with prefix `SIDE_` → `buy`; `UNRECOGNIZED`/`..._UNSPECIFIED` → `unspecified`. */
function word(jsonName: string, prefix: string): string {
  const name = jsonName.startsWith(prefix) ? jsonName.slice(prefix.length) : jsonName;
  return name.toLowerCase();
}

export const enumWords = {
  side: (v: number) => word(sideToJSON(v), 'SIDE_'),
  orderType: (v: number) => word(orderTypeToJSON(v), 'ORDER_TYPE_'),
  timeInForce: (v: number) => word(timeInForceToJSON(v), 'TIME_IN_FORCE_'),
  orderStatus: (v: number) => word(orderStatusToJSON(v), 'ORDER_STATUS_'),
  liquidity: (v: number) => word(liquidityToJSON(v), 'LIQUIDITY_'),
  positionSide: (v: number) => word(positionSideToJSON(v), 'POSITION_SIDE_'),
  stateSource: (v: number) => word(stateSourceToJSON(v), 'STATE_SOURCE_'),
  orderEventKind: (v: number) => word(orderEventKindToJSON(v), 'ORDER_EVENT_KIND_'),
  bookUpdateKind: (v: number) => word(bookUpdateKindToJSON(v), 'BOOK_UPDATE_KIND_'),
};

export type JsonObject = Record<string, unknown>;

export function orderJson(order: Order): JsonObject {
  return {
    ...order,
    side: enumWords.side(order.side),
    type: enumWords.orderType(order.type),
    timeInForce: enumWords.timeInForce(order.timeInForce),
    status: enumWords.orderStatus(order.status),
  };
}

function intentJson(intent: OrderIntent): JsonObject {
  return {
    ...intent,
    side: enumWords.side(intent.side),
    type: enumWords.orderType(intent.type),
    timeInForce: enumWords.timeInForce(intent.timeInForce),
  };
}

/** The payload of an envelope as JSON, enums as words. */
export function payloadJson(payload: EnvelopePayload): JsonObject {
  switch (payload.$case) {
    case 'orderBook':
      return { ...payload.value, kind: enumWords.bookUpdateKind(payload.value.kind) };
    case 'publicTrade':
      return { ...payload.value, aggressorSide: enumWords.side(payload.value.aggressorSide) };
    case 'orderEvent': {
      const { order, ...rest } = payload.value;
      return {
        ...rest,
        kind: enumWords.orderEventKind(payload.value.kind),
        order: order ? orderJson(order) : null,
      };
    }
    case 'fill':
      return {
        ...payload.value,
        side: enumWords.side(payload.value.side),
        liquidity: enumWords.liquidity(payload.value.liquidity),
      };
    case 'balance':
      return { ...payload.value, source: enumWords.stateSource(payload.value.source) };
    case 'position':
      return {
        ...payload.value,
        side: enumWords.positionSide(payload.value.side),
        source: enumWords.stateSource(payload.value.source),
      };
    case 'fundingPayment':
      return { ...payload.value, positionSide: enumWords.positionSide(payload.value.positionSide) };
    case 'strategyDecision':
      return { ...payload.value, orderIntents: payload.value.orderIntents.map(intentJson) };
    case 'fundingRate':
    case 'venueStatus':
    case 'accountDrift':
      return { ...payload.value };
  }
}

/** One event as the gateway hands it out (SSE, /api/decisions). */
export interface EventJson {
  readonly id: string;
  /** The payload case: `fundingRate`, `balance`, `orderEvent`, `strategyDecision`... */
  readonly kind: PayloadCase;
  /** The envelope type, e.g. `perpmesh.v1.Fill`. */
  readonly type: string;
  readonly subject: string;
  readonly source: string;
  readonly tsEventMs: number;
  readonly tsInitMs: number;
  readonly correlationId: string;
  readonly causationId: string;
  /** Stream sequence, so a client can tell order and gaps. */
  readonly seq: number;
  readonly payload: JsonObject;
}

export function eventJson(envelope: Envelope, subject: string, seq: number): EventJson | undefined {
  const payload = envelope.payload;
  if (!payload) return undefined;
  return {
    id: envelope.id,
    kind: payload.$case,
    type: envelope.type,
    subject,
    source: envelope.source,
    tsEventMs: envelope.tsEvent,
    tsInitMs: envelope.tsInit,
    correlationId: envelope.correlationId,
    causationId: envelope.causationId,
    seq,
    payload: payloadJson(payload),
  };
}
