/**
 * OKX emulator (swaps): `/api/v5` REST and `/ws/v5/public|private` websockets in the
 * venue's wire format, over a simulated exchange (libs/sim). Sizes on the wire are
 * contracts (`ctVal` base units each); the sim counts base units.
 *
 * Private REST calls are authenticated as OKX does: `OK-ACCESS-SIGN` = base64
 * HMAC-SHA256 of `timestamp + METHOD + requestPath(+?query) + body` with the secret, plus
 * the key and the passphrase chosen with it; the private websocket logs in with the same
 * signature over `timestamp + 'GET' + '/users/self/verify'`. Wrong key, signature or
 * passphrase get the venue's codes (50111 / 50113 / 50105). `account/set-leverage` (cross)
 * and `trade/cancel-all-after` (the sim's dead-man switch) are emulated too. Funding: `fundingTime` /
 * `nextFundingTime` one interval apart; the interval per instrument is changeable at run
 * time (OKX shortens it at the cap).
 */
import type { IncomingMessage } from 'node:http';
import { type AccountId, Decimal, type InstrumentId, type TimeInForce, ZERO } from '@perpmesh/core';
import type { FillEvent, FundingPaymentEvent, OrderView, SimEvent } from '@perpmesh/sim';
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
import { OKX_CONTRACT_VALUE } from './config.js';

const HOUR_MS = 3_600_000;

export interface OkxApiKey {
  readonly apiKey: string;
  readonly secret: string;
  readonly passphrase: string;
  readonly accountId: AccountId;
  readonly deposit: string;
}

export interface OkxEmulatorOptions {
  readonly market: EmulatorMarket;
  readonly apiKeys: readonly OkxApiKey[];
  readonly stepIntervalMs?: number;
  readonly faults?: FaultConfig;
  readonly port?: number;
}

type Row = Record<string, unknown>;

const instId = (instrument: InstrumentId) => `${instrument.split('-').slice(0, 2).join('-')}-SWAP`;

export class OkxEmulator implements VenueWire {
  readonly server: EmulatorServer;
  private readonly byInstId = new Map<string, InstrumentId>();
  private readonly intervalHours = new Map<InstrumentId, number>();
  private readonly fills = new Map<AccountId, FillEvent[]>();
  /** Funding bills (type 8) per account, oldest first; `billId` counts up. */
  private readonly fundingBills = new Map<AccountId, { billId: number; event: FundingPaymentEvent }[]>();
  private billSeq = 0;
  private readonly books = new Map<WebSocket, Set<string>>();
  private readonly privateSockets = new Map<WebSocket, AccountId | undefined>();
  private readonly bookSeq = new Map<InstrumentId, number>();
  private baseUrl = '';

  constructor(private readonly options: OkxEmulatorOptions) {
    this.server = new EmulatorServer({
      market: options.market,
      ...(options.stepIntervalMs === undefined ? {} : { stepIntervalMs: options.stepIntervalMs }),
      ...(options.faults === undefined ? {} : { faults: options.faults }),
      ...(options.port === undefined ? {} : { port: options.port }),
    });
    for (const key of options.apiKeys) {
      if (!options.market.exchange.hasAccount(key.accountId))
        options.market.exchange.deposit(key.accountId, key.deposit);
    }
    for (const spec of options.market.exchange.markets()) {
      this.byInstId.set(instId(spec.instrumentId), spec.instrumentId);
      this.intervalHours.set(spec.instrumentId, options.market.exchange.config.funding.intervalMs / HOUR_MS);
    }
  }

  async start(): Promise<string> {
    this.baseUrl = await this.server.start(this);
    return this.baseUrl;
  }

  /** ccxt's `urls.api.ws` (it appends `/public`, `/private`). */
  get wsUrl(): string {
    return `${this.baseUrl.replace('http://', 'ws://')}/ws/v5`;
  }

  get exchange() {
    return this.options.market.exchange;
  }

  close(): Promise<void> {
    return this.server.close();
  }

  setFundingIntervalHours(instrument: InstrumentId, hours: number): void {
    this.intervalHours.set(instrument, hours);
  }

