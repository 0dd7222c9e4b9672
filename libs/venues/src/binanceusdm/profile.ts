/**
 * Binance USD-M futures as a ccxt venue profile (ccxt/profile.ts). What the adapter reads
 * here, and why:
 * - funding: `premiumIndex.lastFundingRate` (the live estimate for `nextFundingTime`) with
 *   the interval of `fundingInfo.fundingIntervalHours`, read on every call: Binance moves a
 *   symbol 8 h -> 4 h -> 1 h at the cap and back. A symbol absent from `fundingInfo` has
 *   the default 8 h (the venue lists only adjusted symbols).
 * - balance: `/fapi/v2/account` assets (walletBalance = total, marginBalance = equity,
 *   availableBalance); positions: `/fapi/v2/positionRisk` (it carries leverage).
 * - orders by our client id: `newClientOrderId` / `origClientOrderId` (our ids fit
 *   Binance's 36 characters as they are).
 */
import {
  type ClientOrderId,
  Decimal,
  type InstrumentId,
  type OrderStatus,
  type TimeInForce,
  ValidationError,
} from '@perpmesh/core';
import {
  type PayloadRow,
  payloadDecimal,
  payloadInstrument,
  payloadInt,
  payloadText,
} from '../ccxt/payload.js';
import type { CcxtEndpoints, CcxtExchange, CcxtVenueProfile, ParseContext } from '../ccxt/profile.js';
import type {
  FundingInfo,
  VenueBalance,
  VenueFill,
  VenueFundingPayment,
  VenueOrder,
  VenuePosition,
} from '../port.js';
import { binanceClientOrderIdCodec } from '../shared/client-order-id.js';

const HOUR_MS = 3_600_000;
const DEFAULT_INTERVAL_HOURS = 8;
const REST_KEYS = {
  fapiPublic: '/fapi/v1',
  fapiPublicV2: '/fapi/v2',
  fapiPublicV3: '/fapi/v3',
  fapiPrivate: '/fapi/v1',
  fapiPrivateV2: '/fapi/v2',
  fapiPrivateV3: '/fapi/v3',
  fapiData: '/futures/data',
} as const;

const STATUS: Record<string, OrderStatus> = {
  NEW: 'accepted',
  PARTIALLY_FILLED: 'partially_filled',
  FILLED: 'filled',
  CANCELED: 'canceled',
  EXPIRED: 'expired',
  EXPIRED_IN_MATCH: 'expired',
  REJECTED: 'rejected',
};

const TIF_TO_BINANCE: Record<TimeInForce, string> = { gtc: 'GTC', ioc: 'IOC', fok: 'FOK', post_only: 'GTX' };
const TIF_FROM_BINANCE: Record<string, TimeInForce> = {
  GTC: 'gtc',
  IOC: 'ioc',
  FOK: 'fok',
  GTX: 'post_only',
};

/** Binance -> stable reject words (VenueRejectedError.reason). */
const REJECT_CODES: Record<string, string> = {
  '-1022': 'authentication',
  '-2015': 'authentication',
  '-4014': 'invalid_tick',
  '-1111': 'invalid_lot',
  '-4164': 'below_min_notional',
  '-5022': 'post_only_would_cross',
  '-2022': 'reduce_only_would_increase',
  '-4116': 'duplicate_client_order_id',
};

/** ORDER_TRADE_UPDATE carries the order in `o`; ccxt hands either the event or `o` as `info`. */
function unwrap(info: PayloadRow): PayloadRow {
  return typeof info.o === 'object' && info.o !== null ? (info.o as PayloadRow) : info;
}

