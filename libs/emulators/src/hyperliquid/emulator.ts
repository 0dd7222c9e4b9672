/**
 * Hyperliquid emulator: `POST /info` (metaAndAssetCtxs, l2Book, clearinghouseState,
 * orderStatus, openOrders, userFillsByTime, userFunding) and `POST /exchange` (order,
 * cancel, cancelByCloid, updateLeverage, scheduleCancel) in the venue's wire format, over a simulated
 * exchange (libs/sim); websocket `/ws` with `l2Book`, `orderUpdates` and `userFills`
 * subscriptions.
 *
 * Every exchange action is authenticated as on the venue: the EIP-712 signature of the
 * phantom agent over the action's hash is recovered (signing.ts) and must be the
 * account's address or one of its approved agents; a signer the venue does not know gets
 * the venue's "does not exist" answer. Nonces: each signer's nonces must be unused and
 * within the venue's time window; a reused one is refused. Orders carry `cloid` (16-byte
 * hex) as their client id.
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
import type { FillEvent, OrderView, SimEvent } from '@perpmesh/sim';
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
import { l1ActionDigest, recoverSigner, type WireSignature } from './signing.js';

const HOUR_MS = 3_600_000;
const DAY_MS = 24 * HOUR_MS;

export interface HyperliquidEmulatedUser {
  /** The account's address (lower or mixed case, 0x + 40 hex). */
  readonly address: string;
  /** Agent (API wallet) addresses allowed to sign for it, besides the address itself. */
  readonly agents?: readonly string[];
  readonly accountId: AccountId;
  /** USDC deposited when the emulator starts (> 0). */
  readonly deposit: string;
}

export interface HyperliquidEmulatorOptions {
  readonly market: EmulatorMarket;
  readonly users: readonly HyperliquidEmulatedUser[];
  /** Mainnet signatures use source 'a', testnet 'b'. Default false (mainnet). */
  readonly testnet?: boolean;
  readonly stepIntervalMs?: number;
  readonly faults?: FaultConfig;
  readonly port?: number;
}

type Row = Record<string, unknown>;

const TIF: Record<string, TimeInForce> = { Gtc: 'gtc', Ioc: 'ioc', Alo: 'post_only' };

export class HyperliquidEmulator implements VenueWire {
  readonly server: EmulatorServer;
  private readonly coins: InstrumentId[] = [];
  private readonly userByAddress = new Map<string, HyperliquidEmulatedUser>();
  private readonly userBySigner = new Map<string, HyperliquidEmulatedUser>();
  private readonly usedNonces = new Map<string, Set<number>>();
  /** Every nonce accepted, by signer (what a test checks for distinctness). */
  readonly acceptedNonces = new Map<string, number[]>();
  private readonly fills = new Map<AccountId, FillEvent[]>();
  private readonly funding = new Map<
    AccountId,
    { coin: string; amount: Decimal; rate: Decimal; size: Decimal; time: EpochMs }[]
  >();
  private readonly sockets = new Map<WebSocket, Row[]>();
  private baseUrl = '';

  constructor(private readonly options: HyperliquidEmulatorOptions) {
    this.server = new EmulatorServer({
      market: options.market,
      ...(options.stepIntervalMs === undefined ? {} : { stepIntervalMs: options.stepIntervalMs }),
      ...(options.faults === undefined ? {} : { faults: options.faults }),
      ...(options.port === undefined ? {} : { port: options.port }),
    });
    for (const spec of options.market.exchange.markets()) this.coins.push(spec.instrumentId);
    for (const user of options.users) {
      const address = user.address.toLowerCase();
      this.userByAddress.set(address, user);
      this.userBySigner.set(address, user);
      for (const agent of user.agents ?? []) this.userBySigner.set(agent.toLowerCase(), user);
      if (!options.market.exchange.hasAccount(user.accountId)) {
        options.market.exchange.deposit(user.accountId, user.deposit);
      }
    }
  }

  async start(): Promise<string> {
    this.baseUrl = await this.server.start(this);
    return this.baseUrl;
  }

  /** ccxt's `urls.api.ws.public`. */
  get wsUrl(): string {
    return `${this.baseUrl.replace('http://', 'ws://')}/ws`;
  }