  private ctVal(instrument: InstrumentId): Decimal {
    return new Decimal(OKX_CONTRACT_VALUE[instrument] ?? '1');
  }

  private contracts(instrument: InstrumentId, base: Decimal): string {
    return base.div(this.ctVal(instrument)).toFixed();
  }

  faultResponse(kind: 'rate-limit' | 'server-error'): EmulatorResponse {
    return kind === 'rate-limit'
      ? {
          status: 429,
          body: {
            code: '50011',
            msg: 'Rate limit reached. Please refer to API documentation and throttle requests accordingly.',
            data: [],
          },
        }
      : {
          status: 503,
          body: { code: '50001', msg: 'Service temporarily unavailable. Please try again later.', data: [] },
        };
  }

  handle(request: EmulatorRequest): EmulatorResponse {
    const q = new URLSearchParams(request.rawQuery);
    const route = `${request.method} ${request.path}`;
    switch (route) {
      case 'GET /api/v5/public/time':
        return ok([{ ts: String(this.server.nowMs()) }]);
      case 'GET /api/v5/public/instruments':
        return ok(q.get('instType') === 'SWAP' ? this.instruments() : []);
      case 'GET /api/v5/market/books':
        return this.booksRest(q);
      case 'GET /api/v5/public/funding-rate':
        return this.fundingRate(q);
      case 'GET /api/v5/public/mark-price': {
        const instrument = this.byInstId.get(q.get('instId') ?? '');
        const mark = instrument === undefined ? undefined : this.exchange.markPrice(instrument);
        return ok(
          instrument === undefined || mark === undefined
            ? []
            : [
                {
                  instType: 'SWAP',
                  instId: instId(instrument),
                  markPx: mark.toFixed(),
                  ts: String(this.server.nowMs()),
                },
              ],
        );
      }
      case 'GET /api/v5/market/index-tickers': {
        const id = q.get('instId') ?? '';
        const instrument = this.byInstId.get(`${id}-SWAP`);
        const index = instrument === undefined ? undefined : this.exchange.indexPrice(instrument);
        return ok(
          index === undefined
            ? []
            : [
                {
                  instId: id,
                  idxPx: index.toFixed(),
                  high24h: index.toFixed(),
                  low24h: index.toFixed(),
                  open24h: index.toFixed(),
                  sodUtc0: index.toFixed(),
                  sodUtc8: index.toFixed(),
                  ts: String(this.server.nowMs()),
                },
              ],
        );
      }
    }
    const key = this.authenticate(request);
    if ('status' in key) return key;
    const body = request.rawBody === '' ? {} : (JSON.parse(request.rawBody) as Row);
    switch (route) {
      case 'GET /api/v5/asset/currencies':
        // Only the settle currency: ccxt reads it while loading markets when it has keys.
        return ok([
          {
            ccy: this.exchange.config.settleAsset,
            name: this.exchange.config.settleAsset,
            chain: `${this.exchange.config.settleAsset}-ERC20`,
            canDep: true,
            canWd: true,
            canInternal: true,
            minWd: '1',
            maxWd: '1000000',
            wdTickSz: '6',
            minFee: '1',
            maxFee: '1',
            mainNet: true,
            needTag: false,
            minDep: '0.00000001',
          },
        ]);
      case 'GET /api/v5/account/bills':
        return ok(this.bills(key.accountId, q));
      case 'GET /api/v5/account/balance':
        return ok([this.balance(key.accountId)]);
      case 'GET /api/v5/account/positions':
        return ok(this.positions(key.accountId));
      case 'POST /api/v5/trade/order':
        return this.placeOrder(key.accountId, body);
      case 'GET /api/v5/trade/order': {
        const order = this.find(key.accountId, q.get('ordId'), q.get('clOrdId'));
        return order === undefined
          ? { status: 200, body: { code: '51603', msg: 'Order does not exist', data: [] } }
          : ok([this.orderWire(order)]);
      }
      case 'POST /api/v5/account/set-leverage': {
        const instrument = this.byInstId.get(String(body.instId));
        if (instrument === undefined)
          return okxError('51001', `Instrument ID ${String(body.instId)} does not exist`);
        if (body.mgnMode !== 'cross')
          return okxError('51000', 'Parameter mgnMode error: only cross is emulated');
        const lever = Number(body.lever);
        const r = this.exchange.setLeverage({
          accountId: key.accountId,
          instrumentId: instrument,
          leverage: lever,
        });
        if (!r.ok) return okxError('59102', r.reject.message);
        return ok([{ instId: body.instId, lever: String(lever), mgnMode: 'cross', posSide: '' }]);
      }
      case 'POST /api/v5/trade/cancel-all-after': {
        // timeOut in seconds: 0 disarms, else 10..120 (as the venue allows).
        const timeOut = Number(body.timeOut);
        if (!Number.isInteger(timeOut) || (timeOut !== 0 && (timeOut < 10 || timeOut > 120))) {
          return okxError('51000', 'Parameter timeOut error');
        }
        const r = this.exchange.scheduleCancelAll({ accountId: key.accountId, afterMs: timeOut * 1_000 });
        if (!r.ok) return okxError('51000', r.reject.message);
        return ok([
          {
            triggerTime: String(timeOut === 0 ? 0 : this.server.nowMs() + timeOut * 1_000),
            ts: String(this.server.nowMs()),
          },
        ]);
      }
      case 'POST /api/v5/trade/cancel-order': {
        const order = this.find(
          key.accountId,
          body.ordId as string | undefined,
          body.clOrdId as string | undefined,
        );
        const r =
          order === undefined
            ? undefined
            : this.exchange.cancelOrder({ accountId: key.accountId, venueOrderId: order.venueOrderId });
        if (!r?.ok) {
          return {
            status: 200,
            body: {
              code: '1',
              msg: 'All operations failed',
              data: [
                {
                  ordId: body.ordId ?? '',
                  clOrdId: body.clOrdId ?? '',
                  sCode: '51400',
                  sMsg: 'Order cancellation failed as the order has been filled, canceled or does not exist',
                },
              ],
            },
          };
        }
        return ok([
          {
            ordId: r.order.venueOrderId,
            clOrdId: r.order.clientOrderId ?? '',
            sCode: '0',
            sMsg: '',
            ts: String(this.server.nowMs()),
          },
        ]);
      }
      case 'GET /api/v5/trade/orders-pending':
        return ok(this.exchange.openOrders(key.accountId).map((o) => this.orderWire(o)));
      case 'GET /api/v5/trade/fills':
      case 'GET /api/v5/trade/fills-history': {
        const begin = Number(q.get('begin') ?? 0);
        return ok(
          (this.fills.get(key.accountId) ?? [])
            .filter((f) => f.tsEventMs >= begin)
            .map((f) => this.fillWire(f))
            .reverse(),
        );
      }
    }
    return { status: 404, body: { code: '50000', msg: `no route ${route}`, data: [] } };
  }