/** Our order from an order payload: REST (`orderId`, `status`, ...) or ORDER_TRADE_UPDATE's `o` (`i`, `X`, ...). */
function parseOrder(raw: PayloadRow, ctx: ParseContext): VenueOrder {
  const info = unwrap(raw);
  const w = 'binanceusdm order';
  const ws = info.i !== undefined && info.orderId === undefined;
  const status = STATUS[payloadText(info, ws ? 'X' : 'status', w)];
  if (status === undefined)
    throw new ValidationError(`${w}.status`, `unknown status ${JSON.stringify(info.status ?? info.X)}`);
  const type = payloadText(info, ws ? 'o' : 'type', w) === 'MARKET' ? 'market' : 'limit';
  const price = payloadDecimal(info, ws ? 'p' : 'price', w);
  const filled = payloadDecimal(info, ws ? 'z' : 'executedQty', w);
  const avg = payloadDecimal(info, ws ? 'ap' : 'avgPrice', w);
  return {
    clientOrderId: payloadText(info, ws ? 'c' : 'clientOrderId', w),
    venueOrderId: payloadText(info, ws ? 'i' : 'orderId', w),
    instrument: payloadInstrument(info, ws ? 's' : 'symbol', w, ctx),
    side: payloadText(info, ws ? 'S' : 'side', w) === 'BUY' ? 'buy' : 'sell',
    type,
    timeInForce: TIF_FROM_BINANCE[payloadText(info, ws ? 'f' : 'timeInForce', w)] ?? 'gtc',
    ...(type === 'limit' && price.gt(0) ? { price } : {}),
    size: payloadDecimal(info, ws ? 'q' : 'origQty', w),
    filled,
    ...(filled.gt(0) && avg.gt(0) ? { avgFillPrice: avg } : {}),
    status,
    reduceOnly: info[ws ? 'R' : 'reduceOnly'] === true,
    tsEventMs: payloadInt(info, ws ? 'T' : 'updateTime', w),
  };
}

/** A fill from `/fapi/v1/userTrades` (no client id) or ORDER_TRADE_UPDATE's `o` (with it). */
function parseFill(
  raw: PayloadRow,
  ctx: ParseContext,
): Omit<VenueFill, 'clientOrderId'> & { clientOrderId?: ClientOrderId } {
  const info = unwrap(raw);
  const w = 'binanceusdm fill';
  const ws = info.i !== undefined && info.orderId === undefined;
  return {
    tradeId: payloadText(info, ws ? 't' : 'id', w),
    venueOrderId: payloadText(info, ws ? 'i' : 'orderId', w),
    ...(ws ? { clientOrderId: payloadText(info, 'c', w) } : {}),
    instrument: payloadInstrument(info, ws ? 's' : 'symbol', w, ctx),
    side: payloadText(info, ws ? 'S' : 'side', w) === 'BUY' ? 'buy' : 'sell',
    price: payloadDecimal(info, ws ? 'L' : 'price', w),
    size: payloadDecimal(info, ws ? 'l' : 'qty', w),
    fee: payloadDecimal(info, ws ? 'n' : 'commission', w),
    feeCurrency: payloadText(info, ws ? 'N' : 'commissionAsset', w),
    liquidity: info[ws ? 'm' : 'maker'] === true ? 'maker' : 'taker',
    tsEventMs: payloadInt(info, ws ? 'T' : 'time', w),
  };
}

async function fundingIntervals(
  exchange: CcxtExchange,
  instruments: readonly InstrumentId[],
  ctx: ParseContext,
): Promise<Map<InstrumentId, number>> {
  const rows = (await (exchange.fapiPublicGetFundingInfo as () => Promise<PayloadRow[]>)()) ?? [];
  const hoursBySymbol = new Map<string, number>();
  for (const row of rows)
    hoursBySymbol.set(String(row.symbol), payloadInt(row, 'fundingIntervalHours', 'binanceusdm fundingInfo'));
  const out = new Map<InstrumentId, number>();
  for (const instrument of instruments) {
    const symbol = venueSymbol(instrument);
    out.set(instrument, (hoursBySymbol.get(symbol) ?? DEFAULT_INTERVAL_HOURS) * HOUR_MS);
  }
  void ctx;
  return out;
}

/** `BTC-USDT-PERP` -> `BTCUSDT`. */
function venueSymbol(instrument: InstrumentId): string {
  const [base, quote] = instrument.split('-');
  return `${base}${quote}`;
}