  get exchange() {
    return this.options.market.exchange;
  }

  close(): Promise<void> {
    return this.server.close();
  }

  private coinOf(instrument: InstrumentId): string {
    return instrument.split('-')[0] as string;
  }

  private instrumentOfCoin(coin: unknown): InstrumentId | undefined {
    return this.coins.find((i) => this.coinOf(i) === coin);
  }

  faultResponse(kind: 'rate-limit' | 'server-error'): EmulatorResponse {
    return kind === 'rate-limit' ? { status: 429, body: null } : { status: 502, body: 'Bad Gateway' };
  }

  handle(request: EmulatorRequest): EmulatorResponse {
    if (request.method !== 'POST') return { status: 405, body: null };
    let body: Row;
    try {
      body = JSON.parse(request.rawBody) as Row;
    } catch {
      return { status: 422, body: 'Failed to deserialize the JSON body into the target type' };
    }
    if (request.path === '/info') return this.info(body);
    if (request.path === '/exchange') return this.exchangeAction(body);
    return { status: 404, body: null };
  }

  // ------------------------------------------------------------------ info

  private info(body: Row): EmulatorResponse {
    const user = typeof body.user === 'string' ? this.userByAddress.get(body.user.toLowerCase()) : undefined;
    switch (body.type) {
      case 'meta':
        return ok(this.meta());
      case 'metaAndAssetCtxs':
        return ok([this.meta(), this.coins.map((i) => this.assetCtx(i))]);
      case 'l2Book': {
        const instrument = this.instrumentOfCoin(body.coin);
        return ok(instrument === undefined ? null : this.l2Book(instrument));
      }
      case 'clearinghouseState':
        return ok(
          user === undefined ? emptyClearinghouse(this.server.nowMs()) : this.clearinghouse(user.accountId),
        );
      case 'orderStatus': {
        if (user === undefined) return ok({ status: 'unknownOid' });
        const order = this.findOrder(user.accountId, body.oid);
        return ok(
          order === undefined
            ? { status: 'unknownOid' }
            : { status: 'order', order: this.orderStatusEntry(order) },
        );
      }
      case 'openOrders':
      case 'frontendOpenOrders':
        return ok(
          user === undefined ? [] : this.exchange.openOrders(user.accountId).map((o) => this.orderWire(o)),
        );
      case 'userFills':
      case 'userFillsByTime': {
        if (user === undefined) return ok([]);
        const start = Number(body.startTime ?? 0);
        const end = Number(body.endTime ?? Number.MAX_SAFE_INTEGER);
        return ok(
          (this.fills.get(user.accountId) ?? [])
            .filter((f) => f.tsEventMs >= start && f.tsEventMs <= end)
            .map((f) => this.fillWire(f)),
        );
      }
      case 'userFunding': {
        if (user === undefined) return ok([]);
        const start = Number(body.startTime ?? 0);
        return ok(
          (this.funding.get(user.accountId) ?? [])
            .filter((f) => f.time >= start)
            .map((f) => ({
              time: f.time,
              hash: `0x${'0'.repeat(64)}`,
              delta: {
                type: 'funding',
                coin: f.coin,
                usdc: f.amount.toFixed(),
                szi: f.size.toFixed(),
                fundingRate: f.rate.toFixed(),
                nSamples: null,
              },
            })),
        );
      }
      case 'spotMeta':
        // Only the collateral token: this emulator lists perps.
        return ok({
          tokens: [
            {
              name: 'USDC',
              szDecimals: 8,
              weiDecimals: 8,
              index: 0,
              tokenId: `0x${'0'.repeat(32)}`,
              isCanonical: true,
              evmContract: null,
              fullName: null,
            },
          ],
          universe: [],
        });
      case 'userAbstraction':
        return ok('disabled');
      case 'exchangeStatus':
        return ok({ time: this.server.nowMs(), specialStatuses: null });
      default:
        return {
          status: 422,
          body: `Failed to deserialize the JSON body into the target type: unknown variant \`${String(body.type)}\``,
        };
    }
  }

