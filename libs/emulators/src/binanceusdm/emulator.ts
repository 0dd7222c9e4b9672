/**
 * Binance USD-M futures emulator: the REST endpoints and websocket streams our ccxt
 * adapter uses, in the venue's wire format, over a simulated exchange (libs/sim).
 *
 * - REST `/fapi/v1|v2|v3/...`: exchangeInfo, depth, premiumIndex, fundingInfo,
 *   fundingRate, account, balance, positionRisk, order (place / query / cancel by
 *   orderId or origClientOrderId), openOrders, allOpenOrders, userTrades, income,
 *   listenKey.
 * - Signed endpoints: `X-MBX-APIKEY` names the key; `signature` is HMAC-SHA256 (hex) of
 *   the query string and body as sent, without the signature itself. A wrong key or
 *   signature gets the venue's error payload (-2015 / -1022).
 * - Websocket: `/public/ws`, `/market/ws` (`SUBSCRIBE` to `<symbol>@depth`,
 *   `<symbol>@markPrice`, `<symbol>@trade`) and `/private/ws?listenKey=` (ORDER_TRADE_UPDATE,
 *   ACCOUNT_UPDATE). Depth diffs carry U / u / pu; a gap is injected by skipping diffs.
 * - Funding interval per symbol (`fundingInfo.fundingIntervalHours`), changeable at run
 *   time (`setFundingIntervalHours`). The sim settles on its own venue interval; the
 *   reported rate is the sim's prediction scaled to the reported interval, so the per-hour
 *   rate is the same whichever interval is reported.
 */
import { randomBytes } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import {
  type AccountId,
  Decimal,
  type EpochMs,
  type InstrumentId,
  type OrderType,
  type Side,
  type TimeInForce,
  ZERO,
} from '@perpmesh/core';
import type { FillEvent, OrderView, Reject, SimEvent } from '@perpmesh/sim';
import type { WebSocket } from 'ws';
import { hmacSha256, sameSignature } from '../shared/auth.js';
import type { FaultConfig } from '../shared/faults.js';
import type { EmulatorMarket } from '../shared/market.js';
import {
  type EmulatorRequest,
  type EmulatorResponse,
  EmulatorServer,
  sendJson,
  type VenueWire,
} from '../shared/server.js';
import {
  BINANCE_ERRORS,
  binanceSymbol,
  binanceTimeInForce,
  orderPayload,
  orderStatus,
  timestampRefusal,
} from './wire.js';

const HOUR_MS = 3_600_000;

export interface EmulatedApiKey {
  readonly apiKey: string;
  readonly secret: string;
  /** The simulated account the key trades. */
  readonly accountId: AccountId;
  /** Collateral deposited when the emulator starts (settle asset, > 0). */
  readonly deposit: string;
}

export interface BinanceUsdmEmulatorOptions {
  readonly market: EmulatorMarket;
  readonly apiKeys: readonly EmulatedApiKey[];
  readonly stepIntervalMs?: number;
  readonly faults?: FaultConfig;
  readonly port?: number;
  /** Per instrument; default: the sim's funding interval. */
  readonly fundingIntervalHours?: Readonly<Record<InstrumentId, number>>;
}

interface RecordedFill {
  readonly fill: FillEvent;
  readonly symbol: string;
}

interface FundingIncome {
  readonly symbol: string;
  readonly amount: Decimal;
  readonly time: EpochMs;
  readonly id: number;
}

type Params = Map<string, string>;

export class BinanceUsdmEmulator implements VenueWire {
  readonly server: EmulatorServer;
  private readonly bySymbol = new Map<string, InstrumentId>();
  private readonly intervalHours = new Map<string, number>();
  private readonly fills = new Map<AccountId, RecordedFill[]>();
  private readonly income = new Map<AccountId, FundingIncome[]>();
  private readonly settled: { symbol: string; rate: Decimal; time: EpochMs; mark: Decimal }[] = [];
  /** Cumulative filled size and quote per order, for ORDER_TRADE_UPDATE's z / ap. */
  private readonly progress = new Map<string, { filled: Decimal; quote: Decimal }>();
  private readonly listenKeys = new Map<string, AccountId>();
  private readonly marketSockets = new Map<WebSocket, Set<string>>();
  private readonly privateSockets = new Map<WebSocket, AccountId>();
  private incomeSeq = 0;
  private baseUrl = '';

