/**
 * OKX swaps as a ccxt venue profile (ccxt/profile.ts):
 * - funding: `public/funding-rate` — `fundingRate` is the forecast for `fundingTime`; the
 *   interval is `nextFundingTime - fundingTime`, read on every call (OKX shortens it at
 *   the cap).
 * - sizes on the wire are contracts (`ctVal` base units each): the adapter converts with
 *   the market's contract size, these parsers with `ctx.contractSize`.
 * - account: `account/balance` details (cashBal = total, availBal, eq), positions
 *   `account/positions` (net mode).
 * - client ids: `clOrdId`, 1-32 letters and digits, through the shared codec
 *   (shared/client-order-id.ts: ours when they fit, else a hash the port maps back). No broker tag: ccxt adds one only to orders that
 *   come without a clOrdId, and ours always carry one.
 * - funding history: `account/bills` type 8 (funding fee), paged back with `after`.
 * - leverage: `account/set-leverage` (cross); dead-man switch: `trade/cancel-all-after`
 *   (whole seconds, 10..120; 0 disarms).
 * - fees: OKX reports a charge as a negative fee; ours are positive when paid.
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
import type { CcxtExchange, CcxtVenueProfile, ParseContext } from '../ccxt/profile.js';
import type {
  FundingInfo,
  VenueBalance,
  VenueFill,
  VenueFundingPayment,
  VenueOrder,
  VenuePosition,
} from '../port.js';
import { okxClientOrderIdCodec } from '../shared/client-order-id.js';

/** `cancel-all-after` takes whole seconds, 0 or 10..120. */
const CANCEL_ALL_AFTER_MIN_S = 10;
const CANCEL_ALL_AFTER_MAX_S = 120;
/** Bills per page (the venue's maximum). */
const BILLS_PAGE = 100;

const STATE: Record<string, OrderStatus> = {
  live: 'accepted',
  partially_filled: 'partially_filled',
  filled: 'filled',
  canceled: 'canceled',
  mmp_canceled: 'canceled',
};
const TIF_FROM: Record<string, TimeInForce> = {
  limit: 'gtc',
  ioc: 'ioc',
  fok: 'fok',
  post_only: 'post_only',
  market: 'ioc',
};

async function rows(exchange: CcxtExchange, method: string, params: PayloadRow = {}): Promise<PayloadRow[]> {
  const response = (await (exchange[method] as (p: PayloadRow) => Promise<PayloadRow>)(params)) as PayloadRow;
  return (response.data as PayloadRow[] | undefined) ?? [];
}

function parseOrder(o: PayloadRow, ctx: ParseContext): VenueOrder {
  const w = 'okx order';
  const instrument = payloadInstrument(o, 'instId', w, ctx);
  const ct = ctx.contractSize(instrument);
  const state = STATE[payloadText(o, 'state', w)];
  if (state === undefined)
    throw new ValidationError(`${w}.state`, `unknown state ${JSON.stringify(o.state)}`);
  const ordType = payloadText(o, 'ordType', w);
  const filled = payloadDecimal(o, 'accFillSz', w).mul(ct);
  const clOrdId = typeof o.clOrdId === 'string' && o.clOrdId !== '' ? o.clOrdId : undefined;
  return {
    clientOrderId: clOrdId === undefined ? '' : ctx.ourClientId(clOrdId),
    venueOrderId: payloadText(o, 'ordId', w),
    instrument,
    side: o.side === 'buy' ? 'buy' : 'sell',
    type: ordType === 'market' ? 'market' : 'limit',
    timeInForce: TIF_FROM[ordType] ?? 'gtc',
    ...(ordType === 'market' || o.px === '' ? {} : { price: payloadDecimal(o, 'px', w) }),
    size: payloadDecimal(o, 'sz', w).mul(ct),
    filled,
    ...(filled.gt(0) && o.avgPx !== '' ? { avgFillPrice: payloadDecimal(o, 'avgPx', w) } : {}),
    status: state,
    reduceOnly: o.reduceOnly === 'true' || o.reduceOnly === true,
    tsEventMs: payloadInt(o, 'uTime', w),
  };
}

/** A fill from `trade/fills` or from an `orders` push carrying one (`fillSz` > 0). */
function parseFill(
  f: PayloadRow,
  ctx: ParseContext,
): Omit<VenueFill, 'clientOrderId'> & { clientOrderId?: ClientOrderId } {
  const w = 'okx fill';
  const instrument = payloadInstrument(f, 'instId', w, ctx);
  const pushed = 'fillFee' in f;
  const clOrdId = typeof f.clOrdId === 'string' && f.clOrdId !== '' ? f.clOrdId : undefined;
  return {
    tradeId: payloadText(f, 'tradeId', w),
    venueOrderId: payloadText(f, 'ordId', w),
    ...(clOrdId === undefined ? {} : { clientOrderId: ctx.ourClientId(clOrdId) }),
    instrument,
    side: f.side === 'buy' ? 'buy' : 'sell',
    price: payloadDecimal(f, 'fillPx', w),
    size: payloadDecimal(f, 'fillSz', w).mul(ctx.contractSize(instrument)),
    fee: payloadDecimal(f, pushed ? 'fillFee' : 'fee', w).neg(),
    feeCurrency: payloadText(f, pushed ? 'fillFeeCcy' : 'feeCcy', w),
    liquidity: f.execType === 'M' ? 'maker' : 'taker',
    tsEventMs: payloadInt(f, pushed ? 'fillTime' : 'ts', w),
  };
}