  private meta(): Row {
    return {
      universe: this.exchange.markets().map((spec) => ({
        szDecimals: Math.max(0, spec.lotSize.decimalPlaces()),
        name: this.coinOf(spec.instrumentId),
        maxLeverage: spec.maxLeverage,
        marginTableId: spec.maxLeverage,
      })),
      marginTables: [],
    };
  }

  private assetCtx(instrument: InstrumentId): Row {
    const f = this.exchange.funding(instrument);
    const { bid, ask } = this.exchange.bestBidAsk(instrument);
    const mid = bid && ask ? bid.price.plus(ask.price).div(2) : f?.markPrice;
    return {
      funding: f?.predictedRate.toFixed() ?? '0',
      openInterest: '0',
      prevDayPx: f?.markPrice.toFixed() ?? '0',
      dayNtlVlm: '0',
      premium: f ? f.markPrice.minus(f.indexPrice).div(f.indexPrice).toDecimalPlaces(8).toFixed() : '0',
      oraclePx: f?.indexPrice.toFixed() ?? '0',
      markPx: f?.markPrice.toFixed() ?? '0',
      midPx: mid?.toFixed() ?? null,
      impactPxs: bid && ask ? [bid.price.toFixed(), ask.price.toFixed()] : null,
      dayBaseVlm: '0',
    };
  }

  private l2Book(instrument: InstrumentId): Row {
    const book = this.exchange.bookSnapshot(instrument, 20);
    const level = (l: { price: Decimal; size: Decimal }) => ({
      px: l.price.toFixed(),
      sz: l.size.toFixed(),
      n: 1,
    });
    return {
      coin: this.coinOf(instrument),
      time: this.server.nowMs(),
      levels: [book.bids.map(level), book.asks.map(level)],
    };
  }

  private clearinghouse(accountId: AccountId): Row {
    const b = this.exchange.balance(accountId);
    const positions = this.exchange.positions(accountId);
    const ntl = positions.reduce((s, p) => s.plus(p.size.abs().mul(p.markPrice)), ZERO);
    const summary = {
      accountValue: b.equity.toFixed(),
      totalNtlPos: ntl.toFixed(),
      totalRawUsd: b.walletBalance.toFixed(),
      totalMarginUsed: b.initialMargin.toFixed(),
    };
    return {
      marginSummary: summary,
      crossMarginSummary: summary,
      crossMaintenanceMarginUsed: b.maintenanceMargin.toFixed(),
      withdrawable: Decimal.max(b.available, ZERO).toFixed(),
      assetPositions: positions.map((p) => ({
        type: 'oneWay',
        position: {
          coin: this.coinOf(p.instrumentId),
          szi: p.size.toFixed(),
          leverage: { type: 'cross', value: p.leverage },
          entryPx: p.entryPrice?.toFixed() ?? null,
          positionValue: p.size.abs().mul(p.markPrice).toFixed(),
          unrealizedPnl: p.unrealizedPnl.toFixed(),
          returnOnEquity: '0',
          liquidationPx: p.liquidationPrice?.toFixed() ?? null,
          marginUsed: p.size.abs().mul(p.markPrice).div(p.leverage).toFixed(),
          maxLeverage: 40,
          cumFunding: { allTime: '0', sinceOpen: '0', sinceChange: '0' },
        },
      })),
      time: this.server.nowMs(),
    };
  }

  private findOrder(accountId: AccountId, oid: unknown): OrderView | undefined {
    if (typeof oid === 'string' && oid.startsWith('0x'))
      return this.exchange.getOrder(accountId, { clientOrderId: oid });
    if (typeof oid === 'number' || typeof oid === 'string')
      return this.exchange.getOrder(accountId, { venueOrderId: String(oid) });
    return undefined;
  }

  private orderWire(o: OrderView): Row {
    return {
      coin: this.coinOf(o.instrumentId),
      side: o.side === 'buy' ? 'B' : 'A',
      limitPx: o.price?.toFixed() ?? '0',
      sz: o.size.minus(o.filledSize).minus(o.unfilledSize).toFixed(),
      oid: Number(o.venueOrderId),
      timestamp: o.createdMs,
      origSz: o.size.toFixed(),
      cloid: o.clientOrderId ?? null,
      reduceOnly: o.reduceOnly,
      orderType: o.type === 'market' ? 'Market' : 'Limit',
      tif: o.timeInForce === 'post_only' ? 'Alo' : o.timeInForce === 'ioc' ? 'Ioc' : 'Gtc',
      triggerCondition: 'N/A',
      isTrigger: false,
      triggerPx: '0.0',
      isPositionTpsl: false,
      children: [],
    };
  }