  constructor(private readonly options: BinanceUsdmEmulatorOptions) {
    this.server = new EmulatorServer({
      market: options.market,
      ...(options.stepIntervalMs === undefined ? {} : { stepIntervalMs: options.stepIntervalMs }),
      ...(options.faults === undefined ? {} : { faults: options.faults }),
      ...(options.port === undefined ? {} : { port: options.port }),
    });
    for (const key of options.apiKeys) {
      if (!options.market.exchange.hasAccount(key.accountId)) {
        options.market.exchange.deposit(key.accountId, key.deposit);
      }
    }
    const simHours = options.market.exchange.config.funding.intervalMs / HOUR_MS;
    for (const spec of options.market.exchange.markets()) {
      const symbol = binanceSymbol(spec.instrumentId);
      this.bySymbol.set(symbol, spec.instrumentId);
      this.intervalHours.set(symbol, options.fundingIntervalHours?.[spec.instrumentId] ?? simHours);
    }
  }

  /** Starts listening; returns the REST base (`http://127.0.0.1:<port>`). */
  async start(): Promise<string> {
    this.baseUrl = await this.server.start(this);
    return this.baseUrl;
  }

  /** What ccxt's `urls.api.ws.future` should be (ccxt adds `/public`, `/market`, `/private`). */
  get wsUrl(): string {
    return `${this.baseUrl.replace('http://', 'ws://')}/ws`;
  }

  close(): Promise<void> {
    return this.server.close();
  }

  get exchange() {
    return this.options.market.exchange;
  }

  /** Changes what `fundingInfo` reports for the instrument from now on (Binance does this at the cap). */
  setFundingIntervalHours(instrument: InstrumentId, hours: number): void {
    this.intervalHours.set(binanceSymbol(instrument), hours);
  }

  fundingIntervalHours(instrument: InstrumentId): number {
    return this.intervalHours.get(binanceSymbol(instrument)) as number;
  }

  // ------------------------------------------------------------------ REST

  faultResponse(kind: 'rate-limit' | 'server-error'): EmulatorResponse {
    return kind === 'rate-limit'
      ? { status: 429, body: BINANCE_ERRORS.tooManyRequests, headers: { 'retry-after': '1' } }
      : { status: 503, body: BINANCE_ERRORS.unknown };
  }

  handle(request: EmulatorRequest): EmulatorResponse {
    const params = new URLSearchParams(request.rawQuery);
    for (const [k, v] of new URLSearchParams(request.rawBody)) params.set(k, v);
    const p: Params = new Map(params);
    const route = `${request.method} ${request.path}`;
    switch (route) {
      case 'GET /fapi/v1/ping':
        return ok({});
      case 'GET /fapi/v1/time':
        return ok({ serverTime: this.server.nowMs() });
      case 'GET /fapi/v1/exchangeInfo':
        return ok(this.exchangeInfo());
      case 'GET /fapi/v1/depth':
        return this.depth(p);
      case 'GET /fapi/v1/premiumIndex':
        return this.premiumIndex(p);
      case 'GET /fapi/v1/fundingInfo':
        return ok(this.fundingInfo());
      case 'GET /fapi/v1/fundingRate':
        return this.fundingHistory(p);
    }
    const account = this.authenticate(
      request,
      route === 'POST /fapi/v1/listenKey' || route.endsWith('/listenKey'),
    );
    if ('status' in account) return account;
    const accountId = account.accountId;
    switch (route) {
      case 'POST /fapi/v1/listenKey': {
        const listenKey = randomBytes(32).toString('hex');
        this.listenKeys.set(listenKey, accountId);
        return ok({ listenKey });
      }
      case 'PUT /fapi/v1/listenKey':
        return ok({});
      case 'DELETE /fapi/v1/listenKey':
        return ok({});
      case 'GET /fapi/v2/account':
      case 'GET /fapi/v3/account':
        return ok(this.accountPayload(accountId));
      case 'GET /fapi/v2/balance':
      case 'GET /fapi/v3/balance':
        return ok([this.assetPayload(accountId)]);
      case 'GET /fapi/v2/positionRisk':
      case 'GET /fapi/v3/positionRisk':
        return ok(this.positionRisk(accountId, p.get('symbol')));
      case 'POST /fapi/v1/order':
        return this.placeOrder(accountId, p);
      case 'GET /fapi/v1/order':
        return this.queryOrder(accountId, p);
      case 'DELETE /fapi/v1/order':
        return this.cancelOrder(accountId, p);
      case 'GET /fapi/v1/openOrders':
        return this.openOrders(accountId, p);
      case 'DELETE /fapi/v1/allOpenOrders':
        return this.cancelAll(accountId, p);
      case 'GET /fapi/v1/userTrades':
        return this.userTrades(accountId, p);
      case 'GET /fapi/v1/income':
        return this.incomeHistory(accountId, p);
      case 'POST /fapi/v1/countdownCancelAll': {
        // Binance arms it per symbol; the sim's switch is per account (one deadline for all).
        const instrument = this.instrumentOf(p.get('symbol'));
        if (instrument === undefined) return bad(BINANCE_ERRORS.badSymbol);
        const countdownTime = Number(p.get('countdownTime'));
        const result = this.exchange.scheduleCancelAll({ accountId, afterMs: countdownTime });
        if (!result.ok) return bad(BINANCE_ERRORS.rejected(result.reject.message));
        return ok({ symbol: p.get('symbol'), countdownTime: String(countdownTime) });
      }
      case 'POST /fapi/v1/leverage': {
        const instrument = this.instrumentOf(p.get('symbol'));
        if (instrument === undefined) return bad(BINANCE_ERRORS.badSymbol);
        const leverage = Number(p.get('leverage'));
        const result = this.exchange.setLeverage({ accountId, instrumentId: instrument, leverage });
        if (!result.ok) return bad(BINANCE_ERRORS.rejected(result.reject.message));
        return ok({ leverage, maxNotionalValue: '1000000', symbol: p.get('symbol') });
      }
    }
    return {
      status: 404,
      body: { code: -5000, msg: `Path ${request.path}, Method ${request.method} is invalid` },
    };
  }