  /**
   * `account/bills`, newest first, at most `limit` (default and max 100); only funding bills
   * (type 8) exist here. `begin` / `end` filter on `ts`; `after` pages to older bills.
   */
  private bills(accountId: AccountId, q: URLSearchParams): Row[] {
    const type = q.get('type');
    if (type !== null && type !== '8') return [];
    const begin = Number(q.get('begin') ?? 0);
    const end = Number(q.get('end') ?? Number.MAX_SAFE_INTEGER);
    const after = q.get('after');
    const limit = Math.min(100, Math.max(1, Number(q.get('limit') ?? 100)));
    return (this.fundingBills.get(accountId) ?? [])
      .filter(
        (b) =>
          b.event.fundingTimeMs >= begin &&
          b.event.fundingTimeMs <= end &&
          (after === null || b.billId < Number(after)),
      )
      .reverse()
      .slice(0, limit)
      .map(({ billId, event: e }) => ({
        billId: String(billId),
        instType: 'SWAP',
        instId: instId(e.instrumentId),
        ccy: this.exchange.config.settleAsset,
        type: '8',
        subType: e.amount.isNeg() ? '173' : '174',
        balChg: e.amount.toFixed(),
        pnl: e.amount.toFixed(),
        sz: this.contracts(e.instrumentId, e.positionSize.abs()),
        px: e.markPrice.toFixed(),
        mgnMode: 'cross',
        ts: String(e.fundingTimeMs),
      }));
  }

