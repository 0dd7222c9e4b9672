/**
 * Extended emulator (Starknet perps): `/api/v1` REST and the `stream.extended.exchange/v1`
 * websockets in the venue's wire format (`{status: "OK", data}` / `{status: "ERROR",
 * error: {code, message}}`), over a simulated exchange (libs/sim).
 *
 * - Private REST calls and the `/account` stream need the account's `X-Api-Key`; every
 *   request needs a `User-Agent` (the venue refuses requests without one).
 * - `POST user/order` verifies the settlement as the venue does: the Stark key must be the
 *   account's (1100), the collateral position its vault (1102), the fee at least the
 *   venue's taker fee (1128), and the Stark ECDSA signature must verify over the order
 *   hash RECOMPUTED from the request (libs/signing, SNIP-12 rev 1 Poseidon) against the
 *   account's registered key (1101): a wrong or placeholder signature is rejected.
 * - `user/balance` answers 404 while the account holds nothing (the venue's zero balance).
 * - `user/deadmanswitch?countdownTime=<s>` arms the sim's scheduled cancel-all (0 disarms):
 *   when not refreshed in time every open order of the account is canceled.
 * - Books: per-connection `seq` counting every frame; a delta's `c` is the level's new size
 *   and `q` the change (a skipped delta — fault injection — leaves a gap in `seq`).
 * - Funding: `marketStats.fundingRate` is the running interval's predicted (hourly) rate;
 *   settled rates are the history (`info/{m}/funding`) and the `/funding/{m}` stream.
 */
import type { IncomingMessage } from 'node:http';
import {
  type AccountId,
  Decimal,
  type EpochMs,
  type InstrumentId,
  type TimeInForce,
  ZERO,
} from '@perpmesh/core';
import {
  type ExtendedChainId,
  type ExtendedMarketL2Config,
  orderSettlementHash,
  verifyStarkSignature,
} from '@perpmesh/signing';
import type {
  FillEvent,
  FundingPaymentEvent,
  FundingSettledEvent,
  InstrumentSpec,
  OrderView,
  SimEvent,
} from '@perpmesh/sim';
import type { WebSocket } from 'ws';
import type { FaultConfig } from '../shared/faults.js';
import type { EmulatorMarket } from '../shared/market.js';
import {
  type EmulatorRequest,
  type EmulatorResponse,
  EmulatorServer,
  sendJson,
  type VenueWire,
} from '../shared/server.js';

const HOUR_MS = 3_600_000;
const COLLATERAL_RESOLUTION = 1_000_000;
/** Extended's collateral asset id (USDC on Starknet). */
const COLLATERAL_ID = '0x1';
/** Mainnet limit on an order's expiry (error 1135). */
const MAX_EXPIRY_MS = 90 * 24 * HOUR_MS;
const STREAM_PREFIX = '/stream.extended.exchange/v1';
/** Rows per page of the account's histories (trades, funding). */
const HISTORY_PAGE_MAX = 100;

export interface ExtendedEmulatorAccount {
  readonly apiKey: string;
  readonly accountId: AccountId;
  /** The account's registered Stark public key (`l2Key`), 0x-hex or bigint. */
  readonly starkPublicKey: string | bigint;
  /** The account's vault (`l2Vault`), the settlement's collateral position. */
  readonly vault: string;
  /** Collateral deposited at start; '0' leaves the account empty (`user/balance` 404). */
  readonly deposit: string;
}

export interface ExtendedEmulatorOptions {
  readonly market: EmulatorMarket;
  readonly accounts: readonly ExtendedEmulatorAccount[];
  /** The signing domain's chain the venue verifies under. Default `SN_MAIN`. */
  readonly chainId?: ExtendedChainId;
  readonly stepIntervalMs?: number;
  readonly faults?: FaultConfig;
  readonly port?: number;
}

type Row = Record<string, unknown>;

/** Our instrument (`BTC-USDC-PERP`) -> Extended's market name (`BTC-USD`). */
const marketName = (spec: InstrumentSpec) => `${spec.baseAsset}-USD`;

const decimalsOf = (step: Decimal) => Math.max(0, step.decimalPlaces());

/** The venue's synthetic asset id: the ASCII of `<asset>-<precision>` as a felt (as the venue names them). */
function syntheticId(spec: InstrumentSpec): string {
  const text = `${spec.baseAsset}-${decimalsOf(spec.lotSize)}`;
  return `0x${Buffer.from(text, 'ascii').toString('hex').padEnd(30, '0')}`;
}

interface MarketState {
  readonly spec: InstrumentSpec;
  readonly name: string;
  readonly l2Config: ExtendedMarketL2Config;
  /** Resting size per price, to state each delta's change (`q`) next to its new size (`c`). */
  readonly bids: Map<string, Decimal>;
  readonly asks: Map<string, Decimal>;
  /** Settled funding, oldest first. */
  readonly fundingHistory: FundingSettledEvent[];
}