  /** API key and HMAC signature the way Binance checks them. */
  private authenticate(request: EmulatorRequest, keyOnly: boolean): EmulatedApiKey | EmulatorResponse {
    const apiKey = request.headers['x-mbx-apikey'];
    const key = this.options.apiKeys.find((k) => k.apiKey === apiKey);
    if (key === undefined) return { status: 401, body: BINANCE_ERRORS.badKey };
    if (keyOnly) return key;
    const total = request.rawQuery + request.rawBody;
    const match = /(^|&)signature=([0-9a-fA-F]+)$/.exec(total);
    if (match === null) return bad(BINANCE_ERRORS.missingParam('signature'));
    const signed = total.slice(0, match.index);
    if (!sameSignature(hmacSha256(key.secret, signed, 'hex'), (match[2] as string).toLowerCase())) {
      return bad(BINANCE_ERRORS.badSignature);
    }
    const params = new URLSearchParams(signed);
    const late = timestampRefusal(
      params.get('timestamp') ?? undefined,
      params.get('recvWindow') ?? undefined,
      this.server.nowMs(),
    );
    if (late !== undefined) return bad(late);
    return key;
  }

  private instrumentOf(symbol: string | undefined): InstrumentId | undefined {
    return symbol === undefined ? undefined : this.bySymbol.get(symbol);
  }

  private exchangeInfo(): unknown {
    const settle = this.exchange.config.settleAsset;
    return {
      timezone: 'UTC',
      serverTime: this.server.nowMs(),
      futuresType: 'U_MARGINED',
      rateLimits: [
        { rateLimitType: 'REQUEST_WEIGHT', interval: 'MINUTE', intervalNum: 1, limit: 2400 },
        { rateLimitType: 'ORDERS', interval: 'MINUTE', intervalNum: 1, limit: 1200 },
      ],
      exchangeFilters: [],
      assets: [{ asset: settle, marginAvailable: true, autoAssetExchange: '0' }],
      symbols: this.exchange.markets().map((spec) => ({
        symbol: binanceSymbol(spec.instrumentId),
        pair: binanceSymbol(spec.instrumentId),
        contractType: 'PERPETUAL',
        deliveryDate: 4133404800000,
        onboardDate: 1569398400000,
        status: 'TRADING',
        maintMarginPercent: '2.5000',
        requiredMarginPercent: '5.0000',
        baseAsset: spec.baseAsset,
        quoteAsset: spec.quoteAsset,
        marginAsset: settle,
        pricePrecision: decimals(spec.tickSize),
        quantityPrecision: decimals(spec.lotSize),
        baseAssetPrecision: 8,
        quotePrecision: 8,
        underlyingType: 'COIN',
        underlyingSubType: [],
        settlePlan: 0,
        triggerProtect: '0.0500',
        liquidationFee: this.exchange.config.liquidationFeeRate.toFixed(),
        marketTakeBound: this.exchange.config.marketProtectionBand.toFixed(),
        maxMoveOrderLimit: 10000,
        filters: [
          {
            filterType: 'PRICE_FILTER',
            minPrice: spec.tickSize.toFixed(),
            maxPrice: '4529764',
            tickSize: spec.tickSize.toFixed(),
          },
          {
            filterType: 'LOT_SIZE',
            minQty: spec.minSize.toFixed(),
            maxQty: spec.maxOrderSize.toFixed(),
            stepSize: spec.lotSize.toFixed(),
          },
          {
            filterType: 'MARKET_LOT_SIZE',
            minQty: spec.minSize.toFixed(),
            maxQty: spec.maxOrderSize.toFixed(),
            stepSize: spec.lotSize.toFixed(),
          },
          { filterType: 'MAX_NUM_ORDERS', limit: 200 },
          { filterType: 'MIN_NOTIONAL', notional: spec.minNotional.toFixed() },
          {
            filterType: 'PERCENT_PRICE',
            multiplierUp: '1.0500',
            multiplierDown: '0.9500',
            multiplierDecimal: '4',
          },
        ],
        orderTypes: ['LIMIT', 'MARKET'],
        timeInForce: ['GTC', 'IOC', 'FOK', 'GTX'],
        permissionSets: ['GRID', 'COPY'],
      })),
    };
  }