  private orderStatusEntry(o: OrderView): Row {
    const status =
      o.status === 'filled'
        ? 'filled'
        : o.status === 'canceled' || o.status === 'expired'
          ? 'canceled'
          : o.status === 'rejected'
            ? 'rejected'
            : 'open';
    return { order: this.orderWire(o), status, statusTimestamp: o.updatedMs };
  }

  private fillWire(f: FillEvent): Row {
    return {
      coin: this.coinOf(f.instrumentId),
      px: f.price.toFixed(),
      sz: f.size.toFixed(),
      side: f.side === 'buy' ? 'B' : 'A',
      time: f.tsEventMs,
      startPosition: f.positionBefore.toFixed(),
      dir: f.isLiquidation ? 'Liquidation' : f.side === 'buy' ? 'Open Long' : 'Open Short',
      closedPnl: f.realizedPnl.toFixed(),
      hash: `0x${'0'.repeat(64)}`,
      oid: Number(f.venueOrderId),
      crossed: f.liquidity === 'taker',
      fee: f.fee.toFixed(),
      tid: Number(f.tradeId),
      feeToken: f.feeAsset,
      ...(f.clientOrderId === undefined ? {} : { cloid: f.clientOrderId }),
      ...(f.isLiquidation
        ? { liquidation: { liquidatedUser: null, markPx: f.price.toFixed(), method: 'market' } }
        : {}),
    };
  }

  // ------------------------------------------------------------------ exchange

  private exchangeAction(body: Row): EmulatorResponse {
    const action = body.action as Row | undefined;
    const nonce = body.nonce;
    const signature = body.signature as WireSignature | undefined;
    if (action === undefined || typeof nonce !== 'number' || signature === undefined) {
      return { status: 422, body: 'Failed to deserialize the JSON body into the target type' };
    }
    let signer: string;
    try {
      const vault = typeof body.vaultAddress === 'string' ? body.vaultAddress : undefined;
      signer = recoverSigner(l1ActionDigest(action, nonce, vault, this.options.testnet === true), signature);
    } catch {
      return ok({ status: 'err', response: 'Invalid signature' });
    }
    const user = this.userBySigner.get(signer);
    if (user === undefined) {
      return ok({ status: 'err', response: `User or API Wallet ${signer} does not exist.` });
    }
    const now = this.server.nowMs();
    const used = this.usedNonces.get(signer) ?? new Set<number>();
    if (used.has(nonce) || nonce < now - 2 * DAY_MS || nonce > now + DAY_MS) {
      return ok({
        status: 'err',
        response: `Invalid nonce: duplicate nonce or outside the allowed window (${nonce})`,
      });
    }
    used.add(nonce);
    this.usedNonces.set(signer, used);
    this.acceptedNonces.set(signer, [...(this.acceptedNonces.get(signer) ?? []), nonce]);
    switch (action.type) {
      case 'order':
        return ok({
          status: 'ok',
          response: {
            type: 'order',
            data: { statuses: (action.orders as Row[]).map((o) => this.placeOrder(user.accountId, o)) },
          },
        });
      case 'cancel':
        return ok({
          status: 'ok',
          response: {
            type: 'cancel',
            data: {
              statuses: (action.cancels as Row[]).map((c) =>
                this.cancel(user.accountId, { venueOrderId: String(c.o) }),
              ),
            },
          },
        });
      case 'cancelByCloid':
        return ok({
          status: 'ok',
          response: {
            type: 'cancel',
            data: {
              statuses: (action.cancels as Row[]).map((c) =>
                this.cancel(user.accountId, { clientOrderId: String(c.cloid) }),
              ),
            },
          },
        });
      case 'scheduleCancel': {
        // No time disarms; a time must be at least 5 s ahead (as the venue asks).
        if (action.time === undefined) {
          this.exchange.scheduleCancelAll({ accountId: user.accountId, afterMs: 0 });
          return ok({ status: 'ok', response: { type: 'default' } });
        }
        const afterMs = Number(action.time) - now;
        if (!Number.isSafeInteger(afterMs) || afterMs < 5_000) {
          return ok({
            status: 'err',
            response: 'Scheduled cancel time too early, must be at least 5 seconds from now.',
          });
        }
        const r = this.exchange.scheduleCancelAll({ accountId: user.accountId, afterMs });
        return ok(
          r.ok
            ? { status: 'ok', response: { type: 'default' } }
            : { status: 'err', response: r.reject.message },
        );
      }
      case 'updateLeverage': {
        const instrument = this.coins[Number(action.asset)];
        if (instrument === undefined) return ok({ status: 'err', response: 'Invalid asset' });
        const r = this.exchange.setLeverage({
          accountId: user.accountId,
          instrumentId: instrument,
          leverage: Number(action.leverage),
        });
        return ok(
          r.ok
            ? { status: 'ok', response: { type: 'default' } }
            : { status: 'err', response: r.reject.message },
        );
      }
      default:
        return ok({ status: 'err', response: `Unsupported action in this emulator: ${String(action.type)}` });
    }
  }