const venueSymbol = (instrument: InstrumentId) => `${instrument.split('-').slice(0, 2).join('-')}-SWAP`;

export const okxProfile: CcxtVenueProfile = {
  ccxtId: 'okx',
  capabilities: {
    nonces: false,
    nonceFloorIsTimeMs: false,
    rejectsDuplicateClientOrderId: true,
    cancelAllOrders: false,
    postOnly: true,
    fok: true,
    fundingHistory: true,
    setLeverage: true,
    scheduleCancelAll: true,
    scheduleCancelAllMinMs: CANCEL_ALL_AFTER_MIN_S * 1_000,
  },
  ccxtOptions: () => ({
    fetchMarkets: { types: ['swap'] },
    fetchCurrencies: false,
    createOrder: 'privatePostTradeOrder',
    defaultType: 'swap',
  }),
  credentials: (fields) => ({
    apiKey: fields.apiKey ?? '',
    secret: fields.secret ?? '',
    password: fields.passphrase ?? '',
  }),
  pointAt(exchange, endpoints) {
    if (endpoints.testnet)
      (exchange as unknown as { setSandboxMode(on: boolean): void }).setSandboxMode(true);
    const api = exchange.urls.api as Record<string, unknown>;
    if (endpoints.baseUrl !== undefined) api.rest = endpoints.baseUrl.replace(/\/$/, '');
    if (endpoints.wsUrl !== undefined) api.ws = endpoints.wsUrl;
  },
  ccxtSymbol: (instrument) => {
    const [base, quote] = instrument.split('-');
    return `${base}/${quote}:${quote}`;
  },
  venueSymbol,
  clientOrderIds: okxClientOrderIdCodec,
  cancelAnswersWithOrder: false,
  isPrivateWsUrl: (url) => url.includes('/private'),
  async fetchFundingIntervals(exchange, instruments, ctx) {
    const funding = await okxProfile.fetchFunding(exchange, instruments, ctx);
    return new Map(funding.map((f) => [f.instrument, f.intervalMs]));
  },
  async fetchFunding(exchange, instruments) {
    const out: FundingInfo[] = [];
    for (const instrument of instruments) {
      const [row] = await rows(exchange, 'publicGetPublicFundingRate', { instId: venueSymbol(instrument) });
      const w = `okx funding-rate ${venueSymbol(instrument)}`;
      if (row === undefined) throw new ValidationError(w, 'missing from the venue answer');
      const fundingTime = payloadInt(row, 'fundingTime', w);
      const [mark] = await rows(exchange, 'publicGetPublicMarkPrice', {
        instType: 'SWAP',
        instId: venueSymbol(instrument),
      });
      const [index] = await rows(exchange, 'publicGetMarketIndexTickers', {
        instId: venueSymbol(instrument).replace(/-SWAP$/, ''),
      });
      out.push({
        kind: 'funding',
        instrument,
        rate: payloadDecimal(row, 'fundingRate', w),
        intervalMs: payloadInt(row, 'nextFundingTime', w) - fundingTime,
        nextFundingTimeMs: fundingTime,
        markPrice: payloadDecimal(mark, 'markPx', `${w} mark-price`),
        indexPrice: payloadDecimal(index, 'idxPx', `${w} index-tickers`),
        tsEventMs: payloadInt(row, 'ts', w),
      });
    }
    return out;
  },
  async fetchBalances(exchange) {
    const [account] = await rows(exchange, 'privateGetAccountBalance');
    return ((account?.details as PayloadRow[] | undefined) ?? []).map((d): VenueBalance => {
      const w = `okx balance ${String(d.ccy)}`;
      return {
        asset: payloadText(d, 'ccy', w),
        total: payloadDecimal(d, 'cashBal', w),
        available: payloadDecimal(d, 'availBal', w),
        equity: payloadDecimal(d, 'eq', w),
        unrealizedPnl: d.upl === '' || d.upl === undefined ? new Decimal(0) : payloadDecimal(d, 'upl', w),
        tsEventMs: payloadInt(d, 'uTime', w),
      };
    });
  },
  async setLeverage(exchange, symbol, leverage) {
    const instId = exchange.markets?.[symbol]?.id ?? symbol;
    // Cross margin: the account's one collateral pool (what we trade with).
    await rows(exchange, 'privatePostAccountSetLeverage', {
      instId,
      lever: String(leverage),
      mgnMode: 'cross',
    });
  },
  async scheduleCancelAll(exchange, afterMs) {
    // Whole seconds, rounded up so the venue never cancels earlier than asked.
    const timeOut = Math.ceil(afterMs / 1_000);
    if (timeOut > CANCEL_ALL_AFTER_MAX_S) {
      throw new ValidationError(
        'afterMs',
        `okx cancel-all-after allows at most ${CANCEL_ALL_AFTER_MAX_S} s, got ${afterMs} ms`,
      );
    }
    await rows(exchange, 'privatePostTradeCancelAllAfter', { timeOut: String(timeOut) });
  },
  async fetchFundingPayments(exchange, sinceMs, ctx) {
    // Funding bills (type 8), newest first, 100 a page: paged back with `after` (older than
    // that billId) until a page is short or reaches before `sinceMs`.
    const out: VenueFundingPayment[] = [];
    let after: string | undefined;
    for (;;) {
      const page = await rows(exchange, 'privateGetAccountBills', {
        instType: 'SWAP',
        type: '8',
        begin: String(sinceMs),
        limit: String(BILLS_PAGE),
        ...(after === undefined ? {} : { after }),
      });
      for (const bill of page) {
        const w = 'okx bills';
        const instrument = ctx.instrumentOfVenueSymbol(String(bill.instId));
        if (instrument === undefined) continue;
        const ts = payloadInt(bill, 'ts', w);
        if (ts < sinceMs) continue;
        // The bill states no rate: zero means "not reported". `sz` is contracts.
        out.push({
          paymentId: payloadText(bill, 'billId', w),
          instrument,
          amount: payloadDecimal(bill, 'balChg', w),
          rate: new Decimal(0),
          positionSize:
            bill.sz === undefined || bill.sz === ''
              ? new Decimal(0)
              : payloadDecimal(bill, 'sz', w).mul(ctx.contractSize(instrument)),
          markPrice: bill.px === undefined || bill.px === '' ? new Decimal(0) : payloadDecimal(bill, 'px', w),
          tsEventMs: ts,
        });
      }
      const last = page.at(-1);
      if (page.length < BILLS_PAGE || last === undefined || payloadInt(last, 'ts', 'okx bills') < sinceMs)
        break;
      after = payloadText(last, 'billId', 'okx bills');
    }
    return out.sort((a, b) => a.tsEventMs - b.tsEventMs);
  },
  async fetchPositions(exchange, ctx) {
    const out: VenuePosition[] = [];
    for (const p of await rows(exchange, 'privateGetAccountPositions', { instType: 'SWAP' })) {
      const instrument = ctx.instrumentOfVenueSymbol(String(p.instId));
      if (instrument === undefined) continue;
      const w = `okx position ${String(p.instId)}`;
      const size = payloadDecimal(p, 'pos', w).mul(ctx.contractSize(instrument));
      if (size.isZero()) continue;
      out.push({
        instrument,
        size,
        entryPrice: payloadDecimal(p, 'avgPx', w),
        markPrice: payloadDecimal(p, 'markPx', w),
        unrealizedPnl: payloadDecimal(p, 'upl', w),
        realizedPnl:
          p.realizedPnl === undefined || p.realizedPnl === ''
            ? new Decimal(0)
            : payloadDecimal(p, 'realizedPnl', w),
        leverage: payloadDecimal(p, 'lever', w),
        ...(p.liqPx === '' || p.liqPx === undefined
          ? {}
          : { liquidationPrice: payloadDecimal(p, 'liqPx', w) }),
        tsEventMs: payloadInt(p, 'uTime', w),
      });
    }
    return out;
  },
  orderParams: ({ clientOrderId, type, timeInForce, reduceOnly }) => ({
    clOrdId: clientOrderId,
    ...(type === 'limit' && timeInForce === 'post_only' ? { postOnly: true } : {}),
    ...(type === 'limit' && (timeInForce === 'ioc' || timeInForce === 'fok')
      ? { timeInForce: timeInForce.toUpperCase() }
      : {}),
    ...(reduceOnly ? { reduceOnly: true } : {}),
    tdMode: 'cross',
  }),
  clientIdParams: (clOrdId) => ({ clOrdId }),
  orderFromCreate(raw, request) {
    return {
      clientOrderId: request.clientOrderId,
      venueOrderId: payloadText(raw, 'ordId', 'okx order ack'),
      instrument: request.instrument,
      side: request.side,
      type: request.type,
      timeInForce: request.timeInForce as TimeInForce,
      ...(request.price === undefined ? {} : { price: request.price }),
      size: request.size,
      filled: new Decimal(0),
      status: 'accepted',
      reduceOnly: request.reduceOnly,
      tsEventMs: Date.now(),
    };
  },
  parseOrder,
  parseFill,
  rejectReason: (message) => {
    if (/5011[13]|50105|Invalid Sign|OK-ACCESS/.test(message)) return 'authentication';
    if (/51026|post only/i.test(message)) return 'post_only_would_cross';
    if (/51016|Duplicated clOrdId/.test(message)) return 'duplicate_client_order_id';
    return undefined;
  },
};