  private depth(p: Params): EmulatorResponse {
    const instrument = this.instrumentOf(p.get('symbol'));
    if (instrument === undefined) return bad(BINANCE_ERRORS.badSymbol);
    const limit = Number(p.get('limit') ?? 500);
    const book = this.exchange.bookSnapshot(instrument, limit);
    const now = this.server.nowMs();
    return ok({
      lastUpdateId: book.seq,
      E: now,
      T: now,
      bids: book.bids.map((l) => [l.price.toFixed(), l.size.toFixed()]),
      asks: book.asks.map((l) => [l.price.toFixed(), l.size.toFixed()]),
    });
  }

  private nextFundingTime(symbol: string, nowMs: EpochMs): EpochMs {
    const interval = (this.intervalHours.get(symbol) as number) * HOUR_MS;
    return (Math.floor(nowMs / interval) + 1) * interval;
  }

  /** The sim's predicted rate, for the interval this emulator reports for the symbol. */
  private reportedRate(symbol: string, simRate: Decimal): Decimal {
    const simHours = this.exchange.config.funding.intervalMs / HOUR_MS;
    return simRate
      .mul(this.intervalHours.get(symbol) as number)
      .div(simHours)
      .toDecimalPlaces(8);
  }

  private premiumEntry(instrument: InstrumentId): Record<string, unknown> {
    const symbol = binanceSymbol(instrument);
    const funding = this.exchange.funding(instrument);
    const now = this.server.nowMs();
    return {
      symbol,
      markPrice: funding?.markPrice.toFixed() ?? '0',
      indexPrice: funding?.indexPrice.toFixed() ?? '0',
      estimatedSettlePrice: funding?.indexPrice.toFixed() ?? '0',
      lastFundingRate: funding ? this.reportedRate(symbol, funding.predictedRate).toFixed() : '0',
      interestRate: '0.00010000',
      nextFundingTime: this.nextFundingTime(symbol, now),
      time: now,
    };
  }

  private premiumIndex(p: Params): EmulatorResponse {
    const symbol = p.get('symbol');
    if (symbol !== undefined) {
      const instrument = this.instrumentOf(symbol);
      return instrument === undefined ? bad(BINANCE_ERRORS.badSymbol) : ok(this.premiumEntry(instrument));
    }
    return ok([...this.bySymbol.values()].map((i) => this.premiumEntry(i)));
  }

  private fundingInfo(): unknown {
    const cap = this.exchange.config.funding.capPerInterval.toFixed();
    return [...this.bySymbol.keys()].map((symbol) => ({
      symbol,
      adjustedFundingRateCap: cap,
      adjustedFundingRateFloor: `-${cap}`,
      fundingIntervalHours: this.intervalHours.get(symbol),
      disclaimer: false,
    }));
  }

  private fundingHistory(p: Params): EmulatorResponse {
    const symbol = p.get('symbol');
    const start = Number(p.get('startTime') ?? 0);
    return ok(
      this.settled
        .filter((s) => (symbol === undefined || s.symbol === symbol) && s.time >= start)
        .slice(-Number(p.get('limit') ?? 100))
        .map((s) => ({
          symbol: s.symbol,
          fundingRate: s.rate.toFixed(),
          fundingTime: s.time,
          markPrice: s.mark.toFixed(),
        })),
    );
  }

  /** Every API key's account exists from the start (constructor); a key without one is a config error. */
  private ensureAccount(accountId: AccountId): void {
    if (!this.exchange.hasAccount(accountId)) throw new Error(`emulator: no account ${accountId}`);
  }

  private assetPayload(accountId: AccountId): Record<string, unknown> {
    this.ensureAccount(accountId);
    const b = this.exchange.balance(accountId);
    return {
      accountAlias: 'SgsR',
      asset: b.asset,
      walletBalance: b.walletBalance.toFixed(),
      balance: b.walletBalance.toFixed(),
      unrealizedProfit: b.unrealizedPnl.toFixed(),
      crossUnPnl: b.unrealizedPnl.toFixed(),
      marginBalance: b.equity.toFixed(),
      maintMargin: b.maintenanceMargin.toFixed(),
      initialMargin: b.initialMargin.toFixed(),
      positionInitialMargin: b.initialMargin.toFixed(),
      openOrderInitialMargin: '0',
      crossWalletBalance: b.walletBalance.toFixed(),
      availableBalance: Decimal.max(b.available, ZERO).toFixed(),
      maxWithdrawAmount: Decimal.max(b.available, ZERO).toFixed(),
      marginAvailable: true,
      updateTime: b.asOfMs,
    };
  }