interface Stream {
  readonly kind: 'orderbooks' | 'funding' | 'account';
  /** Market name (book, funding) or our account id (account). */
  readonly key: string;
  seq: number;
}

function ok(data: unknown): EmulatorResponse {
  return { status: 200, body: { status: 'OK', data } };
}

/** The venue's history pages: newest first, `limit` (at most 100) rows older than `cursor`; `pagination.cursor` continues. */
function page(rows: readonly Row[], q: URLSearchParams): EmulatorResponse {
  const limit = Math.min(HISTORY_PAGE_MAX, Math.max(1, Number(q.get('limit') ?? HISTORY_PAGE_MAX)));
  const cursor = q.get('cursor');
  const data = rows.filter((r) => cursor === null || Number(r.id) < Number(cursor)).slice(0, limit);
  const last = data.at(-1);
  return {
    status: 200,
    body: {
      status: 'OK',
      data,
      pagination: { cursor: last === undefined ? null : Number(last.id), count: data.length },
    },
  };
}

/** The venue's error answer: `{status: "ERROR", error: {code, message}}`. */
function venueError(status: number, code: number, message: string): EmulatorResponse {
  return { status, body: { status: 'ERROR', error: { code, message } } };
}

/** The venue's code for a sim reject (ccxt's list of Extended codes names them). */
const REJECT_CODE: Partial<Record<string, number>> = {
  below_min_size: 1120,
  invalid_lot: 1121,
  above_max_size: 1122,
  invalid_tick: 1124,
  below_min_notional: 1120,
  reduce_only_would_increase: 1138,
  insufficient_balance: 1140,
};

const STATUS_OF: Record<string, string> = {
  accepted: 'NEW',
  submitted: 'NEW',
  partially_filled: 'PARTIALLY_FILLED',
  filled: 'FILLED',
  canceled: 'CANCELLED',
  cancel_requested: 'NEW',
  expired: 'EXPIRED',
  rejected: 'REJECTED',
};

export class ExtendedEmulator implements VenueWire {
  readonly server: EmulatorServer;
  private readonly markets = new Map<string, MarketState>();
  private readonly marketOf = new Map<InstrumentId, MarketState>();
  private readonly fills = new Map<AccountId, FillEvent[]>();
  private readonly fundingPayments = new Map<AccountId, { id: number; event: FundingPaymentEvent }[]>();
  private readonly externalIds = new Map<string, string>();
  private readonly streams = new Map<WebSocket, Stream>();
  private readonly chainId: ExtendedChainId;
  private fundingPaymentSeq = 0;
  private baseUrl = '';

  constructor(private readonly options: ExtendedEmulatorOptions) {
    this.server = new EmulatorServer({
      market: options.market,
      ...(options.stepIntervalMs === undefined ? {} : { stepIntervalMs: options.stepIntervalMs }),
      ...(options.faults === undefined ? {} : { faults: options.faults }),
      ...(options.port === undefined ? {} : { port: options.port }),
    });
    this.chainId = options.chainId ?? 'SN_MAIN';
    for (const account of options.accounts) {
      if (new Decimal(account.deposit).gt(0) && !this.exchange.hasAccount(account.accountId)) {
        this.exchange.deposit(account.accountId, account.deposit);
      }
    }
    for (const spec of this.exchange.markets()) {
      const state: MarketState = {
        spec,
        name: marketName(spec),
        l2Config: {
          collateralId: COLLATERAL_ID,
          syntheticId: syntheticId(spec),
          syntheticResolution: 10 ** Math.max(6, decimalsOf(spec.lotSize)),
          collateralResolution: COLLATERAL_RESOLUTION,
        },
        bids: new Map(),
        asks: new Map(),
        fundingHistory: [],
      };
      const book = this.exchange.bookSnapshot(spec.instrumentId, 10_000);
      for (const l of book.bids) state.bids.set(l.price.toFixed(), l.size);
      for (const l of book.asks) state.asks.set(l.price.toFixed(), l.size);
      this.markets.set(state.name, state);
      this.marketOf.set(spec.instrumentId, state);
    }
  }

  async start(): Promise<string> {
    this.baseUrl = await this.server.start(this);
    return this.baseUrl;
  }

  /** The websocket base (`{ws}/orderbooks/{m}`, `/funding/{m}`, `/account`). */
  get wsUrl(): string {
    return `${this.baseUrl.replace('http://', 'ws://')}${STREAM_PREFIX}`;
  }

  get exchange() {
    return this.options.market.exchange;
  }

  close(): Promise<void> {
    return this.server.close();
  }