  private authenticate(request: EmulatorRequest): OkxApiKey | EmulatorResponse {
    const h = request.headers;
    const key = this.options.apiKeys.find((k) => k.apiKey === h['ok-access-key']);
    if (key === undefined)
      return { status: 401, body: { code: '50111', msg: 'Invalid OK-ACCESS-KEY', data: [] } };
    if (h['ok-access-passphrase'] !== key.passphrase) {
      return { status: 401, body: { code: '50105', msg: 'Invalid OK-ACCESS-PASSPHRASE', data: [] } };
    }
    const ts = String(h['ok-access-timestamp'] ?? '');
    const path = request.rawQuery === '' ? request.path : `${request.path}?${request.rawQuery}`;
    const expected = hmacSha256(key.secret, `${ts}${request.method}${path}${request.rawBody}`, 'base64');
    if (!sameSignature(expected, String(h['ok-access-sign'] ?? ''))) {
      return { status: 401, body: { code: '50113', msg: 'Invalid Sign', data: [] } };
    }
    return key;
  }

  private instruments(): Row[] {
    return this.exchange.markets().map((spec) => ({
      instType: 'SWAP',
      instId: instId(spec.instrumentId),
      uly: `${spec.baseAsset}-${spec.quoteAsset}`,
      instFamily: `${spec.baseAsset}-${spec.quoteAsset}`,
      baseCcy: '',
      quoteCcy: '',
      settleCcy: this.exchange.config.settleAsset,
      ctVal: this.ctVal(spec.instrumentId).toFixed(),
      ctMult: '1',
      ctValCcy: spec.baseAsset,
      ctType: 'linear',
      tickSz: spec.tickSize.toFixed(),
      lotSz: this.contracts(spec.instrumentId, spec.lotSize),
      minSz: this.contracts(spec.instrumentId, spec.minSize),
      maxLmtSz: this.contracts(spec.instrumentId, spec.maxOrderSize),
      maxMktSz: this.contracts(spec.instrumentId, spec.maxOrderSize),
      lever: String(spec.maxLeverage),
      state: 'live',
      listTime: '1606468572000',
      expTime: '',
      alias: '',
      category: '1',
    }));
  }

  private levels(instrument: InstrumentId, levels: readonly { price: Decimal; size: Decimal }[]): string[][] {
    return levels.map((l) => [l.price.toFixed(), this.contracts(instrument, l.size), '0', '1']);
  }

  private booksRest(q: URLSearchParams): EmulatorResponse {
    const instrument = this.byInstId.get(q.get('instId') ?? '');
    if (instrument === undefined)
      return { status: 200, body: { code: '51001', msg: "Instrument ID doesn't exist", data: [] } };
    const book = this.exchange.bookSnapshot(instrument, Number(q.get('sz') ?? 400));
    return ok([
      {
        asks: this.levels(instrument, book.asks),
        bids: this.levels(instrument, book.bids),
        ts: String(this.server.nowMs()),
      },
    ]);
  }

  private fundingRate(q: URLSearchParams): EmulatorResponse {
    const instrument = this.byInstId.get(q.get('instId') ?? '');
    if (instrument === undefined)
      return { status: 200, body: { code: '51001', msg: "Instrument ID doesn't exist", data: [] } };
    const interval = (this.intervalHours.get(instrument) as number) * HOUR_MS;
    const now = this.server.nowMs();
    const fundingTime = (Math.floor(now / interval) + 1) * interval;
    const f = this.exchange.funding(instrument);
    const simHours = this.exchange.config.funding.intervalMs / HOUR_MS;
    const rate = (f?.predictedRate ?? ZERO)
      .mul(this.intervalHours.get(instrument) as number)
      .div(simHours)
      .toDecimalPlaces(8);
    return ok([
      {
        instType: 'SWAP',
        instId: instId(instrument),
        method: 'current_period',
        fundingRate: rate.toFixed(),
        fundingTime: String(fundingTime),
        nextFundingRate: '',
        nextFundingTime: String(fundingTime + interval),
        minFundingRate: '-0.00375',
        maxFundingRate: '0.00375',
        settState: 'settled',
        settFundingRate: f?.lastSettledRate?.toFixed() ?? '0',
        premium: f ? f.markPrice.minus(f.indexPrice).div(f.indexPrice).toDecimalPlaces(8).toFixed() : '0',
        ts: String(now),
      },
    ]);
  }