  private accountPayload(accountId: AccountId): unknown {
    const asset = this.assetPayload(accountId);
    return {
      totalInitialMargin: asset.initialMargin,
      totalMaintMargin: asset.maintMargin,
      totalWalletBalance: asset.walletBalance,
      totalUnrealizedProfit: asset.unrealizedProfit,
      totalMarginBalance: asset.marginBalance,
      totalPositionInitialMargin: asset.positionInitialMargin,
      totalOpenOrderInitialMargin: '0',
      totalCrossWalletBalance: asset.crossWalletBalance,
      totalCrossUnPnl: asset.crossUnPnl,
      availableBalance: asset.availableBalance,
      maxWithdrawAmount: asset.maxWithdrawAmount,
      assets: [asset],
      positions: this.positionRisk(accountId, undefined).map((p) => ({
        symbol: p.symbol,
        positionSide: 'BOTH',
        positionAmt: p.positionAmt,
        unrealizedProfit: p.unRealizedProfit,
        isolatedMargin: '0',
        notional: p.notional,
        isolatedWallet: '0',
        initialMargin: '0',
        maintMargin: '0',
        updateTime: p.updateTime,
      })),
    };
  }

  private positionRisk(accountId: AccountId, symbol: string | undefined): Record<string, unknown>[] {
    this.ensureAccount(accountId);
    return [...this.bySymbol.entries()]
      .filter(([s]) => symbol === undefined || s === symbol)
      .map(([s, instrument]) => {
        const pos = this.exchange.position(accountId, instrument);
        return {
          symbol: s,
          positionAmt: pos.size.toFixed(),
          entryPrice: pos.entryPrice?.toFixed() ?? '0.0',
          breakEvenPrice: pos.entryPrice?.toFixed() ?? '0.0',
          markPrice: pos.markPrice.toFixed(),
          unRealizedProfit: pos.unrealizedPnl.toFixed(),
          liquidationPrice: pos.liquidationPrice?.toFixed() ?? '0',
          leverage: String(pos.leverage),
          maxNotionalValue: '1000000',
          marginType: 'cross',
          isolatedMargin: '0.00000000',
          isAutoAddMargin: 'false',
          positionSide: 'BOTH',
          notional: pos.size.mul(pos.markPrice).toFixed(),
          isolatedWallet: '0',
          updateTime: pos.asOfMs,
        };
      });
  }

  private placeOrder(accountId: AccountId, p: Params): EmulatorResponse {
    this.ensureAccount(accountId);
    const symbol = p.get('symbol');
    const instrument = this.instrumentOf(symbol);
    if (instrument === undefined) return bad(BINANCE_ERRORS.badSymbol);
    for (const name of ['side', 'type', 'quantity']) {
      if (!p.get(name)) return bad(BINANCE_ERRORS.missingParam(name));
    }
    const type: OrderType = p.get('type') === 'MARKET' ? 'market' : 'limit';
    if (type === 'limit' && !p.get('price')) return bad(BINANCE_ERRORS.missingParam('price'));
    const clientOrderId = p.get('newClientOrderId') ?? `emu-${randomBytes(8).toString('hex')}`;
    if (this.exchange.getOrder(accountId, { clientOrderId }) !== undefined) {
      return bad(BINANCE_ERRORS.duplicateClientId);
    }
    const tif: TimeInForce =
      ({ GTC: 'gtc', IOC: 'ioc', FOK: 'fok', GTX: 'post_only' } as const)[
        (p.get('timeInForce') ?? 'GTC') as 'GTC'
      ] ?? 'gtc';
    const result = this.exchange.placeOrder({
      accountId,
      instrumentId: instrument,
      side: (p.get('side') === 'BUY' ? 'buy' : 'sell') as Side,
      type,
      ...(type === 'limit' ? { timeInForce: tif, price: p.get('price') as string } : {}),
      size: p.get('quantity') as string,
      reduceOnly: p.get('reduceOnly') === 'true',
      clientOrderId,
    });
    if (!result.ok) return bad(rejectPayload(result.reject));
    return ok(orderPayload(result.order, symbol as string));
  }

  private findOrder(accountId: AccountId, p: Params): OrderView | undefined {
    this.ensureAccount(accountId);
    const orderId = p.get('orderId');
    const clientOrderId = p.get('origClientOrderId');
    return this.exchange.getOrder(accountId, {
      ...(orderId ? { venueOrderId: orderId } : {}),
      ...(clientOrderId ? { clientOrderId } : {}),
    });
  }

  private queryOrder(accountId: AccountId, p: Params): EmulatorResponse {
    const order = this.findOrder(accountId, p);
    if (order === undefined) return bad(BINANCE_ERRORS.noSuchOrder);
    return ok(orderPayload(order, binanceSymbol(order.instrumentId)));
  }

