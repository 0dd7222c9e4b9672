/**
 * Binance USD-M futures wire format (the parts our ccxt adapter uses), from the venue's
 * public API docs: symbols, order/trade payloads and the error codes it answers with.
 */
import type { InstrumentId } from '@perpmesh/core';
import type { OrderView } from '@perpmesh/sim';

/** `BTC-USDT-PERP` -> `BTCUSDT`. */
export function binanceSymbol(instrument: InstrumentId): string {
  const [base, quote] = instrument.split('-');
  return `${base}${quote}`;
}

export const BINANCE_ERRORS = {
  badSignature: { code: -1022, msg: 'Signature for this request is not valid.' },
  badKey: { code: -2015, msg: 'Invalid API-key, IP, or permissions for action.' },
  noSuchOrder: { code: -2013, msg: 'Order does not exist.' },
  unknownOrderOnCancel: { code: -2011, msg: 'Unknown order sent.' },
  badSymbol: { code: -1121, msg: 'Invalid symbol.' },
  missingParam: (name: string) => ({
    code: -1102,
    msg: `Mandatory parameter '${name}' was not sent, was empty/null, or malformed.`,
  }),
  insufficientMargin: { code: -2019, msg: 'Margin is insufficient.' },
  rejected: (detail: string) => ({ code: -1111, msg: detail }),
  tooManyRequests: {
    code: -1003,
    msg: 'Too many requests; current limit is 2400 requests per minute. Please use the websocket for live updates to avoid polling the API.',
  },
  unknown: { code: -1000, msg: 'An unknown error occured while processing the request.' },
  duplicateClientId: { code: -4116, msg: 'ClientOrderId is duplicated.' },
  aheadOfServer: { code: -1021, msg: "Timestamp for this request was 1000ms ahead of the server's time." },
  outsideRecvWindow: { code: -1021, msg: 'Timestamp for this request is outside of the recvWindow.' },
} as const;

/** recvWindow when a signed request sends none, and the most it may be (ms). */
const RECV_WINDOW_DEFAULT_MS = 5_000;
const RECV_WINDOW_MAX_MS = 60_000;
/** How far ahead of the server's clock a request's timestamp may be (ms). */
const TIMESTAMP_AHEAD_MS = 1_000;

/**
 * A signed request's `timestamp` against the venue's clock, as Binance checks it: at most
 * 1 s ahead of the server, at most `recvWindow` behind. A refusal means the venue did
 * nothing; undefined = in time.
 */
export function timestampRefusal(
  timestamp: string | undefined,
  recvWindow: string | undefined,
  serverNowMs: number,
): { code: number; msg: string } | undefined {
  const sent = Number(timestamp);
  if (timestamp === undefined || !Number.isSafeInteger(sent)) return BINANCE_ERRORS.missingParam('timestamp');
  const window = recvWindow === undefined ? RECV_WINDOW_DEFAULT_MS : Number(recvWindow);
  if (!Number.isSafeInteger(window) || window <= 0 || window > RECV_WINDOW_MAX_MS)
    return { code: -1131, msg: 'recvWindow must be less than 60000' };
  if (sent >= serverNowMs + TIMESTAMP_AHEAD_MS) return BINANCE_ERRORS.aheadOfServer;
  if (serverNowMs - sent > window) return BINANCE_ERRORS.outsideRecvWindow;
  return undefined;
}

const STATUS: Partial<Record<OrderView['status'], string>> = {
  submitted: 'NEW',
  accepted: 'NEW',
  cancel_requested: 'NEW',
  partially_filled: 'PARTIALLY_FILLED',
  filled: 'FILLED',
  canceled: 'CANCELED',
  rejected: 'REJECTED',
  expired: 'EXPIRED',
};

export function orderStatus(order: OrderView): string {
  return STATUS[order.status] ?? 'NEW';
}

export function binanceTimeInForce(order: OrderView): string {
  if (order.type === 'market') return 'GTC';
  return { gtc: 'GTC', ioc: 'IOC', fok: 'FOK', post_only: 'GTX' }[order.timeInForce as string] ?? 'GTC';
}

/** An order as `/fapi/v1/order` answers it. */
export function orderPayload(order: OrderView, symbol: string): Record<string, unknown> {
  const cumQuote = order.avgFillPrice ? order.avgFillPrice.mul(order.filledSize).toFixed() : '0';
  return {
    orderId: Number(order.venueOrderId),
    symbol,
    status: orderStatus(order),
    clientOrderId: order.clientOrderId ?? '',
    price: order.price?.toFixed() ?? '0',
    avgPrice: order.avgFillPrice?.toFixed() ?? '0',
    origQty: order.size.toFixed(),
    executedQty: order.filledSize.toFixed(),
    cumQty: order.filledSize.toFixed(),
    cumQuote,
    timeInForce: binanceTimeInForce(order),
    type: order.type === 'market' ? 'MARKET' : 'LIMIT',
    reduceOnly: order.reduceOnly,
    closePosition: false,
    side: order.side === 'buy' ? 'BUY' : 'SELL',
    positionSide: 'BOTH',
    stopPrice: '0',
    workingType: 'CONTRACT_PRICE',
    priceProtect: false,
    origType: order.type === 'market' ? 'MARKET' : 'LIMIT',
    priceMatch: 'NONE',
    selfTradePreventionMode: 'EXPIRE_MAKER',
    goodTillDate: 0,
    time: order.createdMs,
    updateTime: order.updatedMs,
  };
}