  private placeOrder(accountId: AccountId, o: Row): Row {
    const instrument = this.coins[Number(o.a)];
    if (instrument === undefined) return { error: 'Invalid asset.' };
    const t = (o.t as Row | undefined)?.limit as Row | undefined;
    if (t === undefined) return { error: 'Only limit orders are emulated (trigger orders are not).' };
    const tif = TIF[String(t.tif)];
    if (tif === undefined) return { error: `Invalid TIF ${String(t.tif)}` };
    const cloid = typeof o.c === 'string' ? o.c : undefined;
    if (cloid !== undefined && this.exchange.getOrder(accountId, { clientOrderId: cloid }) !== undefined) {
      return { error: 'Duplicate cloid.' };
    }
    const result = this.exchange.placeOrder({
      accountId,
      instrumentId: instrument,
      side: o.b === true ? 'buy' : 'sell',
      type: 'limit',
      timeInForce: tif,
      price: String(o.p),
      size: String(o.s),
      reduceOnly: o.r === true,
      ...(cloid === undefined ? {} : { clientOrderId: cloid }),
    });
    if (!result.ok) return { error: hyperliquidRejectText(result.reject.code, result.reject.message) };
    const order = result.order;
    const ids = { oid: Number(order.venueOrderId), ...(cloid === undefined ? {} : { cloid }) };
    if (order.status === 'filled') {
      return {
        filled: { totalSz: order.filledSize.toFixed(), avgPx: order.avgFillPrice?.toFixed() ?? '0', ...ids },
      };
    }
    if (order.status === 'canceled' || order.status === 'expired') {
      return order.filledSize.gt(0)
        ? {
            filled: {
              totalSz: order.filledSize.toFixed(),
              avgPx: order.avgFillPrice?.toFixed() ?? '0',
              ...ids,
            },
          }
        : { error: 'Order could not immediately match against any resting orders.' };
    }
    return { resting: ids };
  }

  private cancel(accountId: AccountId, ids: { venueOrderId?: string; clientOrderId?: string }): unknown {
    const order = this.exchange.getOrder(accountId, ids);
    const r =
      order === undefined
        ? undefined
        : this.exchange.cancelOrder({ accountId, venueOrderId: order.venueOrderId });
    return r?.ok ? 'success' : { error: 'Order was never placed, already canceled, or filled.' };
  }

  // ------------------------------------------------------------------ websocket