  private cancelOrder(accountId: AccountId, p: Params): EmulatorResponse {
    const order = this.findOrder(accountId, p);
    if (order === undefined) return bad(BINANCE_ERRORS.unknownOrderOnCancel);
    const result = this.exchange.cancelOrder({ accountId, venueOrderId: order.venueOrderId });
    if (!result.ok) return bad(BINANCE_ERRORS.unknownOrderOnCancel);
    return ok(orderPayload(result.order, binanceSymbol(order.instrumentId)));
  }

  private openOrders(accountId: AccountId, p: Params): EmulatorResponse {
    this.ensureAccount(accountId);
    const symbol = p.get('symbol');
    const instrument = this.instrumentOf(symbol);
    if (symbol !== undefined && instrument === undefined) return bad(BINANCE_ERRORS.badSymbol);
    return ok(
      this.exchange
        .openOrders(accountId, instrument)
        .map((o) => orderPayload(o, binanceSymbol(o.instrumentId))),
    );
  }

  private cancelAll(accountId: AccountId, p: Params): EmulatorResponse {
    this.ensureAccount(accountId);
    const instrument = this.instrumentOf(p.get('symbol'));
    if (instrument === undefined) return bad(BINANCE_ERRORS.missingParam('symbol'));
    this.exchange.cancelAllOrders({ accountId, instrumentId: instrument });
    return ok({ code: 200, msg: 'The operation of cancel all open order is done.' });
  }

  private userTrades(accountId: AccountId, p: Params): EmulatorResponse {
    const symbol = p.get('symbol');
    if (symbol === undefined) return bad(BINANCE_ERRORS.missingParam('symbol'));
    const start = Number(p.get('startTime') ?? 0);
    const limit = Number(p.get('limit') ?? 500);
    const trades = (this.fills.get(accountId) ?? [])
      .filter((f) => f.symbol === symbol && f.fill.tsEventMs >= start)
      .slice(0, limit)
      .map(({ fill, symbol: s }) => ({
        symbol: s,
        id: Number(fill.tradeId),
        orderId: Number(fill.venueOrderId),
        side: fill.side === 'buy' ? 'BUY' : 'SELL',
        price: fill.price.toFixed(),
        qty: fill.size.toFixed(),
        realizedPnl: fill.realizedPnl.toFixed(),
        quoteQty: fill.price.mul(fill.size).toFixed(),
        commission: fill.fee.toFixed(),
        commissionAsset: fill.feeAsset,
        time: fill.tsEventMs,
        positionSide: 'BOTH',
        buyer: fill.side === 'buy',
        maker: fill.liquidity === 'maker',
      }));
    return ok(trades);
  }

  private incomeHistory(accountId: AccountId, p: Params): EmulatorResponse {
    const type = p.get('incomeType');
    const start = Number(p.get('startTime') ?? 0);
    const entries = type !== undefined && type !== 'FUNDING_FEE' ? [] : (this.income.get(accountId) ?? []);
    return ok(
      entries
        .filter((e) => e.time >= start)
        .map((e) => ({
          symbol: e.symbol,
          incomeType: 'FUNDING_FEE',
          income: e.amount.toFixed(),
          asset: this.exchange.config.settleAsset,
          info: 'FUNDING_FEE',
          time: e.time,
          tranId: e.id,
          tradeId: '',
        })),
    );
  }

  // ------------------------------------------------------------------ websocket

  onWebSocket(socket: WebSocket, request: IncomingMessage): void {
    const url = new URL(request.url ?? '/', 'http://127.0.0.1');
    const listenKey = url.searchParams.get('listenKey') ?? url.pathname.split('/').pop() ?? '';
    const accountId = this.listenKeys.get(listenKey);
    if (url.pathname.startsWith('/private') || accountId !== undefined) {
      if (accountId === undefined) {
        socket.close(4001, 'invalid listenKey');
        return;
      }
      this.privateSockets.set(socket, accountId);
      socket.on('close', () => this.privateSockets.delete(socket));
    }
    const streams = new Set<string>();
    this.marketSockets.set(socket, streams);
    socket.on('close', () => this.marketSockets.delete(socket));
    socket.on('message', (data) => {
      let frame: { method?: string; params?: string[]; id?: number };
      try {
        frame = JSON.parse(String(data));
      } catch {
        sendJson(socket, { code: 3, msg: 'Invalid JSON' });
        return;
      }
      if (frame.method === 'SUBSCRIBE') for (const s of frame.params ?? []) streams.add(s.toLowerCase());
      if (frame.method === 'UNSUBSCRIBE') for (const s of frame.params ?? []) streams.delete(s.toLowerCase());
      sendJson(socket, { result: null, id: frame.id });
    });
  }

  private publish(symbol: string, channel: string, frame: unknown): void {
    const prefix = `${symbol.toLowerCase()}@${channel}`;
    for (const [socket, streams] of this.marketSockets) {
      for (const s of streams) {
        if (s === prefix || s.startsWith(`${prefix}@`)) {
          sendJson(socket, frame);
          break;
        }
      }
    }
  }