  private balance(accountId: AccountId): Row {
    const b = this.exchange.balance(accountId);
    const now = String(this.server.nowMs());
    return {
      totalEq: b.equity.toFixed(),
      adjEq: b.equity.toFixed(),
      imr: b.initialMargin.toFixed(),
      mmr: b.maintenanceMargin.toFixed(),
      upl: b.unrealizedPnl.toFixed(),
      uTime: now,
      details: [
        {
          ccy: b.asset,
          eq: b.equity.toFixed(),
          cashBal: b.walletBalance.toFixed(),
          availBal: Decimal.max(b.available, ZERO).toFixed(),
          availEq: Decimal.max(b.available, ZERO).toFixed(),
          upl: b.unrealizedPnl.toFixed(),
          frozenBal: b.initialMargin.toFixed(),
          ordFrozen: '0',
          imr: b.initialMargin.toFixed(),
          mmr: b.maintenanceMargin.toFixed(),
          uTime: now,
        },
      ],
    };
  }

  private positions(accountId: AccountId): Row[] {
    return this.exchange.positions(accountId).map((p) => ({
      instType: 'SWAP',
      instId: instId(p.instrumentId),
      mgnMode: 'cross',
      posSide: 'net',
      pos: this.contracts(p.instrumentId, p.size),
      ccy: this.exchange.config.settleAsset,
      avgPx: p.entryPrice?.toFixed() ?? '',
      markPx: p.markPrice.toFixed(),
      upl: p.unrealizedPnl.toFixed(),
      liqPx: p.liquidationPrice?.toFixed() ?? '',
      lever: String(p.leverage),
      notionalUsd: p.size.abs().mul(p.markPrice).toFixed(),
      realizedPnl: p.realizedPnl.toFixed(),
      posId: `${p.instrumentId}`,
      cTime: String(p.asOfMs),
      uTime: String(p.asOfMs),
    }));
  }

  private find(
    accountId: AccountId,
    ordId: string | null | undefined,
    clOrdId: string | null | undefined,
  ): OrderView | undefined {
    if (ordId) return this.exchange.getOrder(accountId, { venueOrderId: ordId });
    if (clOrdId) return this.exchange.getOrder(accountId, { clientOrderId: clOrdId });
    return undefined;
  }

  private placeOrder(accountId: AccountId, body: Row): EmulatorResponse {
    const fail = (sCode: string, sMsg: string) => ({
      status: 200,
      body: {
        code: '1',
        msg: 'All operations failed',
        data: [{ ordId: '', clOrdId: body.clOrdId ?? '', tag: '', sCode, sMsg }],
      },
    });
    const instrument = this.byInstId.get(String(body.instId));
    if (instrument === undefined) return fail('51001', "Instrument ID doesn't exist");
    const clOrdId = typeof body.clOrdId === 'string' && body.clOrdId !== '' ? body.clOrdId : undefined;
    if (
      clOrdId !== undefined &&
      this.exchange.getOrder(accountId, { clientOrderId: clOrdId }) !== undefined
    ) {
      return fail('51016', 'Duplicated clOrdId');
    }
    const ordType = String(body.ordType);
    const type = ordType === 'market' ? 'market' : 'limit';
    const tif: TimeInForce =
      ordType === 'ioc' ? 'ioc' : ordType === 'fok' ? 'fok' : ordType === 'post_only' ? 'post_only' : 'gtc';
    const size = new Decimal(String(body.sz)).mul(this.ctVal(instrument));
    const result = this.exchange.placeOrder({
      accountId,
      instrumentId: instrument,
      side: body.side === 'buy' ? 'buy' : 'sell',
      type,
      ...(type === 'limit' ? { timeInForce: tif, price: String(body.px) } : {}),
      size,
      reduceOnly: body.reduceOnly === true || body.reduceOnly === 'true',
      ...(clOrdId === undefined ? {} : { clientOrderId: clOrdId }),
    });
    if (!result.ok) {
      const code =
        result.reject.code === 'insufficient_margin'
          ? '51008'
          : result.reject.code === 'post_only_would_cross'
            ? '51026'
            : '51000';
      return fail(code, result.reject.message);
    }
    return ok([
      {
        ordId: result.order.venueOrderId,
        clOrdId: clOrdId ?? '',
        tag: '',
        sCode: '0',
        sMsg: 'Order placed',
        ts: String(this.server.nowMs()),
      },
    ]);
  }

