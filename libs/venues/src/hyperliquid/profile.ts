/**
 * Hyperliquid as a ccxt venue profile (ccxt/profile.ts):
 * - funding: `metaAndAssetCtxs[1][i].funding` is the live hourly estimate; the venue pays
 *   every hour (1 h interval, stated here, never assumed elsewhere); next time = next hour.
 * - account: `clearinghouseState` of the wallet address (equity = accountValue, available =
 *   withdrawable, total = equity - unrealized PnL); positions from its assetPositions.
 * - client ids: `cloid`, 16 bytes of hex, through the shared codec (shared/client-order-id.ts:
 *   short ids packed and reversible, longer ones hashed; the port keeps the map back).
 * - nonces: ours (capabilities.nonces): ccxt's millisecond nonce collides under concurrency.
 * - ccxt's builder-fee approval, referrer and abstraction calls are switched off
 *   (`configure`): no builder is attached to our orders, no fee approved for anyone.
 */
import {
  type ClientOrderId,
  Decimal,
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
import { hyperliquidClientOrderIdCodec } from '../shared/client-order-id.js';
import { scheduledCancelDelayMs } from '../shared/venue-clock.js';

const HOUR_MS = 3_600_000;
/** Hyperliquid refuses a scheduled cancel closer than 5 s ahead. */
const SCHEDULE_CANCEL_MIN_MS = 5_000;

const TIF_TO_VENUE: Partial<Record<TimeInForce, string>> = { gtc: 'Gtc', ioc: 'Ioc', post_only: 'Alo' };
const TIF_FROM_VENUE: Record<string, TimeInForce> = { Gtc: 'gtc', Ioc: 'ioc', Alo: 'post_only' };

function user(exchange: CcxtExchange): string {
  const address = exchange.walletAddress;
  if (typeof address !== 'string')
    throw new ValidationError('walletAddress', 'is required for account calls');
  return address;
}

async function info(exchange: CcxtExchange, request: PayloadRow): Promise<unknown> {
  return (exchange.publicPostInfo as (r: PayloadRow) => Promise<unknown>)(request);
}

/** An order from `orderStatus` / `orderUpdates` (`{order, status, statusTimestamp}`) or an open-orders row. */
function parseOrder(raw: PayloadRow, ctx: ParseContext): VenueOrder {
  const w = 'hyperliquid order';
  const order = (typeof raw.order === 'object' && raw.order !== null ? raw.order : raw) as PayloadRow;
  const venueStatus = typeof raw.status === 'string' ? raw.status : 'open';
  const size = payloadDecimal(order, 'origSz', w);
  const remaining = payloadDecimal(order, 'sz', w);
  const filled = venueStatus === 'filled' ? size : size.minus(remaining);
  const status: OrderStatus =
    venueStatus === 'open'
      ? filled.gt(0)
        ? 'partially_filled'
        : 'accepted'
      : venueStatus === 'filled'
        ? 'filled'
        : venueStatus === 'rejected'
          ? 'rejected'
          : 'canceled';
  const cloid = typeof order.cloid === 'string' ? order.cloid : undefined;
  const type = order.orderType === 'Market' ? 'market' : 'limit';
  return {
    clientOrderId: cloid === undefined ? '' : ctx.ourClientId(cloid),
    venueOrderId: payloadText(order, 'oid', w),
    instrument: payloadInstrument(order, 'coin', w, ctx),
    side: order.side === 'B' ? 'buy' : 'sell',
    type,
    timeInForce: TIF_FROM_VENUE[String(order.tif)] ?? 'gtc',
    ...(type === 'limit' ? { price: payloadDecimal(order, 'limitPx', w) } : {}),
    size,
    filled,
    status,
    reduceOnly: order.reduceOnly === true,
    ...(venueStatus === 'open' || venueStatus === 'filled' ? {} : { reason: venueStatus }),
    tsEventMs:
      typeof raw.statusTimestamp === 'number' ? raw.statusTimestamp : payloadInt(order, 'timestamp', w),
  };
}

function parseFill(
  f: PayloadRow,
  ctx: ParseContext,
): Omit<VenueFill, 'clientOrderId'> & { clientOrderId?: ClientOrderId } {
  const w = 'hyperliquid fill';
  return {
    tradeId: payloadText(f, 'tid', w),
    venueOrderId: payloadText(f, 'oid', w),
    ...(typeof f.cloid === 'string' ? { clientOrderId: ctx.ourClientId(f.cloid) } : {}),
    // The venue closed the position itself: a liquidation fill, no order of ours.
    ...(typeof f.liquidation === 'object' && f.liquidation !== null
      ? { origin: 'liquidation' as const }
      : {}),
    instrument: payloadInstrument(f, 'coin', w, ctx),
    side: f.side === 'B' ? 'buy' : 'sell',
    price: payloadDecimal(f, 'px', w),
    size: payloadDecimal(f, 'sz', w),
    fee: payloadDecimal(f, 'fee', w),
    feeCurrency: typeof f.feeToken === 'string' ? f.feeToken : 'USDC',
    liquidity: f.crossed === true ? 'taker' : 'maker',
    tsEventMs: payloadInt(f, 'time', w),
  };
}

async function clearinghouse(exchange: CcxtExchange): Promise<PayloadRow> {
  return (await info(exchange, { type: 'clearinghouseState', user: user(exchange) })) as PayloadRow;
}

export const hyperliquidProfile: CcxtVenueProfile = {
  ccxtId: 'hyperliquid',
  capabilities: {
    nonces: true,
    nonceFloorIsTimeMs: true,
    rejectsDuplicateClientOrderId: true,
    cancelAllOrders: false,
    postOnly: true,
    fok: false,
    fundingHistory: true,
    setLeverage: true,
    scheduleCancelAll: true,
    scheduleCancelAllMinMs: SCHEDULE_CANCEL_MIN_MS,
    venueFills: true,
  },
  ccxtOptions: () => ({
    fetchMarkets: { types: ['swap'] },
    builderFee: false,
    approvedBuilderFee: false,
  }),
  configure(exchange) {
    // No builder approval, referrer or abstraction calls: ccxt would sign and send them on
    // the first order, and attach a builder to every order once approved.
    exchange.initializeClient = async () => true;
  },
  credentials: (fields, accountConfig) => ({
    walletAddress: String(accountConfig.walletAddress ?? ''),
    privateKey: fields.privateKey ?? '',
  }),
  pointAt(exchange, endpoints) {
    if (endpoints.testnet && endpoints.baseUrl === undefined) {
      (exchange as unknown as { setSandboxMode(on: boolean): void }).setSandboxMode(true);
    }
    const api = exchange.urls.api as Record<string, unknown>;
    if (endpoints.baseUrl !== undefined) {
      const base = endpoints.baseUrl.replace(/\/$/, '');
      api.public = base;
      api.private = base;
    }
    if (endpoints.wsUrl !== undefined)
      api.ws = { ...((api.ws as Record<string, unknown>) ?? {}), public: endpoints.wsUrl };
  },
  ccxtSymbol: (instrument) => {
    const [base, quote] = instrument.split('-');
    return `${base}/${quote}:${quote}`;
  },
  venueSymbol: (instrument) => instrument.split('-')[0] as string,
  clientOrderIds: hyperliquidClientOrderIdCodec,
  async setLeverage(exchange, symbol, leverage) {
    // Cross margin: the account's one collateral pool (what we trade with).
    await (exchange.setLeverage as (l: number, s: string, p: PayloadRow) => Promise<unknown>)(
      leverage,
      symbol,
      {
        marginMode: 'cross',
      },
    );
  },
  async scheduleCancelAll(exchange, afterMs, _instruments, venueClock) {
    // Signed here, not through ccxt's cancelAllOrdersAfter: disarming is the action
    // WITHOUT a time (ccxt always sends one). The time is on the venue's clock (it refuses one
    // less than 5 s after its now, and fires by it): ours plus the measured offset, never early.
    const nonce = (exchange.nonce as () => number)();
    const action: PayloadRow =
      afterMs === 0
        ? { type: 'scheduleCancel' }
        : {
            type: 'scheduleCancel',
            time: venueClock.venueDeadlineMs(scheduledCancelDelayMs(afterMs, SCHEDULE_CANCEL_MIN_MS)),
          };
    const signature = (exchange.signL1Action as (a: PayloadRow, n: number) => unknown).call(
      exchange,
      action,
      nonce,
    );
    // ccxt's error handler throws on `status: err` (mapped by the adapter).
    await (exchange.privatePostExchange as (r: PayloadRow) => Promise<unknown>)({ action, nonce, signature });
  },
  cancelAnswersWithOrder: false,
  // One connection carries public and private subscriptions.
  isPrivateWsUrl: () => true,
  async fetchFundingIntervals(_exchange, instruments) {
    return new Map(instruments.map((i) => [i, HOUR_MS]));
  },
  async fetchFunding(exchange, instruments, ctx) {
    const [meta, ctxs] = (await info(exchange, { type: 'metaAndAssetCtxs' })) as [PayloadRow, PayloadRow[]];
    const universe = (meta.universe as PayloadRow[] | undefined) ?? [];
    const now = Date.now();
    return instruments.map((instrument): FundingInfo => {
      const coin = instrument.split('-')[0];
      const i = universe.findIndex((u) => u.name === coin);
      const w = `hyperliquid metaAndAssetCtxs ${coin}`;
      if (i < 0) throw new ValidationError(w, 'missing from the venue answer');
      const row = ctxs[i];
      void ctx;
      return {
        kind: 'funding',
        instrument,
        rate: payloadDecimal(row, 'funding', w),
        intervalMs: HOUR_MS,
        nextFundingTimeMs: (Math.floor(now / HOUR_MS) + 1) * HOUR_MS,
        markPrice: payloadDecimal(row, 'markPx', w),
        indexPrice: payloadDecimal(row, 'oraclePx', w),
        tsEventMs: now,
      };
    });
  },
  async fetchBalances(exchange, ctx) {
    const state = await clearinghouse(exchange);
    const w = 'hyperliquid clearinghouseState';
    const summary = state.marginSummary as PayloadRow | undefined;
    const upnl = ((state.assetPositions as PayloadRow[] | undefined) ?? []).reduce(
      (s, p) => s.plus(payloadDecimal(p.position as PayloadRow, 'unrealizedPnl', `${w}.assetPositions`)),
      new Decimal(0),
    );
    const equity = payloadDecimal(summary, 'accountValue', `${w}.marginSummary`);
    const balance: VenueBalance = {
      asset: ctx.settleAsset,
      total: equity.minus(upnl),
      available: payloadDecimal(state, 'withdrawable', w),
      equity,
      unrealizedPnl: upnl,
      tsEventMs: typeof state.time === 'number' ? state.time : Date.now(),
    };
    return [balance];
  },
  async fetchPositions(exchange, ctx) {
    const state = await clearinghouse(exchange);
    const out: VenuePosition[] = [];
    for (const entry of (state.assetPositions as PayloadRow[] | undefined) ?? []) {
      const p = entry.position as PayloadRow;
      const instrument = ctx.instrumentOfVenueSymbol(String(p.coin));
      if (instrument === undefined) continue;
      const w = `hyperliquid position ${String(p.coin)}`;
      const size = payloadDecimal(p, 'szi', w);
      if (size.isZero()) continue;
      const liq =
        p.liquidationPx === null || p.liquidationPx === undefined
          ? undefined
          : payloadDecimal(p, 'liquidationPx', w);
      out.push({
        instrument,
        size,
        entryPrice: payloadDecimal(p, 'entryPx', w),
        markPrice: payloadDecimal(p, 'positionValue', w).div(size.abs()),
        unrealizedPnl: payloadDecimal(p, 'unrealizedPnl', w),
        realizedPnl: new Decimal(0),
        leverage: payloadDecimal(p.leverage as PayloadRow, 'value', `${w}.leverage`),
        ...(liq === undefined ? {} : { liquidationPrice: liq }),
        tsEventMs: typeof state.time === 'number' ? state.time : Date.now(),
      });
    }
    return out;
  },
  async fetchFundingPayments(exchange, sinceMs, ctx) {
    const rows = (await info(exchange, {
      type: 'userFunding',
      user: user(exchange),
      startTime: sinceMs,
    })) as PayloadRow[];
    const out: VenueFundingPayment[] = [];
    for (const row of rows) {
      const delta = row.delta as PayloadRow;
      const instrument = ctx.instrumentOfVenueSymbol(String(delta.coin));
      if (instrument === undefined) continue;
      const w = 'hyperliquid userFunding';
      out.push({
        instrument,
        amount: payloadDecimal(delta, 'usdc', w),
        rate: payloadDecimal(delta, 'fundingRate', w),
        positionSize: payloadDecimal(delta, 'szi', w),
        markPrice: new Decimal(0),
        tsEventMs: payloadInt(row, 'time', w),
      });
    }
    return out;
  },
  orderParams: ({ clientOrderId, type, timeInForce, reduceOnly }) => {
    const tif = TIF_TO_VENUE[timeInForce as TimeInForce];
    if (type === 'limit' && tif === undefined) {
      throw new ValidationError(
        'timeInForce',
        `${timeInForce} is not offered by hyperliquid (Gtc, Ioc, Alo)`,
      );
    }
    return { clientOrderId, ...(type === 'limit' ? { timeInForce: tif } : {}), reduceOnly };
  },
  clientIdParams: (cloid) => ({ clientOrderId: cloid }),
  orderFromCreate(raw, request, ctx) {
    const w = 'hyperliquid order status';
    const resting = raw.resting as PayloadRow | undefined;
    const filled = raw.filled as PayloadRow | undefined;
    const oid = payloadText(resting ?? filled, 'oid', w);
    void ctx;
    return {
      clientOrderId: request.clientOrderId,
      venueOrderId: oid,
      instrument: request.instrument,
      side: request.side,
      type: request.type,
      timeInForce: request.timeInForce as TimeInForce,
      ...(request.price === undefined ? {} : { price: request.price }),
      size: request.size,
      filled: filled ? payloadDecimal(filled, 'totalSz', w) : new Decimal(0),
      ...(filled ? { avgFillPrice: payloadDecimal(filled, 'avgPx', w) } : {}),
      status: filled
        ? payloadDecimal(filled, 'totalSz', w).gte(request.size)
          ? 'filled'
          : 'partially_filled'
        : 'accepted',
      reduceOnly: request.reduceOnly,
      tsEventMs: Date.now(),
    };
  },
  parseOrder,
  parseFill,
  rejectReason: (message) => {
    if (/does not exist|Invalid signature/.test(message)) return 'authentication';
    if (/Post only order would have immediately matched/.test(message)) return 'post_only_would_cross';
    if (/minimum value/.test(message)) return 'below_min_notional';
    if (/Invalid nonce/.test(message)) return 'invalid_nonce';
    return undefined;
  },
};