  onWebSocket(socket: WebSocket, _request: IncomingMessage): void {
    const subs: Row[] = [];
    this.sockets.set(socket, subs);
    socket.on('close', () => this.sockets.delete(socket));
    socket.on('message', (data) => {
      let frame: Row;
      try {
        frame = JSON.parse(String(data)) as Row;
      } catch {
        return;
      }
      if (frame.method === 'ping') return sendJson(socket, { channel: 'pong' });
      const subscription = frame.subscription as Row | undefined;
      if (subscription === undefined) return;
      if (frame.method === 'subscribe') {
        subs.push(subscription);
        sendJson(socket, { channel: 'subscriptionResponse', data: { method: 'subscribe', subscription } });
        if (subscription.type === 'l2Book') {
          const instrument = this.instrumentOfCoin(subscription.coin);
          if (instrument !== undefined)
            sendJson(socket, { channel: 'l2Book', data: this.l2Book(instrument) });
        }
        if (subscription.type === 'userFills') {
          sendJson(socket, {
            channel: 'userFills',
            data: { isSnapshot: true, user: subscription.user, fills: [] },
          });
        }
      } else if (frame.method === 'unsubscribe') {
        const i = subs.findIndex((s) => JSON.stringify(s) === JSON.stringify(subscription));
        if (i >= 0) subs.splice(i, 1);
        sendJson(socket, { channel: 'subscriptionResponse', data: { method: 'unsubscribe', subscription } });
      }
    });
  }

  private publish(match: (s: Row) => boolean, frame: unknown): void {
    for (const [socket, subs] of this.sockets) if (subs.some(match)) sendJson(socket, frame);
  }

  private addressOf(accountId: AccountId): string | undefined {
    for (const [address, user] of this.userByAddress) if (user.accountId === accountId) return address;
    return undefined;
  }

  onEvents(events: readonly SimEvent[]): void {
    const books = new Set<InstrumentId>();
    const fillsByAccount = new Map<AccountId, FillEvent[]>();
    for (const e of events) {
      if (e.type === 'book_delta') books.add(e.instrumentId);
      else if (e.type === 'fill') {
        this.fills.set(e.accountId, [...(this.fills.get(e.accountId) ?? []), e]);
        fillsByAccount.set(e.accountId, [...(fillsByAccount.get(e.accountId) ?? []), e]);
      } else if (e.type === 'order_update') {
        const address = this.addressOf(e.accountId);
        if (address === undefined) continue;
        this.publish((s) => s.type === 'orderUpdates' && String(s.user).toLowerCase() === address, {
          channel: 'orderUpdates',
          data: [this.orderStatusEntry(e.order)],
        });
      } else if (e.type === 'funding_payment') {
        this.funding.set(e.accountId, [
          ...(this.funding.get(e.accountId) ?? []),
          {
            coin: this.coinOf(e.instrumentId),
            amount: e.amount,
            rate: e.rate,
            size: e.positionSize,
            time: e.fundingTimeMs,
          },
        ]);
      }
    }
    for (const instrument of books) {
      const coin = this.coinOf(instrument);
      this.publish((s) => s.type === 'l2Book' && s.coin === coin, {
        channel: 'l2Book',
        data: this.l2Book(instrument),
      });
    }
    for (const [accountId, fills] of fillsByAccount) {
      const address = this.addressOf(accountId);
      if (address === undefined) continue;
      this.publish((s) => s.type === 'userFills' && String(s.user).toLowerCase() === address, {
        channel: 'userFills',
        data: { user: address, fills: fills.map((f) => this.fillWire(f)) },
      });
    }
  }
}

function ok(body: unknown): EmulatorResponse {
  return { status: 200, body };
}

function emptyClearinghouse(nowMs: EpochMs): Row {
  const zero = { accountValue: '0.0', totalNtlPos: '0.0', totalRawUsd: '0.0', totalMarginUsed: '0.0' };
  return {
    marginSummary: zero,
    crossMarginSummary: zero,
    crossMaintenanceMarginUsed: '0.0',
    withdrawable: '0.0',
    assetPositions: [],
    time: nowMs,
  };
}

function hyperliquidRejectText(code: string, message: string): string {
  switch (code) {
    case 'invalid_tick':
      return 'Price must be divisible by tick size.';
    case 'below_min_notional':
      return 'Order must have minimum value of $10.';
    case 'insufficient_margin':
    case 'insufficient_balance':
      return 'Insufficient margin to place order.';
    case 'post_only_would_cross':
      return 'Post only order would have immediately matched, bbo was 0.';
    case 'reduce_only_would_increase':
      return 'Reduce only order would increase position.';
    default:
      return message;
  }
}