  private publishPrivate(accountId: AccountId, frame: unknown): void {
    for (const [socket, owner] of this.privateSockets) if (owner === accountId) sendJson(socket, frame);
  }

  onEvents(events: readonly SimEvent[]): void {
    const now = this.server.nowMs();
    const touched = new Set<AccountId>();
    for (const e of events) {
      switch (e.type) {
        case 'book_delta': {
          const symbol = binanceSymbol(e.instrumentId);
          if (this.server.faults.takeBookDeltaSkip(symbol)) break;
          this.publish(symbol, 'depth', {
            e: 'depthUpdate',
            E: now,
            T: now,
            s: symbol,
            U: e.seq,
            u: e.seq,
            pu: e.prevSeq,
            b: e.bids.map((l) => [l.price.toFixed(), l.size.toFixed()]),
            a: e.asks.map((l) => [l.price.toFixed(), l.size.toFixed()]),
          });
          break;
        }
        case 'trade': {
          const symbol = binanceSymbol(e.instrumentId);
          this.publish(symbol, 'trade', {
            e: 'trade',
            E: now,
            T: e.tsEventMs,
            s: symbol,
            t: Number(e.tradeId),
            p: e.price.toFixed(),
            q: e.size.toFixed(),
            X: 'MARKET',
            m: e.takerSide === 'sell',
          });
          break;
        }
        case 'funding_rate': {
          const symbol = binanceSymbol(e.instrumentId);
          this.publish(symbol, 'markPrice', {
            e: 'markPriceUpdate',
            E: now,
            s: symbol,
            p: e.markPrice.toFixed(),
            i: e.indexPrice.toFixed(),
            P: e.indexPrice.toFixed(),
            r: this.reportedRate(symbol, e.predictedRate).toFixed(),
            T: this.nextFundingTime(symbol, now),
          });
          break;
        }
        case 'funding_settled':
          this.settled.push({
            symbol: binanceSymbol(e.instrumentId),
            rate: e.rate,
            time: e.fundingTimeMs,
            mark: e.markPrice,
          });
          break;
        case 'funding_payment': {
          const list = this.income.get(e.accountId) ?? [];
          list.push({
            symbol: binanceSymbol(e.instrumentId),
            amount: e.amount,
            time: e.fundingTimeMs,
            id: ++this.incomeSeq,
          });
          this.income.set(e.accountId, list);
          touched.add(e.accountId);
          break;
        }
        case 'fill':
          this.onFill(e);
          touched.add(e.accountId);
          break;
        case 'order_update':
          this.onOrderUpdate(e.order);
          break;
        case 'balance':
        case 'position':
          touched.add(e.accountId);
          break;
        default:
          break;
      }
    }
    for (const accountId of touched) {
      if (![...this.privateSockets.values()].includes(accountId)) continue;
      this.publishPrivate(accountId, this.accountUpdate(accountId, now));
    }
  }

  private onFill(fill: FillEvent): void {
    const symbol = binanceSymbol(fill.instrumentId);
    const list = this.fills.get(fill.accountId) ?? [];
    list.push({ fill, symbol });
    this.fills.set(fill.accountId, list);
    const key = `${fill.accountId}\u0000${fill.venueOrderId}`;
    const before = this.progress.get(key) ?? { filled: ZERO, quote: ZERO };
    const now = {
      filled: before.filled.plus(fill.size),
      quote: before.quote.plus(fill.price.mul(fill.size)),
    };
    this.progress.set(key, now);
    const order = this.exchange.getOrder(fill.accountId, { venueOrderId: fill.venueOrderId });
    const size = order?.size ?? now.filled;
    this.publishPrivate(fill.accountId, {
      e: 'ORDER_TRADE_UPDATE',
      E: this.server.nowMs(),
      T: fill.tsEventMs,
      o: {
        s: symbol,
        c: fill.isLiquidation
          ? `autoclose-${fill.tradeId}`
          : (fill.clientOrderId ?? order?.clientOrderId ?? ''),
        S: fill.side === 'buy' ? 'BUY' : 'SELL',
        o: fill.isLiquidation ? 'LIQUIDATION' : order?.type === 'market' ? 'MARKET' : 'LIMIT',
        f: order ? binanceTimeInForce(order) : 'IOC',
        q: size.toFixed(),
        p: order?.price?.toFixed() ?? '0',
        ap: now.quote.div(now.filled).toFixed(),
        sp: '0',
        x: 'TRADE',
        X: now.filled.gte(size) ? 'FILLED' : 'PARTIALLY_FILLED',
        i: Number(fill.venueOrderId),
        l: fill.size.toFixed(),
        z: now.filled.toFixed(),
        L: fill.price.toFixed(),
        N: fill.feeAsset,
        n: fill.fee.toFixed(),
        T: fill.tsEventMs,
        t: Number(fill.tradeId),
        b: '0',
        a: '0',
        m: fill.liquidity === 'maker',
        R: order?.reduceOnly ?? fill.isLiquidation,
        wt: 'CONTRACT_PRICE',
        ot: fill.isLiquidation ? 'LIQUIDATION' : order?.type === 'market' ? 'MARKET' : 'LIMIT',
        ps: 'BOTH',
        cp: false,
        rp: fill.realizedPnl.toFixed(),
        pP: false,
        si: 0,
        ss: 0,
        V: 'EXPIRE_MAKER',
        pm: 'NONE',
        gtd: 0,
      },
    });
  }