  private orderWire(o: OrderView, fill?: FillEvent): Row {
    const state =
      o.status === 'filled'
        ? 'filled'
        : o.status === 'partially_filled'
          ? 'partially_filled'
          : o.status === 'canceled' || o.status === 'expired'
            ? 'canceled'
            : 'live';
    const ordType = o.type === 'market' ? 'market' : o.timeInForce === 'gtc' ? 'limit' : o.timeInForce;
    return {
      instType: 'SWAP',
      instId: instId(o.instrumentId),
      ordId: o.venueOrderId,
      clOrdId: o.clientOrderId ?? '',
      tag: '',
      px: o.price?.toFixed() ?? '',
      sz: this.contracts(o.instrumentId, o.size),
      ordType,
      side: o.side,
      posSide: 'net',
      tdMode: 'cross',
      accFillSz: this.contracts(o.instrumentId, o.filledSize),
      avgPx: o.avgFillPrice?.toFixed() ?? '',
      fillPx: fill?.price.toFixed() ?? '',
      fillSz: fill ? this.contracts(o.instrumentId, fill.size) : '0',
      tradeId: fill?.tradeId ?? '',
      fillTime: fill ? String(fill.tsEventMs) : '',
      fillFee: fill ? fill.fee.neg().toFixed() : '0',
      fillFeeCcy: fill?.feeAsset ?? '',
      execType: fill ? (fill.liquidity === 'maker' ? 'M' : 'T') : '',
      state,
      reduceOnly: String(o.reduceOnly),
      fee: o.feesPaid.neg().toFixed(),
      feeCcy: this.exchange.config.settleAsset,
      lever: '20',
      cTime: String(o.createdMs),
      uTime: String(o.updatedMs),
    };
  }

  private fillWire(f: FillEvent): Row {
    const order = this.exchange.getOrder(f.accountId, { venueOrderId: f.venueOrderId });
    return {
      instType: 'SWAP',
      instId: instId(f.instrumentId),
      tradeId: f.tradeId,
      ordId: f.venueOrderId,
      clOrdId: f.clientOrderId ?? order?.clientOrderId ?? '',
      billId: f.tradeId,
      tag: '',
      fillPx: f.price.toFixed(),
      fillSz: this.contracts(f.instrumentId, f.size),
      side: f.side,
      posSide: 'net',
      execType: f.liquidity === 'maker' ? 'M' : 'T',
      feeCcy: f.feeAsset,
      // OKX: negative = charged.
      fee: f.fee.neg().toFixed(),
      ts: String(f.tsEventMs),
      fillTime: String(f.tsEventMs),
    };
  }

  // ------------------------------------------------------------------ websocket