  faultResponse(kind: 'rate-limit' | 'server-error'): EmulatorResponse {
    return kind === 'rate-limit'
      ? venueError(429, 429, 'Rate limit exceeded')
      : venueError(503, 1006, 'Application error');
  }

  // ------------------------------------------------------------------ REST

  handle(request: EmulatorRequest): EmulatorResponse {
    if (!request.headers['user-agent']) return venueError(400, 1133, 'User-Agent header is required');
    const q = new URLSearchParams(request.rawQuery);
    const path = request.path.replace(/^\/api\/v1\//, '');
    const parts = path.split('/');
    const route = `${request.method} ${path}`;
    if (route === 'GET info/markets') return ok(this.marketList(q.getAll('market')));
    if (request.method === 'GET' && parts[0] === 'info') {
      // info/markets/{m}/orderbook, info/markets/{m}/stats, info/{m}/funding
      const market = this.markets.get((parts[1] === 'markets' ? parts[2] : parts[1]) ?? '');
      if (market === undefined) return venueError(404, 1001, 'Market not found');
      if (parts[1] === 'markets' && parts[3] === 'orderbook') return ok(this.orderbook(market));
      if (parts[1] === 'markets' && parts[3] === 'stats') return ok(this.stats(market));
      if (parts[2] === 'funding') return ok(this.fundingHistory(market, q));
    }
    const account = this.authenticate(request);
    if ('status' in account) return account;
    const id = account.accountId;
    let body: Row = {};
    if (request.rawBody !== '') {
      try {
        body = JSON.parse(request.rawBody) as Row;
      } catch {
        return venueError(400, 1133, 'Invalid order parameters: body is not JSON');
      }
    }
    switch (route) {
      case 'GET user/account/info':
        return ok({
          accountId: this.numericAccountId(account),
          description: 'Main account',
          accountIndex: 0,
          status: 'ACTIVE',
          l2Key: `0x${BigInt(account.starkPublicKey).toString(16)}`,
          l2Vault: account.vault,
          bridgeStarknetAddress: '0x0',
          apiKeys: [],
        });
      case 'GET user/balance':
        return this.balance(account);
      case 'GET user/positions':
        return ok(this.positions(account, q.getAll('market')));
      case 'GET user/fees':
        return ok(
          [...this.markets.values()]
            .filter((m) => q.getAll('market').length === 0 || q.getAll('market').includes(m.name))
            .map((m) => ({
              market: m.name,
              makerFeeRate: this.exchange.config.makerFeeRate.toFixed(),
              takerFeeRate: this.exchange.config.takerFeeRate.toFixed(),
              builderFeeRate: '0',
            })),
        );
      case 'GET user/orders':
        return ok(
          (this.exchange.hasAccount(id) ? this.exchange.openOrders(id) : [])
            .filter((o) => q.getAll('market').length === 0 || q.getAll('market').includes(this.nameOf(o)))
            .map((o) => this.orderWire(account, o)),
        );
      case 'GET user/trades':
        return page(this.trades(account, q), q);
      case 'GET user/funding/history':
        return page(this.fundingPaymentsWire(account, q), q);
      case 'POST user/order':
        return this.placeOrder(account, body);
      case 'POST user/order/massCancel':
        return this.massCancel(account, body);
      case 'POST user/deadmanswitch':
        return this.deadManSwitch(account, q);
      case 'PATCH user/leverage':
        return this.setLeverage(account, body);
      case 'DELETE user/order': {
        const externalId = q.get('externalId') ?? '';
        return this.cancel(account, this.exchange.hasAccount(id) ? { clientOrderId: externalId } : undefined);
      }
    }
    if (parts[0] === 'user' && parts[1] === 'orders' && request.method === 'GET') {
      if (parts[2] === 'external' && parts[3] !== undefined) {
        const order = this.find(account, { clientOrderId: decodeURIComponent(parts[3]) });
        return ok(order === undefined ? [] : [this.orderWire(account, order)]);
      }
      const order = this.find(account, { venueOrderId: parts[2] ?? '' });
      return order === undefined
        ? venueError(404, 1142, 'Order not found')
        : ok(this.orderWire(account, order));
    }
    if (parts[0] === 'user' && parts[1] === 'order' && request.method === 'DELETE' && parts[2]) {
      return this.cancel(account, { venueOrderId: parts[2] });
    }
    return venueError(404, 404, `no route ${request.method} ${request.path}`);
  }

  private authenticate(request: EmulatorRequest): ExtendedEmulatorAccount | EmulatorResponse {
    const key = request.headers['x-api-key'];
    const account = this.options.accounts.find((a) => a.apiKey === key);
    return account ?? venueError(401, 401, 'Unauthorized: invalid or missing X-Api-Key');
  }

  private numericAccountId(account: ExtendedEmulatorAccount): number {
    return 1000 + this.options.accounts.indexOf(account);
  }

  private nameOf(o: { instrumentId: InstrumentId }): string {
    return this.marketOf.get(o.instrumentId)?.name ?? o.instrumentId;
  }

  private find(
    account: ExtendedEmulatorAccount,
    ids: { venueOrderId?: string; clientOrderId?: string },
  ): OrderView | undefined {
    if (!this.exchange.hasAccount(account.accountId)) return undefined;
    return this.exchange.getOrder(account.accountId, ids);
  }

  private marketList(names: readonly string[]): Row[] {
    return [...this.markets.values()]
      .filter((m) => names.length === 0 || names.includes(m.name))
      .map((m) => ({
        name: m.name,
        uiName: m.name,
        category: 'Crypto',
        assetName: m.spec.baseAsset,
        assetPrecision: decimalsOf(m.spec.lotSize),
        collateralAssetName: 'USD',
        collateralAssetPrecision: 6,
        active: true,
        status: 'ACTIVE',
        marketStats: this.stats(m),
        tradingConfig: {
          minOrderSize: m.spec.minSize.toFixed(),
          minOrderSizeChange: m.spec.lotSize.toFixed(),
          minPriceChange: m.spec.tickSize.toFixed(),
          maxMarketOrderValue: m.spec.maxOrderSize.mul(this.markOf(m)).toFixed(0),
          maxLimitOrderValue: m.spec.maxOrderSize.mul(this.markOf(m)).toFixed(0),
          maxPositionValue: '60000000',
          maxLeverage: m.spec.maxLeverage.toFixed(2),
          maxNumOrders: '200',
          limitPriceCap: '0.05',
          limitPriceFloor: '0.05',
          hourlyFundingRateCap: this.exchange.config.funding.capPerInterval.toFixed(),
        },
        l2Config: {
          type: 'STARKX',
          collateralId: m.l2Config.collateralId,
          syntheticId: m.l2Config.syntheticId,
          syntheticResolution: Number(m.l2Config.syntheticResolution),
          collateralResolution: Number(m.l2Config.collateralResolution),
        },
        visibleOnUi: true,
        createdAt: 1_700_000_000_000,
      }));
  }

  private markOf(m: MarketState): Decimal {
    return this.exchange.markPrice(m.spec.instrumentId) ?? ZERO;
  }

  private stats(m: MarketState): Row {
    const f = this.exchange.funding(m.spec.instrumentId);
    const { bid, ask } = this.exchange.bestBidAsk(m.spec.instrumentId);
    const mark = this.markOf(m);
    return {
      dailyVolume: '0',
      dailyVolumeBase: '0',
      dailyPriceChange: '0',
      dailyPriceChangePercentage: '0',
      dailyLow: mark.toFixed(),
      dailyHigh: mark.toFixed(),
      lastPrice: mark.toFixed(),
      askPrice: ask?.price.toFixed() ?? '0',
      bidPrice: bid?.price.toFixed() ?? '0',
      markPrice: mark.toFixed(),
      indexPrice: (this.exchange.indexPrice(m.spec.instrumentId) ?? ZERO).toFixed(),
      // The running hour's rate (Extended funds hourly).
      fundingRate: (f?.predictedRate ?? ZERO).toFixed(),
      // A timestamp in ms despite its name (VENUES.md).
      nextFundingRate: this.exchange.nextFundingTimeMs,
      openInterest: '0',
      openInterestBase: '0',
    };
  }

  private orderbook(m: MarketState): Row {
    const book = this.exchange.bookSnapshot(m.spec.instrumentId, 10_000);
    return {
      market: m.name,
      bid: book.bids.map((l) => ({ qty: l.size.toFixed(), price: l.price.toFixed() })),
      ask: book.asks.map((l) => ({ qty: l.size.toFixed(), price: l.price.toFixed() })),
    };
  }

  /** `info/{m}/funding?startTime&endTime`: settled hourly rates, newest first. */
  private fundingHistory(m: MarketState, q: URLSearchParams): Row[] {
    const start = Number(q.get('startTime') ?? 0);
    const end = Number(q.get('endTime') ?? Number.MAX_SAFE_INTEGER);
    return m.fundingHistory
      .filter((e) => e.fundingTimeMs >= start && e.fundingTimeMs <= end)
      .reverse()
      .map((e) => ({ m: m.name, f: e.rate.toFixed(), T: e.fundingTimeMs }));
  }

  private balance(account: ExtendedEmulatorAccount): EmulatorResponse {
    const id = account.accountId;
    const b = this.exchange.hasAccount(id) ? this.exchange.balance(id) : undefined;
    // The venue has no balance row for an account that holds nothing: 404, not a zero.
    if (b === undefined || (b.equity.isZero() && this.exchange.positions(id).length === 0)) {
      return venueError(404, 404, 'Balance not found');
    }
    const available = Decimal.max(b.available, ZERO);
    return ok({
      collateralName: 'USD',
      balance: b.walletBalance.toFixed(),
      equity: b.equity.toFixed(),
      availableForTrade: available.toFixed(),
      availableForWithdrawal: Decimal.min(available, b.walletBalance).toFixed(),
      unrealisedPnl: b.unrealizedPnl.toFixed(),
      initialMargin: b.initialMargin.toFixed(),
      marginRatio: b.equity.isZero() ? '0' : b.maintenanceMargin.div(b.equity).toDecimalPlaces(6).toFixed(),
      updatedTime: b.asOfMs,
    });
  }

  /** Open positions; `withClosed` keeps a flat one (size 0, status CLOSED) for the stream. */
  private positions(account: ExtendedEmulatorAccount, names: readonly string[], withClosed = false): Row[] {
    const id = account.accountId;
    if (!this.exchange.hasAccount(id)) return [];
    return this.exchange
      .positions(id)
      .filter((p) => withClosed || !p.size.isZero())
      .filter((p) => names.length === 0 || names.includes(this.nameOf(p)))
      .map((p) => ({
        id: [...this.markets.keys()].indexOf(this.nameOf(p)) + 1,
        status: p.size.isZero() ? 'CLOSED' : 'OPENED',
        accountId: this.numericAccountId(account),
        market: this.nameOf(p),
        side: p.size.isPos() ? 'LONG' : 'SHORT',
        leverage: String(p.leverage),
        size: p.size.abs().toFixed(),
        value: p.size.abs().mul(p.markPrice).toFixed(),
        openPrice: p.entryPrice?.toFixed() ?? '0',
        markPrice: p.markPrice.toFixed(),
        ...(p.liquidationPrice === undefined ? {} : { liquidationPrice: p.liquidationPrice.toFixed() }),
        margin: p.size.abs().mul(p.markPrice).div(p.leverage).toDecimalPlaces(6).toFixed(),
        unrealisedPnl: p.unrealizedPnl.toFixed(),
        realisedPnl: p.realizedPnl.toFixed(),
        createdAt: p.asOfMs,
        updatedAt: p.asOfMs,
      }));
  }

  /** `user/trades?market&startTime`: the account's fills, newest first. */
  private trades(account: ExtendedEmulatorAccount, q: URLSearchParams): Row[] {
    const start = Number(q.get('startTime') ?? 0);
    const names = q.getAll('market');
    return (this.fills.get(account.accountId) ?? [])
      .filter((f) => f.tsEventMs >= start && (names.length === 0 || names.includes(this.nameOf(f))))
      .reverse()
      .map((f) => this.tradeWire(account, f));
  }

  private tradeWire(account: ExtendedEmulatorAccount, f: FillEvent): Row {
    return {
      id: Number(f.tradeId),
      accountId: this.numericAccountId(account),
      market: this.nameOf(f),
      orderId: Number(f.venueOrderId),
      externalOrderId: f.clientOrderId ?? '',
      side: f.side === 'buy' ? 'BUY' : 'SELL',
      price: f.price.toFixed(),
      qty: f.size.toFixed(),
      value: f.price.mul(f.size).toFixed(),
      fee: f.fee.toFixed(),
      tradeType: f.isLiquidation ? 'LIQUIDATION' : 'TRADE',
      isTaker: f.liquidity === 'taker',
      createdTime: f.tsEventMs,
    };
  }

  /** `user/funding/history?startTime`: the account's funding payments, newest first. */
  private fundingPaymentsWire(account: ExtendedEmulatorAccount, q: URLSearchParams): Row[] {
    const start = Number(q.get('startTime') ?? 0);
    return (this.fundingPayments.get(account.accountId) ?? [])
      .filter((p) => p.event.fundingTimeMs >= start)
      .reverse()
      .map(({ id, event: e }) => ({
        id,
        accountId: this.numericAccountId(account),
        market: this.nameOf(e),
        positionId: 1,
        side: e.positionSize.isNeg() ? 'SHORT' : 'LONG',
        size: e.positionSize.abs().toFixed(),
        value: e.positionSize.abs().mul(e.markPrice).toFixed(),
        markPrice: e.markPrice.toFixed(),
        // Signed as the account sees it: > 0 received, < 0 paid.
        fundingFee: e.amount.toFixed(),
        fundingRate: e.rate.toFixed(),
        paidTime: e.fundingTimeMs,
      }));
  }

  private orderWire(account: ExtendedEmulatorAccount, o: OrderView): Row {
    return {
      id: Number(o.venueOrderId),
      accountId: this.numericAccountId(account),
      externalId: o.clientOrderId ?? '',
      market: this.nameOf(o),
      type: o.type === 'market' ? 'MARKET' : 'LIMIT',
      side: o.side === 'buy' ? 'BUY' : 'SELL',
      status: STATUS_OF[o.status] ?? 'NEW',
      ...(o.endReason === undefined ? {} : { statusReason: o.endReason.toUpperCase() }),
      price: o.price?.toFixed() ?? '0',
      averagePrice: o.avgFillPrice?.toFixed() ?? '0',
      qty: o.size.toFixed(),
      filledQty: o.filledSize.toFixed(),
      payedFee: o.feesPaid.toFixed(),
      reduceOnly: o.reduceOnly,
      postOnly: o.timeInForce === 'post_only',
      createdTime: o.createdMs,
      updatedTime: o.updatedMs,
      timeInForce: o.timeInForce === 'ioc' ? 'IOC' : o.timeInForce === 'fok' ? 'FOK' : 'GTT',
      expireTime: o.createdMs + HOUR_MS,
    };
  }

  /** `POST user/order`: the settlement verified exactly as the venue does, then placed. */
  private placeOrder(account: ExtendedEmulatorAccount, body: Row): EmulatorResponse {
    const market = this.markets.get(String(body.market));
    if (market === undefined) return venueError(400, 1001, 'Market not found');
    const externalId = typeof body.id === 'string' ? body.id : '';
    if (externalId === '')
      return venueError(400, 1133, 'Invalid order parameters: id (externalId) is required');
    const side = body.side === 'BUY' ? 'buy' : body.side === 'SELL' ? 'sell' : undefined;
    const type = body.type === 'LIMIT' ? 'limit' : body.type === 'MARKET' ? 'market' : undefined;
    if (side === undefined || type === undefined) return venueError(400, 1132, 'Order type is not allowed');
    if (body.price === undefined) return venueError(400, 1130, 'Order price is missing');
    const tif = String(body.timeInForce ?? 'GTT');
    if (type === 'market' && tif !== 'IOC')
      return venueError(400, 1139, 'Market order must have time in force IOC');
    let qty: Decimal;
    let price: Decimal;
    let fee: Decimal;
    try {
      qty = new Decimal(String(body.qty));
      price = new Decimal(String(body.price));
      fee = new Decimal(String(body.fee));
    } catch {
      return venueError(400, 1133, 'Invalid order parameters: qty, price and fee must be decimals');
    }
    if (fee.lt(this.exchange.config.takerFeeRate)) {
      return venueError(400, 1128, 'Trading fees are invalid');
    }
    const expiry = Number(body.expiryEpochMillis);
    if (
      !Number.isSafeInteger(expiry) ||
      expiry <= this.server.nowMs() ||
      expiry > this.server.nowMs() + MAX_EXPIRY_MS
    ) {
      return venueError(400, 1135, 'Order expiration date must be within 90 days');
    }
    const settlement = (body.settlement ?? {}) as Row;
    const signature = (settlement.signature ?? {}) as Row;
    const registered = BigInt(account.starkPublicKey);
    let starkKey: bigint;
    try {
      starkKey = BigInt(String(settlement.starkKey));
    } catch {
      return venueError(400, 1100, 'Invalid Starknet public key');
    }
    if (starkKey !== registered) return venueError(400, 1100, 'Invalid Starknet public key');
    if (String(settlement.collateralPosition) !== account.vault) {
      return venueError(400, 1102, 'Invalid Starknet vault');
    }
    let valid = false;
    try {
      const hash = orderSettlementHash(
        {
          chainId: this.chainId,
          market: market.l2Config,
          side,
          qty,
          price,
          totalFee: fee,
          expiryEpochMillis: expiry,
          nonce: String(body.nonce),
          vault: account.vault,
        },
        registered,
      );
      valid = verifyStarkSignature(
        hash,
        { r: BigInt(String(signature.r)), s: BigInt(String(signature.s)) },
        registered,
      );
    } catch {
      valid = false;
    }
    if (!valid) return venueError(400, 1101, 'Invalid Starknet signature');
    const id = account.accountId;
    if (!this.exchange.hasAccount(id))
      return venueError(400, 1140, 'New order cost exceeds available balance');
    if (this.exchange.getOrder(id, { clientOrderId: externalId }) !== undefined) {
      return venueError(400, 1134, 'Duplicate Order');
    }
    const timeInForce: TimeInForce =
      body.postOnly === true ? 'post_only' : tif === 'IOC' ? 'ioc' : tif === 'FOK' ? 'fok' : 'gtc';
    const result = this.exchange.placeOrder({
      accountId: id,
      instrumentId: market.spec.instrumentId,
      side,
      type,
      ...(type === 'limit' ? { timeInForce, price } : { timeInForce: 'ioc' }),
      size: qty,
      reduceOnly: body.reduceOnly === true,
      clientOrderId: externalId,
    });
    if (!result.ok) {
      const code = result.reject.code;
      if (code === 'insufficient_margin') return venueError(400, 1140, result.reject.message);
      if (code === 'post_only_would_cross') return venueError(400, 1011, result.reject.message);
      const known = REJECT_CODE[code];
      return known === undefined
        ? venueError(400, 1133, `Invalid order parameters: ${result.reject.message}`)
        : venueError(400, known, result.reject.message);
    }
    this.externalIds.set(result.order.venueOrderId, externalId);
    return ok({ id: Number(result.order.venueOrderId), externalId });
  }

  private cancel(
    account: ExtendedEmulatorAccount,
    ids: { venueOrderId?: string; clientOrderId?: string } | undefined,
  ): EmulatorResponse {
    const order = ids === undefined ? undefined : this.find(account, ids);
    if (order === undefined) return venueError(404, 1142, 'Order not found');
    const r = this.exchange.cancelOrder({ accountId: account.accountId, venueOrderId: order.venueOrderId });
    if (!r.ok) return venueError(400, 1142, `Order not found: ${r.reject.message}`);
    return { status: 200, body: { status: 'OK' } };
  }

  /** `massCancel`: `{cancelAll, markets?}` or `{orderIds?, externalOrderIds?}`. */
  private massCancel(account: ExtendedEmulatorAccount, body: Row): EmulatorResponse {
    const id = account.accountId;
    if (!this.exchange.hasAccount(id)) return ok({});
    const markets = Array.isArray(body.markets) ? body.markets.map(String) : [];
    const orderIds = Array.isArray(body.orderIds) ? body.orderIds.map(String) : [];
    const externalIds = Array.isArray(body.externalOrderIds) ? body.externalOrderIds.map(String) : [];
    if (
      body.cancelAll !== true &&
      orderIds.length === 0 &&
      externalIds.length === 0 &&
      markets.length === 0
    ) {
      return venueError(400, 1133, 'Invalid order parameters: nothing to cancel');
    }
    for (const o of this.exchange.openOrders(id)) {
      const hit =
        (body.cancelAll === true && markets.length === 0) ||
        markets.includes(this.nameOf(o)) ||
        orderIds.includes(o.venueOrderId) ||
        externalIds.includes(o.clientOrderId ?? '');
      if (hit) this.exchange.cancelOrder({ accountId: id, venueOrderId: o.venueOrderId });
    }
    return ok({});
  }

  /** `user/deadmanswitch?countdownTime=<seconds>`: 0 disarms. Answers with an empty body. */
  private deadManSwitch(account: ExtendedEmulatorAccount, q: URLSearchParams): EmulatorResponse {
    const seconds = Number(q.get('countdownTime'));
    if (!Number.isSafeInteger(seconds) || seconds < 0) {
      return venueError(400, 1133, 'Invalid order parameters: countdownTime');
    }
    if (!this.exchange.hasAccount(account.accountId)) return { status: 200, body: '' };
    const r = this.exchange.scheduleCancelAll({ accountId: account.accountId, afterMs: seconds * 1_000 });
    if (!r.ok) return venueError(400, 1133, r.reject.message);
    return { status: 200, body: '' };
  }

  private setLeverage(account: ExtendedEmulatorAccount, body: Row): EmulatorResponse {
    const market = this.markets.get(String(body.market));
    if (market === undefined) return venueError(400, 1001, 'Market not found');
    const leverage = Number(body.leverage);
    if (!Number.isInteger(leverage)) return venueError(400, 1053, 'Leverage has invalid precision');
    if (leverage < 1) return venueError(400, 1049, 'Leverage below min leverage');
    if (leverage > market.spec.maxLeverage) return venueError(400, 1050, 'Leverage exceeds max leverage');
    if (!this.exchange.hasAccount(account.accountId))
      return venueError(400, 1052, 'Insufficient margin for new leverage');
    const r = this.exchange.setLeverage({
      accountId: account.accountId,
      instrumentId: market.spec.instrumentId,
      leverage,
    });
    if (!r.ok) return venueError(400, 1052, r.reject.message);
    return ok({ market: market.name, leverage: String(leverage) });
  }

  // ------------------------------------------------------------------ websocket

  onWebSocket(socket: WebSocket, request: IncomingMessage): void {
    const path = (request.url ?? '').split('?')[0] ?? '';
    const rest = path.startsWith(STREAM_PREFIX) ? path.slice(STREAM_PREFIX.length + 1).split('/') : [];
    const [kind, name] = rest;
    let stream: Stream | undefined;
    if ((kind === 'orderbooks' || kind === 'funding') && name !== undefined && this.markets.has(name)) {
      stream = { kind, key: name, seq: 0 };
    } else if (kind === 'account' && name === undefined) {
      const account = this.options.accounts.find((a) => a.apiKey === request.headers['x-api-key']);
      if (account === undefined) {
        socket.close(1008, 'Unauthorized: invalid or missing X-Api-Key');
        return;
      }
      stream = { kind, key: account.accountId, seq: 0 };
    }
    if (stream === undefined) {
      socket.close(1008, `unknown stream ${path}`);
      return;
    }
    this.streams.set(socket, stream);
    socket.on('close', () => this.streams.delete(socket));
    if (stream.kind === 'orderbooks') {
      const m = this.markets.get(stream.key) as MarketState;
      const book = this.orderbook(m);
      this.send(socket, stream, {
        type: 'SNAPSHOT',
        data: {
          m: m.name,
          b: (book.bid as Row[]).map((l) => ({ p: l.price, q: l.qty, c: l.qty })),
          a: (book.ask as Row[]).map((l) => ({ p: l.price, q: l.qty, c: l.qty })),
        },
      });
    }
  }

  private send(socket: WebSocket, stream: Stream, frame: Row): void {
    stream.seq += 1;
    sendJson(socket, { ...frame, ts: this.server.nowMs(), seq: stream.seq });
  }

  private publish(kind: Stream['kind'], key: string, frame: Row): void {
    for (const [socket, stream] of this.streams) {
      if (stream.kind === kind && stream.key === key) this.send(socket, stream, frame);
    }
  }

  onEvents(events: readonly SimEvent[]): void {
    for (const e of events) {
      if (e.type === 'book_delta') {
        const m = this.marketOf.get(e.instrumentId);
        if (m === undefined) continue;
        const levels = (side: Map<string, Decimal>, changed: typeof e.bids) =>
          changed.map((l) => {
            const price = l.price.toFixed();
            const before = side.get(price) ?? ZERO;
            if (l.size.isZero()) side.delete(price);
            else side.set(price, l.size);
            return { p: price, q: l.size.minus(before).toFixed(), c: l.size.toFixed() };
          });
        const frame = {
          type: 'DELTA',
          data: { m: m.name, b: levels(m.bids, e.bids), a: levels(m.asks, e.asks) },
        };
        if (this.server.faults.takeBookDeltaSkip(m.name)) {
          // Lost on the way: the subscribers' seq jumps.
          for (const [, stream] of this.streams)
            if (stream.kind === 'orderbooks' && stream.key === m.name) stream.seq += 1;
          continue;
        }
        this.publish('orderbooks', m.name, frame);
      } else if (e.type === 'funding_settled') {
        const m = this.marketOf.get(e.instrumentId);
        if (m === undefined) continue;
        m.fundingHistory.push(e);
        this.publish('funding', m.name, { data: { m: m.name, T: e.fundingTimeMs, f: e.rate.toFixed() } });
      } else if (e.type === 'funding_payment') {
        const list = this.fundingPayments.get(e.accountId) ?? [];
        list.push({ id: ++this.fundingPaymentSeq, event: e });
        this.fundingPayments.set(e.accountId, list);
      } else if (e.type === 'fill') {
        this.fills.set(e.accountId, [...(this.fills.get(e.accountId) ?? []), e]);
        const account = this.accountOf(e.accountId);
        if (account !== undefined) {
          this.publish('account', e.accountId, {
            type: 'TRADE',
            data: { trades: [this.tradeWire(account, e)] },
          });
        }
      } else if (e.type === 'order_update') {
        const account = this.accountOf(e.accountId);
        if (account !== undefined) {
          this.publish('account', e.accountId, {
            type: 'ORDER',
            data: { orders: [this.orderWire(account, e.order)] },
          });
        }
      } else if (e.type === 'balance') {
        const account = this.accountOf(e.accountId);
        const answer = account === undefined ? undefined : this.balance(account);
        if (answer?.status === 200) {
          this.publish('account', e.accountId, {
            type: 'BALANCE',
            data: { balance: (answer.body as { data: unknown }).data },
          });
        }
      } else if (e.type === 'position') {
        const account = this.accountOf(e.accountId);
        if (account !== undefined) {
          this.publish('account', e.accountId, {
            type: 'POSITION',
            data: { positions: this.positions(account, [this.nameOf(e.position)], true) },
          });
        }
      }
    }
  }

  private accountOf(accountId: AccountId): ExtendedEmulatorAccount | undefined {
    return this.options.accounts.find((a) => a.accountId === accountId);
  }

  /** When the account's dead-man switch fires (venue time); undefined when disarmed. */
  deadManSwitchDeadline(accountId: AccountId): EpochMs | undefined {
    return this.exchange.cancelAllDeadline(accountId);
  }
}