  /** New, canceled and expired orders; fills are announced by their trade. */
  private onOrderUpdate(order: OrderView): void {
    const status = orderStatus(order);
    if (status === 'FILLED' || status === 'PARTIALLY_FILLED') return;
    const execution =
      status === 'NEW'
        ? 'NEW'
        : status === 'CANCELED'
          ? 'CANCELED'
          : status === 'REJECTED'
            ? 'REJECTED'
            : 'EXPIRED';
    this.publishPrivate(order.accountId, {
      e: 'ORDER_TRADE_UPDATE',
      E: this.server.nowMs(),
      T: order.updatedMs,
      o: {
        s: binanceSymbol(order.instrumentId),
        c: order.clientOrderId ?? '',
        S: order.side === 'buy' ? 'BUY' : 'SELL',
        o: order.type === 'market' ? 'MARKET' : 'LIMIT',
        f: binanceTimeInForce(order),
        q: order.size.toFixed(),
        p: order.price?.toFixed() ?? '0',
        ap: order.avgFillPrice?.toFixed() ?? '0',
        sp: '0',
        x: execution,
        X: status,
        i: Number(order.venueOrderId),
        l: '0',
        z: order.filledSize.toFixed(),
        L: '0',
        T: order.updatedMs,
        t: 0,
        b: '0',
        a: '0',
        m: false,
        R: order.reduceOnly,
        wt: 'CONTRACT_PRICE',
        ot: order.type === 'market' ? 'MARKET' : 'LIMIT',
        ps: 'BOTH',
        cp: false,
        rp: '0',
        pP: false,
        si: 0,
        ss: 0,
        V: 'EXPIRE_MAKER',
        pm: 'NONE',
        gtd: 0,
      },
    });
  }

  private accountUpdate(accountId: AccountId, now: EpochMs): unknown {
    const b = this.exchange.balance(accountId);
    return {
      e: 'ACCOUNT_UPDATE',
      E: now,
      T: now,
      a: {
        m: 'ORDER',
        B: [{ a: b.asset, wb: b.walletBalance.toFixed(), cw: b.walletBalance.toFixed(), bc: '0' }],
        P: this.exchange.positions(accountId).map((pos) => ({
          s: binanceSymbol(pos.instrumentId),
          pa: pos.size.toFixed(),
          ep: pos.entryPrice?.toFixed() ?? '0',
          bep: pos.entryPrice?.toFixed() ?? '0',
          cr: pos.realizedPnl.toFixed(),
          up: pos.unrealizedPnl.toFixed(),
          mt: 'cross',
          iw: '0',
          ps: 'BOTH',
        })),
      },
    };
  }
}

function ok(body: unknown): EmulatorResponse {
  return { status: 200, body };
}

function bad(body: { code: number; msg: string }): EmulatorResponse {
  return { status: 400, body };
}

function decimals(step: Decimal): number {
  return Math.max(0, step.decimalPlaces());
}

function rejectPayload(reject: Reject): { code: number; msg: string } {
  switch (reject.code) {
    case 'invalid_tick':
      return { code: -4014, msg: 'Price not increased by tick size.' };
    case 'invalid_lot':
      return { code: -1111, msg: 'Precision is over the maximum defined for this asset.' };
    case 'below_min_notional':
      return {
        code: -4164,
        msg: `Order's notional must be no smaller than the minimum (unless you choose reduce only). ${reject.message}`,
      };
    case 'below_min_size':
      return { code: -4003, msg: 'Quantity less than or equal to zero.' };
    case 'insufficient_margin':
    case 'insufficient_balance':
      return BINANCE_ERRORS.insufficientMargin;
    case 'post_only_would_cross':
      return {
        code: -5022,
        msg: 'Due to the order could not be executed as maker, the Post Only order will be rejected.',
      };
    case 'reduce_only_would_increase':
      return { code: -2022, msg: 'ReduceOnly Order is rejected.' };
    case 'duplicate_client_order_id':
      return BINANCE_ERRORS.duplicateClientId;
    default:
      return BINANCE_ERRORS.rejected(reject.message);
  }
}