export const binanceusdmProfile: CcxtVenueProfile = {
  ccxtId: 'binanceusdm',
  capabilities: {
    nonces: false,
    nonceFloorIsTimeMs: false,
    rejectsDuplicateClientOrderId: true,
    cancelAllOrders: true,
    postOnly: true,
    fok: true,
    fundingHistory: true,
    setLeverage: true,
    scheduleCancelAll: true,
    venueFills: true,
  },
  ccxtOptions: () => ({
    defaultType: 'future',
    fetchMarkets: { types: ['linear'] },
    // With keys, loadMarkets would also call the spot wallet (sapi) endpoints.
    fetchCurrencies: false,
    fetchMargins: false,
    // Every signed request carries our clock's `timestamp`; Binance refuses one 1 s ahead of
    // its clock (or older than recvWindow) with -1021. ccxt measures the offset from
    // /fapi/v1/time when the markets load, and the port measures again after a -1021.
    adjustForTimeDifference: true,
    warnOnFetchOpenOrdersWithoutSymbol: false,
    // Positions come from REST; ccxt's snapshot future would otherwise sit unawaited on the private socket.
    watchPositions: { fetchPositionsSnapshot: false },
  }),
  credentials: (fields) => ({ apiKey: fields.apiKey ?? '', secret: fields.secret ?? '' }),
  pointAt(exchange: CcxtExchange, endpoints: CcxtEndpoints) {
    if (endpoints.testnet && endpoints.baseUrl === undefined) {
      (exchange as unknown as { setSandboxMode(on: boolean): void }).setSandboxMode(true);
    }
    const api = exchange.urls.api as Record<string, unknown>;
    if (endpoints.baseUrl !== undefined) {
      const base = endpoints.baseUrl.replace(/\/$/, '');
      for (const [key, path] of Object.entries(REST_KEYS)) api[key] = `${base}${path}`;
    }
    if (endpoints.wsUrl !== undefined) {
      const ws = { ...((api.ws as Record<string, unknown>) ?? {}) };
      ws.future = endpoints.wsUrl;
      api.ws = ws;
    }
  },
  venueSymbol,
  clientOrderIds: binanceClientOrderIdCodec,
  // Orders the venue places itself carry these client ids (liquidation, auto-deleveraging).
  venueMadeOrigin: (venueClientId) =>
    venueClientId.startsWith('autoclose-')
      ? 'liquidation'
      : venueClientId.startsWith('adl_autoclose')
        ? 'adl'
        : undefined,
  async scheduleCancelAll(exchange, afterMs, instruments) {
    // countdownCancelAll is per symbol: armed (or disarmed, 0) for each one we trade.
    const post = exchange.fapiPrivatePostCountdownCancelAll as (p: PayloadRow) => Promise<unknown>;
    for (const instrument of instruments) {
      await post.call(exchange, { symbol: venueSymbol(instrument), countdownTime: afterMs });
    }
  },
  async setLeverage(exchange, symbol, leverage) {
    await (exchange.setLeverage as (l: number, s: string) => Promise<unknown>)(leverage, symbol);
  },
  cancelAnswersWithOrder: true,
  ccxtSymbol: (instrument) => {
    const [base, quote] = instrument.split('-');
    return `${base}/${quote}:${quote}`;
  },
  isPrivateWsUrl: (url) => url.includes('listenKey=') || url.includes('/private/'),
  fetchFundingIntervals: fundingIntervals,
  async fetchFunding(exchange, instruments, ctx) {
    const [rows, intervals] = await Promise.all([
      (exchange.fapiPublicGetPremiumIndex as () => Promise<PayloadRow[]>)(),
      fundingIntervals(exchange, instruments, ctx),
    ]);
    const bySymbol = new Map(rows.map((r) => [String(r.symbol), r]));
    return instruments.map((instrument): FundingInfo => {
      const row = bySymbol.get(venueSymbol(instrument));
      const w = `binanceusdm premiumIndex ${venueSymbol(instrument)}`;
      if (row === undefined) throw new ValidationError(w, 'missing from the venue answer');
      return {
        kind: 'funding',
        instrument,
        rate: payloadDecimal(row, 'lastFundingRate', w),
        intervalMs: intervals.get(instrument) as number,
        nextFundingTimeMs: payloadInt(row, 'nextFundingTime', w),
        markPrice: payloadDecimal(row, 'markPrice', w),
        indexPrice: payloadDecimal(row, 'indexPrice', w),
        tsEventMs: payloadInt(row, 'time', w),
      };
    });
  },
  async fetchBalances(exchange, ctx) {
    const account = await (exchange.fapiPrivateV2GetAccount as () => Promise<PayloadRow>)();
    const assets = (account.assets as PayloadRow[] | undefined) ?? [];
    void ctx;
    return assets.map((a): VenueBalance => {
      const w = `binanceusdm account.assets ${String(a.asset)}`;
      return {
        asset: payloadText(a, 'asset', w),
        total: payloadDecimal(a, 'walletBalance', w),
        available: payloadDecimal(a, 'availableBalance', w),
        equity: payloadDecimal(a, 'marginBalance', w),
        unrealizedPnl: payloadDecimal(a, 'unrealizedProfit', w),
        tsEventMs: a.updateTime === undefined ? Date.now() : payloadInt(a, 'updateTime', w),
      };
    });
  },
  async fetchPositions(exchange, ctx) {
    const rows = await (exchange.fapiPrivateV2GetPositionRisk as () => Promise<PayloadRow[]>)();
    const out: VenuePosition[] = [];
    for (const row of rows) {
      const instrument = ctx.instrumentOfVenueSymbol(String(row.symbol));
      if (instrument === undefined) continue;
      const w = `binanceusdm positionRisk ${String(row.symbol)}`;
      const size = payloadDecimal(row, 'positionAmt', w);
      if (size.isZero()) continue;
      const liq = payloadDecimal(row, 'liquidationPrice', w);
      out.push({
        instrument,
        size,
        entryPrice: payloadDecimal(row, 'entryPrice', w),
        markPrice: payloadDecimal(row, 'markPrice', w),
        unrealizedPnl: payloadDecimal(row, 'unRealizedProfit', w),
        realizedPnl: new Decimal(0),
        leverage: payloadDecimal(row, 'leverage', w),
        ...(liq.gt(0) ? { liquidationPrice: liq } : {}),
        tsEventMs: payloadInt(row, 'updateTime', w),
      });
    }
    return out;
  },
  async fetchFundingPayments(exchange, sinceMs, ctx) {
    const rows = await (exchange.fapiPrivateGetIncome as (p: object) => Promise<PayloadRow[]>)({
      incomeType: 'FUNDING_FEE',
      startTime: sinceMs,
      limit: 1000,
    });
    const out: VenueFundingPayment[] = [];
    for (const row of rows) {
      const instrument = ctx.instrumentOfVenueSymbol(String(row.symbol));
      if (instrument === undefined) continue;
      const w = 'binanceusdm income';
      // The income history has no rate, size or mark: zero means "not reported".
      out.push({
        instrument,
        amount: payloadDecimal(row, 'income', w),
        rate: new Decimal(0),
        positionSize: new Decimal(0),
        markPrice: new Decimal(0),
        tsEventMs: payloadInt(row, 'time', w),
      });
    }
    return out;
  },
  orderParams: ({ clientOrderId, type, timeInForce, reduceOnly }) => ({
    newClientOrderId: clientOrderId,
    ...(type === 'limit' ? { timeInForce: TIF_TO_BINANCE[timeInForce as TimeInForce] ?? 'GTC' } : {}),
    ...(reduceOnly ? { reduceOnly: true } : {}),
  }),
  clientIdParams: (clientOrderId) => ({ origClientOrderId: clientOrderId }),
  parseOrder,
  parseFill,
  rejectReason: (message) => {
    const code = /"code"\s*:\s*(-?\d+)/.exec(message)?.[1];
    return code === undefined ? undefined : REJECT_CODES[code];
  },
};