  onWebSocket(socket: WebSocket, request: IncomingMessage): void {
    const isPrivate = (request.url ?? '').includes('/private');
    if (isPrivate) this.privateSockets.set(socket, undefined);
    const subs = new Set<string>();
    this.books.set(socket, subs);
    socket.on('close', () => {
      this.books.delete(socket);
      this.privateSockets.delete(socket);
    });
    socket.on('message', (data) => {
      const raw = String(data);
      if (raw === 'ping') return socket.send('pong');
      let frame: Row;
      try {
        frame = JSON.parse(raw) as Row;
      } catch {
        return sendJson(socket, { event: 'error', code: '60012', msg: `Invalid request: ${raw}` });
      }
      const args = (frame.args as Row[] | undefined) ?? [];
      if (frame.op === 'login') {
        const a = args[0] ?? {};
        const key = this.options.apiKeys.find((k) => k.apiKey === a.apiKey);
        const expected =
          key === undefined
            ? ''
            : hmacSha256(key.secret, `${String(a.timestamp)}GET/users/self/verify`, 'base64');
        if (
          key === undefined ||
          a.passphrase !== key.passphrase ||
          !sameSignature(expected, String(a.sign))
        ) {
          return sendJson(socket, { event: 'error', code: '60009', msg: 'Login failed.' });
        }
        this.privateSockets.set(socket, key.accountId);
        return sendJson(socket, { event: 'login', code: '0', msg: '', connId: 'emu' });
      }
      if (frame.op === 'subscribe') {
        for (const arg of args) {
          sendJson(socket, { event: 'subscribe', arg, connId: 'emu' });
          if (arg.channel === 'books' && typeof arg.instId === 'string') {
            subs.add(arg.instId);
            const instrument = this.byInstId.get(arg.instId);
            if (instrument !== undefined) this.sendBook(socket, instrument, 'snapshot', -1);
          }
        }
      }
    });
  }

  private sendBook(socket: WebSocket, instrument: InstrumentId, action: 'snapshot', prevSeqId: number): void {
    const book = this.exchange.bookSnapshot(instrument, 400);
    this.bookSeq.set(instrument, book.seq);
    sendJson(socket, {
      arg: { channel: 'books', instId: instId(instrument) },
      action,
      data: [
        {
          asks: this.levels(instrument, book.asks),
          bids: this.levels(instrument, book.bids),
          ts: String(this.server.nowMs()),
          checksum: 0,
          prevSeqId,
          seqId: book.seq,
        },
      ],
    });
  }

  onEvents(events: readonly SimEvent[]): void {
    for (const e of events) {
      if (e.type === 'book_delta') {
        const id = instId(e.instrumentId);
        if (this.server.faults.takeBookDeltaSkip(id)) continue;
        const frame = {
          arg: { channel: 'books', instId: id },
          action: 'update',
          data: [
            {
              asks: this.levels(e.instrumentId, e.asks),
              bids: this.levels(e.instrumentId, e.bids),
              ts: String(this.server.nowMs()),
              checksum: 0,
              prevSeqId: e.prevSeq,
              seqId: e.seq,
            },
          ],
        };
        for (const [socket, subs] of this.books) if (subs.has(id)) sendJson(socket, frame);
      } else if (e.type === 'funding_payment') {
        const list = this.fundingBills.get(e.accountId) ?? [];
        list.push({ billId: ++this.billSeq, event: e });
        this.fundingBills.set(e.accountId, list);
      } else if (e.type === 'fill') {
        this.fills.set(e.accountId, [...(this.fills.get(e.accountId) ?? []), e]);
        const order = this.exchange.getOrder(e.accountId, { venueOrderId: e.venueOrderId });
        if (order !== undefined) this.publishOrder(e.accountId, this.orderWire(order, e));
      } else if (
        e.type === 'order_update' &&
        e.order.status !== 'filled' &&
        e.order.status !== 'partially_filled'
      ) {
        this.publishOrder(e.accountId, this.orderWire(e.order));
      }
    }
  }

  private publishOrder(accountId: AccountId, order: Row): void {
    for (const [socket, owner] of this.privateSockets) {
      if (owner === accountId)
        sendJson(socket, { arg: { channel: 'orders', instType: 'SWAP', uid: 'emu' }, data: [order] });
    }
  }
}

/** An OKX error answer: HTTP 200 with the venue's code (ccxt maps it). */
function okxError(code: string, msg: string): EmulatorResponse {
  return { status: 200, body: { code, msg, data: [] } };
}

function ok(data: unknown): EmulatorResponse {
  return { status: 200, body: { code: '0', msg: '', data } };
}
