/**
 * Lighter emulator: the venue's REST API under `/api/v1` (orderBookDetails, orderBookOrders,
 * funding-rates, fundings, account, apikeys, nextNonce, sendTx, sendTxBatch, and with an auth token
 * accountActiveOrders, accountInactiveOrders, trades, positionFunding) and its websocket
 * `/stream` (order_book/{market}, account_all_orders/{account}, account_all_trades/{account})
 * in the venue's payload shapes, over a simulated exchange (libs/sim).
 *
 * What it checks as the venue does:
 * - every transaction's Schnorr signature (ECgFp5 / Poseidon2) against the public key
 *   registered for (account index, API key index): a wrong or placeholder `Sig` is refused
 *   (21120 invalid signature);
 * - nonces per (account, API key): above the last accepted one (gaps allowed), else 21104
 *   invalid nonce (nothing done); `nextNonce` answers last + 1;
 * - a client order index the account already used: 21728;
 * - the auth token of private reads (Authorization header or `auth` query): signed by a
 *   registered key of THAT account, deadline not passed and at most 8 h ahead.
 *
 * Refusals found while executing (post-only cross, margin, reduce-only) leave a canceled order
 * with the venue's status (`canceled-post-only`, ...), as on the venue; malformed amounts and
 * prices are sendTx errors. The order book lists one entry per price level.
 */
import type { IncomingMessage } from 'node:http';
import { type AccountId, Decimal, type InstrumentId, type TimeInForce, ZERO } from '@perpmesh/core';
import {
  LIGHTER_MAX_BATCH_TXS,
  LIGHTER_TX_ATTRIBUTE,
  LIGHTER_TX_TYPE,
  lighterFp5FromBytes,
  parseLighterAuthToken,
  parseLighterTxInfo,
  verifyLighterAuthToken,
  verifyLighterTxInfo,
} from '@perpmesh/signing';
import type { FillEvent, InstrumentSpec, OrderView, SimEvent } from '@perpmesh/sim';
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
import { LIGHTER_MARKET_IDS } from './config.js';

/** Lighter's error codes the emulator answers with (`{ code, message }`, HTTP 400). */
export const LIGHTER_ERROR = {
  invalidNonce: { code: 21104, message: 'invalid nonce' },
  invalidSignature: { code: 21120, message: 'invalid signature' },
  invalidExpiry: { code: 21711, message: 'invalid expiry' },
  invalidMarket: { code: 21602, message: 'invalid market index' },
  invalidTxInfo: { code: 21501, message: 'invalid tx info' },
  unsupportedTxType: { code: 21505, message: 'unsupported tx type' },
  invalidAmount: { code: 21706, message: 'invalid order base or quote amount' },
  invalidPrice: { code: 21702, message: 'invalid price' },
  invalidTimeInForce: { code: 21705, message: 'invalid OrderTimeInForce' },
  notActive: { code: 21715, message: 'given order is not an active order' },
  duplicateClientOrderIndex: { code: 21728, message: 'client order index already exists' },
  reduceOnlyIncreases: { code: 21732, message: 'reduce only increases position' },
  notEnoughMargin: { code: 21739, message: 'not enough margin to create the order' },
  invalidCancelAllTime: { code: 21714, message: 'invalid cancel all time' },
  invalidCancelAllTimeInForce: { code: 21713, message: 'invalid cancel all time in force' },
  invalidAuth: { code: 20013, message: 'invalid auth' },
  accountNotFound: { code: 21100, message: 'account not found' },
  tooManyRequests: { code: 23000, message: 'Too Many Requests!' },
} as const;

/** Order indexes are above 2^48 on Lighter; an index below is a client order index. */
export const LIGHTER_ORDER_INDEX_BASE = 2n ** 48n;
const MAX_AUTH_AHEAD_S = 8 * 3600;
const HOUR_MS = 3_600_000;
const MAX_KEPT = 20_000;
/** The most orders one `accountInactiveOrders` page holds on the venue. */
const INACTIVE_PAGE_MAX = 100;

/** An inactive-orders cursor: opaque to the client (base64 JSON naming the last order given). */
function inactiveCursor(venueOrderId: string): string {
  return Buffer.from(JSON.stringify({ index: venueOrderId })).toString('base64');
}

function inactiveCursorOrderId(cursor: string): string | undefined {
  try {
    const index = (JSON.parse(Buffer.from(cursor, 'base64').toString('utf8')) as { index?: unknown }).index;
    return typeof index === 'string' ? index : undefined;
  } catch {
    return undefined;
  }
}

export interface LighterEmulatedApiKey {
  readonly apiKeyIndex: number;
  /** The registered public key, 40 bytes as hex (what `apikeys` reports). */
  readonly publicKeyHex: string;
}

export interface LighterEmulatedAccount {
  readonly accountIndex: number;
  readonly accountId: AccountId;
  /** USDC deposited when the emulator starts (> 0). */
  readonly deposit: string;
  readonly apiKeys: readonly LighterEmulatedApiKey[];
  readonly l1Address?: string;
}

export interface LighterEmulatorOptions {
  readonly market: EmulatorMarket;
  readonly accounts: readonly LighterEmulatedAccount[];
  /** Chain id 300 (testnet) instead of 304 (mainnet) in every signature. Default false. */
  readonly testnet?: boolean;
  /** Shortest scheduled cancel-all the venue takes (ms ahead). Default 5 minutes. */
  readonly minScheduledCancelAllMs?: number;
  readonly stepIntervalMs?: number;
  readonly faults?: FaultConfig;
  readonly port?: number;
}

type Row = Record<string, unknown>;

interface MarketInfo {
  readonly id: number;
  readonly spec: InstrumentSpec;
  readonly symbol: string;
  readonly sizeDecimals: number;
  readonly priceDecimals: number;
}

interface OrderExtra {
  readonly clientOrderIndex: bigint;
  readonly nonce: bigint;
  readonly market: boolean;
}

interface ApiKeyState {
  readonly publicKey: Uint8Array;
  lastNonce: bigint;
}

class LighterTxError extends Error {
  constructor(readonly error: { code: number; message: string }) {
    super(error.message);
  }
}

export class LighterEmulator implements VenueWire {
  readonly server: EmulatorServer;
  readonly chainId: number;
  private readonly markets: MarketInfo[] = [];
  private readonly accountsByIndex = new Map<number, LighterEmulatedAccount>();
  private readonly accountIndexById = new Map<AccountId, number>();
  private readonly keys = new Map<string, ApiKeyState>();
  /** Every nonce accepted, by `${accountIndex}:${apiKeyIndex}` (what a test checks for reuse). */
  readonly acceptedNonces = new Map<string, bigint[]>();
  /** Every order accepted, by client order index (what a test checks for "exactly once"). */
  readonly acceptedClientOrderIndexes: bigint[] = [];
  private readonly extras = new Map<string, OrderExtra>();
  private readonly closed = new Map<AccountId, OrderView[]>();
  private readonly fills = new Map<AccountId, FillEvent[]>();
  private readonly funding = new Map<AccountId, Row[]>();
  private readonly fundingHistory = new Map<number, Row[]>();
  private readonly sockets = new Map<WebSocket, Set<string>>();
  private readonly lastBooks = new Map<number, { bids: Map<string, string>; asks: Map<string, string> }>();
  private readonly bookOffsets = new Map<number, number>();
  private baseUrl = '';

  constructor(private readonly options: LighterEmulatorOptions) {
    this.server = new EmulatorServer({
      market: options.market,
      ...(options.stepIntervalMs === undefined ? {} : { stepIntervalMs: options.stepIntervalMs }),
      ...(options.faults === undefined ? {} : { faults: options.faults }),
      ...(options.port === undefined ? {} : { port: options.port }),
    });
    this.chainId = options.testnet ? 300 : 304;
    let nextId = 2;
    for (const spec of options.market.exchange.markets()) {
      this.markets.push({
        id: LIGHTER_MARKET_IDS[spec.instrumentId] ?? nextId++,
        spec,
        symbol: spec.instrumentId.split('-')[0] as string,
        sizeDecimals: Math.max(0, spec.lotSize.decimalPlaces()),
        priceDecimals: Math.max(0, spec.tickSize.decimalPlaces()),
      });
    }
    for (const account of options.accounts) {
      this.accountsByIndex.set(account.accountIndex, account);
      this.accountIndexById.set(account.accountId, account.accountIndex);
      for (const key of account.apiKeys) {
        this.keys.set(keyOf(account.accountIndex, key.apiKeyIndex), {
          publicKey: new Uint8Array(Buffer.from(key.publicKeyHex.replace(/^0x/, ''), 'hex')),
          lastNonce: -1n,
        });
      }
      if (!options.market.exchange.hasAccount(account.accountId)) {
        options.market.exchange.deposit(account.accountId, account.deposit);
      }
    }
  }

  async start(): Promise<string> {
    this.baseUrl = await this.server.start(this);
    return this.baseUrl;
  }

  get wsUrl(): string {
    return `${this.baseUrl.replace('http://', 'ws://')}/stream`;
  }

  get exchange() {
    return this.options.market.exchange;
  }

  close(): Promise<void> {
    return this.server.close();
  }

  /** The venue's market id of an instrument. */
  marketId(instrument: InstrumentId): number {
    const m = this.markets.find((x) => x.spec.instrumentId === instrument);
    if (m === undefined) throw new Error(`lighter emulator: no market ${instrument}`);
    return m.id;
  }

  faultResponse(kind: 'rate-limit' | 'server-error'): EmulatorResponse {
    return kind === 'rate-limit'
      ? { status: 429, body: LIGHTER_ERROR.tooManyRequests }
      : { status: 502, body: 'Bad Gateway' };
  }

  handle(request: EmulatorRequest): EmulatorResponse {
    const query = new URLSearchParams(request.rawQuery);
    const route = request.path.replace(/^\/api\/v1\//, '');
    if (request.method === 'POST' && route === 'sendTx') return this.sendTx(request);
    if (request.method === 'POST' && route === 'sendTxBatch') return this.sendTxBatch(request);
    if (request.method !== 'GET') return { status: 405, body: null };
    switch (route) {
      case 'orderBookDetails':
        return ok({ order_book_details: this.marketsOf(query).map((m) => this.marketDetails(m)) });
      case 'orderBookOrders':
        return this.orderBookOrders(query);
      case 'funding-rates':
        return ok({
          funding_rates: this.markets.map((m) => ({
            market_id: m.id,
            exchange: 'lighter',
            symbol: m.symbol,
            // The 8-hour equivalent of the hourly rate (settled hourly as 1/8 of it).
            rate: Number(
              (this.exchange.funding(m.spec.instrumentId)?.predictedRate ?? ZERO).mul(8).toFixed(),
            ),
          })),
        });
      case 'fundings':
        return this.fundings(query);
      case 'account':
        return this.account(query);
      case 'apikeys':
        return this.apiKeys(query);
      case 'nextNonce': {
        const key = this.keys.get(
          keyOf(Number(query.get('account_index')), Number(query.get('api_key_index'))),
        );
        if (key === undefined) return fail(LIGHTER_ERROR.accountNotFound);
        return ok({ nonce: Number(key.lastNonce + 1n) });
      }
      case 'accountActiveOrders':
      case 'accountInactiveOrders':
      case 'trades':
      case 'positionFunding':
        return this.privateRead(route, request, query);
      default:
        return { status: 404, body: { code: 404, message: `no route ${request.path}` } };
    }
  }

  // ------------------------------------------------------------------ public reads

  private marketsOf(query: URLSearchParams): MarketInfo[] {
    const id = query.get('market_id');
    return id === null ? this.markets : this.markets.filter((m) => m.id === Number(id));
  }

  private marketById(id: unknown): MarketInfo | undefined {
    return this.markets.find((m) => m.id === Number(id));
  }

  private marketOf(instrument: InstrumentId): MarketInfo {
    return this.markets.find((m) => m.spec.instrumentId === instrument) as MarketInfo;
  }

  private marketDetails(m: MarketInfo): Row {
    const f = this.exchange.funding(m.spec.instrumentId);
    return {
      symbol: m.symbol,
      market_id: m.id,
      market_type: 'perp',
      status: 'active',
      taker_fee: this.exchange.config.takerFeeRate.toFixed(4),
      maker_fee: this.exchange.config.makerFeeRate.toFixed(4),
      liquidation_fee: '1.0000',
      min_base_amount: m.spec.lotSize.toFixed(),
      min_quote_amount: m.spec.minNotional.toFixed(),
      supported_size_decimals: m.sizeDecimals,
      supported_price_decimals: m.priceDecimals,
      supported_quote_decimals: 6,
      size_decimals: m.sizeDecimals,
      price_decimals: m.priceDecimals,
      quote_multiplier: 1,
      default_initial_margin_fraction: Math.round(10_000 / m.spec.maxLeverage),
      min_initial_margin_fraction: Math.round(10_000 / m.spec.maxLeverage),
      maintenance_margin_fraction: Number(m.spec.maintenanceMarginRate.mul(10_000).toFixed(0)),
      closeout_margin_fraction: Number(m.spec.maintenanceMarginRate.mul(5_000).toFixed(0)),
      last_trade_price: Number(f?.markPrice.toFixed() ?? 0),
      daily_trades_count: 0,
      daily_base_token_volume: 0,
      daily_quote_token_volume: 0,
      open_interest: 0,
    };
  }

  private orderBookOrders(query: URLSearchParams): EmulatorResponse {
    const m = this.marketById(query.get('market_id'));
    if (m === undefined) return fail(LIGHTER_ERROR.invalidMarket);
    const limit = Math.min(250, Math.max(1, Number(query.get('limit') ?? 100)));
    const book = this.exchange.bookSnapshot(m.spec.instrumentId, limit);
    const entry = (side: 'a' | 'b') => (l: { price: Decimal; size: Decimal }, i: number) => ({
      order_index: Number(LIGHTER_ORDER_INDEX_BASE) + i * 2 + (side === 'a' ? 1 : 0),
      order_id: String(Number(LIGHTER_ORDER_INDEX_BASE) + i * 2 + (side === 'a' ? 1 : 0)),
      owner_account_index: 0,
      initial_base_amount: l.size.toFixed(m.sizeDecimals),
      remaining_base_amount: l.size.toFixed(m.sizeDecimals),
      price: l.price.toFixed(m.priceDecimals),
      order_expiry: 0,
    });
    return ok({
      total_asks: book.asks.length,
      asks: book.asks.map(entry('a')),
      total_bids: book.bids.length,
      bids: book.bids.map(entry('b')),
    });
  }

  /** Settled funding of a market, hourly: `rate` in percent, its sign in `direction`. */
  private fundings(query: URLSearchParams): EmulatorResponse {
    const m = this.marketById(query.get('market_id'));
    if (m === undefined) return fail(LIGHTER_ERROR.invalidMarket);
    const start = Number(query.get('start_timestamp') ?? 0);
    const end = Number(query.get('end_timestamp') ?? Number.MAX_SAFE_INTEGER);
    const rows = (this.fundingHistory.get(m.id) ?? []).filter(
      (r) => (r.timestamp as number) >= start && (r.timestamp as number) <= end,
    );
    const countBack = Number(query.get('count_back') ?? rows.length);
    return ok({ resolution: '1h', fundings: rows.slice(-countBack) });
  }

  private account(query: URLSearchParams): EmulatorResponse {
    const by = query.get('by') ?? 'index';
    const value = query.get('value');
    const account =
      by === 'index'
        ? this.accountsByIndex.get(Number(value))
        : [...this.accountsByIndex.values()].find((a) => this.l1Address(a) === value?.toLowerCase());
    if (account === undefined) return fail(LIGHTER_ERROR.accountNotFound);
    const b = this.exchange.balance(account.accountId);
    const positions = this.exchange.positions(account.accountId).filter((p) => !p.size.isZero());
    return ok({
      total: 1,
      accounts: [
        {
          code: 0,
          account_type: 0,
          index: account.accountIndex,
          l1_address: this.l1Address(account),
          cancel_all_time: this.exchange.cancelAllDeadline(account.accountId) ?? 0,
          total_order_count: this.exchange.openOrderCount(account.accountId),
          total_isolated_order_count: 0,
          pending_order_count: 0,
          available_balance: Decimal.max(b.available, ZERO).toFixed(6),
          status: 1,
          collateral: b.walletBalance.toFixed(6),
          account_index: account.accountIndex,
          name: '',
          description: '',
          can_invite: true,
          referral_points_percentage: '',
          positions: positions.map((p) => {
            const m = this.marketOf(p.instrumentId);
            return {
              market_id: m.id,
              symbol: m.symbol,
              initial_margin_fraction: new Decimal(100).div(p.leverage).toFixed(2),
              open_order_count: this.exchange.openOrderCount(account.accountId, p.instrumentId),
              pending_order_count: 0,
              position_tied_order_count: 0,
              sign: p.size.isNeg() ? -1 : 1,
              position: p.size.abs().toFixed(m.sizeDecimals),
              avg_entry_price: p.entryPrice?.toFixed() ?? '0',
              position_value: p.size.abs().mul(p.markPrice).toFixed(6),
              unrealized_pnl: p.unrealizedPnl.toFixed(6),
              realized_pnl: p.realizedPnl.toFixed(6),
              liquidation_price: p.liquidationPrice?.toFixed() ?? '0',
              margin_mode: 0,
              allocated_margin: '0.000000',
            };
          }),
          assets: [],
          total_asset_value: b.equity.toFixed(6),
          cross_asset_value: b.equity.toFixed(6),
          shares: [],
        },
      ],
    });
  }

  private apiKeys(query: URLSearchParams): EmulatorResponse {
    const accountIndex = Number(query.get('account_index'));
    const account = this.accountsByIndex.get(accountIndex);
    if (account === undefined) return fail(LIGHTER_ERROR.accountNotFound);
    const wanted = query.get('api_key_index');
    return ok({
      api_keys: account.apiKeys
        .filter((k) => wanted === null || wanted === '255' || Number(wanted) === k.apiKeyIndex)
        .map((k) => ({
          account_index: accountIndex,
          api_key_index: k.apiKeyIndex,
          nonce: Number((this.keys.get(keyOf(accountIndex, k.apiKeyIndex)) as ApiKeyState).lastNonce + 1n),
          public_key: k.publicKeyHex.replace(/^0x/, ''),
        })),
    });
  }

  private l1Address(account: LighterEmulatedAccount): string {
    return (account.l1Address ?? `0x${account.accountIndex.toString(16).padStart(40, '0')}`).toLowerCase();
  }

  // ------------------------------------------------------------------ private reads

  /** The account a valid auth token speaks for; a refusal otherwise. */
  private authorize(
    token: string | undefined,
    accountIndex: number,
  ): LighterEmulatedAccount | EmulatorResponse {
    if (token === undefined || token === '') return fail(LIGHTER_ERROR.invalidAuth, 'auth token missing');
    let parsed: ReturnType<typeof parseLighterAuthToken>;
    try {
      parsed = parseLighterAuthToken(token);
    } catch {
      return fail(LIGHTER_ERROR.invalidAuth, 'malformed auth token');
    }
    const nowS = BigInt(Math.floor(this.server.nowMs() / 1000));
    if (parsed.deadlineUnixSeconds <= nowS) return fail(LIGHTER_ERROR.invalidAuth, 'auth token expired');
    if (parsed.deadlineUnixSeconds > nowS + BigInt(MAX_AUTH_AHEAD_S) + 60n) {
      return fail(LIGHTER_ERROR.invalidAuth, 'auth token deadline too far ahead');
    }
    if (parsed.accountIndex !== BigInt(accountIndex)) {
      return fail(LIGHTER_ERROR.invalidAuth, 'auth token is for another account');
    }
    const key = this.keys.get(keyOf(accountIndex, Number(parsed.apiKeyIndex)));
    if (key === undefined || !verifyLighterAuthToken(token, lighterFp5FromBytes(key.publicKey))) {
      return fail(LIGHTER_ERROR.invalidAuth, 'auth token signature');
    }
    return this.accountsByIndex.get(accountIndex) as LighterEmulatedAccount;
  }

  private privateRead(route: string, request: EmulatorRequest, query: URLSearchParams): EmulatorResponse {
    const header = request.headers.authorization;
    const token = (typeof header === 'string' ? header : undefined) ?? query.get('auth') ?? undefined;
    const account = this.authorize(token, Number(query.get('account_index')));
    if ('status' in account) return account;
    const market = query.get('market_id');
    const inMarket = (instrument: InstrumentId) =>
      market === null || market === '255' || this.marketOf(instrument).id === Number(market);
    const limit = Math.min(
      route === 'accountInactiveOrders' ? INACTIVE_PAGE_MAX : 1000,
      Math.max(1, Number(query.get('limit') ?? 100)),
    );
    switch (route) {
      case 'accountActiveOrders':
        return ok({
          orders: this.exchange
            .openOrders(account.accountId)
            .filter((o) => inMarket(o.instrumentId))
            .map((o) => this.orderWire(account, o)),
        });
      case 'accountInactiveOrders': {
        // Newest first, as the venue pages them; `cursor` continues after the order it names
        // (`next_cursor` of the page before, empty on the last page).
        const rows = (this.closed.get(account.accountId) ?? [])
          .filter((o) => inMarket(o.instrumentId))
          .reverse();
        const cursor = query.get('cursor');
        let start = 0;
        if (cursor !== null && cursor !== '') {
          const after = inactiveCursorOrderId(cursor);
          if (after === undefined) return fail({ code: 21500, message: 'invalid cursor' });
          start = rows.findIndex((o) => o.venueOrderId === after) + 1;
          // The order it names is no longer kept: nothing older either.
          if (start === 0) start = rows.length;
        }
        const page = rows.slice(start, start + limit);
        const last = page[page.length - 1];
        return ok({
          orders: page.map((o) => this.orderWire(account, o)),
          next_cursor:
            start + limit < rows.length && last !== undefined ? inactiveCursor(last.venueOrderId) : '',
        });
      }
      case 'trades': {
        const from = Number(query.get('from') ?? 0);
        const rows = (this.fills.get(account.accountId) ?? []).filter(
          (f) => inMarket(f.instrumentId) && f.tsEventMs >= from,
        );
        return ok({ trades: rows.slice(0, limit).map((f) => this.tradeWire(account, f)) });
      }
      default: {
        const rows = (this.funding.get(account.accountId) ?? []).filter((r) =>
          inMarket((this.marketById(r.market_id) as MarketInfo).spec.instrumentId),
        );
        return ok({ position_fundings: rows.slice(-limit) });
      }
    }
  }

  private orderWire(account: LighterEmulatedAccount, o: OrderView): Row {
    const m = this.marketOf(o.instrumentId);
    const extra = this.extras.get(o.venueOrderId);
    const orderIndex = LIGHTER_ORDER_INDEX_BASE + BigInt(o.venueOrderId);
    const remaining = o.size.minus(o.filledSize).minus(o.unfilledSize);
    const filledQuote = o.avgFillPrice === undefined ? ZERO : o.avgFillPrice.mul(o.filledSize);
    return {
      order_index: Number(orderIndex),
      client_order_index: Number(extra?.clientOrderIndex ?? 0n),
      order_id: orderIndex.toString(),
      client_order_id: (extra?.clientOrderIndex ?? 0n).toString(),
      market_index: m.id,
      owner_account_index: account.accountIndex,
      initial_base_amount: o.size.toFixed(m.sizeDecimals),
      price: (o.price ?? ZERO).toFixed(m.priceDecimals),
      nonce: Number(extra?.nonce ?? 0n),
      remaining_base_amount: remaining.toFixed(m.sizeDecimals),
      is_ask: o.side === 'sell',
      base_size: Number(remaining.mul(10 ** m.sizeDecimals).toFixed(0)),
      base_price: Number((o.price ?? ZERO).mul(10 ** m.priceDecimals).toFixed(0)),
      filled_base_amount: o.filledSize.toFixed(m.sizeDecimals),
      filled_quote_amount: filledQuote.toFixed(6),
      side: '',
      type: extra?.market ? 'market' : 'limit',
      time_in_force:
        o.timeInForce === 'post_only'
          ? 'post-only'
          : o.timeInForce === 'gtc'
            ? 'good-till-time'
            : 'immediate-or-cancel',
      reduce_only: o.reduceOnly,
      trigger_price: '0.00',
      order_expiry: 0,
      status: lighterStatus(o),
      trigger_status: 'na',
      trigger_time: 0,
      parent_order_index: 0,
      parent_order_id: '0',
      block_height: 0,
      timestamp: Math.floor(o.updatedMs / 1000),
      created_at: Math.floor(o.createdMs / 1000),
      updated_at: Math.floor(o.updatedMs / 1000),
    };
  }

  private tradeWire(account: LighterEmulatedAccount, f: FillEvent): Row {
    const m = this.marketOf(f.instrumentId);
    const mine = LIGHTER_ORDER_INDEX_BASE + BigInt(f.venueOrderId);
    const clientIndex = this.extras.get(f.venueOrderId)?.clientOrderIndex ?? 0n;
    const isAsk = f.side === 'sell';
    const makerIsAsk = f.liquidity === 'maker' ? isAsk : !isAsk;
    const fee = f.fee.toFixed();
    return {
      trade_id: Number(f.tradeId),
      tx_hash: '0'.repeat(64),
      type: f.isLiquidation ? 'liquidation' : 'trade',
      market_id: m.id,
      size: f.size.toFixed(m.sizeDecimals),
      price: f.price.toFixed(m.priceDecimals),
      usd_amount: f.size.mul(f.price).toFixed(6),
      ask_id: isAsk ? Number(mine) : 0,
      bid_id: isAsk ? 0 : Number(mine),
      ask_client_id: isAsk ? Number(clientIndex) : 0,
      bid_client_id: isAsk ? 0 : Number(clientIndex),
      ask_account_id: isAsk ? account.accountIndex : 0,
      bid_account_id: isAsk ? 0 : account.accountIndex,
      is_maker_ask: makerIsAsk,
      block_height: 0,
      timestamp: f.tsEventMs,
      taker_fee: f.liquidity === 'taker' ? fee : '0',
      maker_fee: f.liquidity === 'maker' ? fee : '0',
    };
  }

  // ------------------------------------------------------------------ transactions

  private sendTx(request: EmulatorRequest): EmulatorResponse {
    const form = readForm(request);
    const txType = Number(form.tx_type);
    const txInfo = form.tx_info;
    if (!Number.isInteger(txType) || typeof txInfo !== 'string') return fail(LIGHTER_ERROR.invalidTxInfo);
    const result = this.applyTx(txType, txInfo);
    if (!result.ok) return fail(result.error, result.detail);
    return ok({
      message: '{"ratelimit": "didn\'t use volume quota"}',
      tx_hash: result.hash,
      predicted_execution_time_ms: this.server.nowMs() + 1,
      volume_quota_remaining: 1000,
    });
  }

  /**
   * `sendTxBatch`: `tx_types` / `tx_infos` JSON arrays of one length, at most
   * `LIGHTER_MAX_BATCH_TXS`. Each transaction is checked and applied as sendTx does one, in
   * order; the first refusal stops the batch and answers its code with `tx_hash` listing the
   * transactions taken before it (the ones after it are not looked at, their nonces not used).
   */
  private sendTxBatch(request: EmulatorRequest): EmulatorResponse {
    const form = new URLSearchParams(request.rawBody);
    let txTypes: unknown;
    let txInfos: unknown;
    try {
      txTypes = JSON.parse(form.get('tx_types') ?? '');
      txInfos = JSON.parse(form.get('tx_infos') ?? '');
    } catch {
      return fail(LIGHTER_ERROR.invalidTxInfo, 'tx_types and tx_infos must be JSON arrays');
    }
    if (
      !Array.isArray(txTypes) ||
      !Array.isArray(txInfos) ||
      txTypes.length !== txInfos.length ||
      txTypes.length === 0 ||
      txTypes.length > LIGHTER_MAX_BATCH_TXS ||
      !txInfos.every((info) => typeof info === 'string')
    ) {
      return fail(
        LIGHTER_ERROR.invalidTxInfo,
        `tx_types and tx_infos: arrays of one length, 1 to ${LIGHTER_MAX_BATCH_TXS}`,
      );
    }
    const hashes: string[] = [];
    for (const [n, txInfo] of (txInfos as string[]).entries()) {
      const result = this.applyTx(Number(txTypes[n]), txInfo);
      if (!result.ok) {
        const refused = fail(result.error, result.detail);
        return { ...refused, body: { ...(refused.body as Row), tx_hash: hashes } };
      }
      hashes.push(result.hash);
    }
    return ok({
      message: '{"ratelimit": "didn\'t use volume quota"}',
      tx_hash: hashes,
      predicted_execution_time_ms: this.server.nowMs() + 1,
      volume_quota_remaining: 1000,
    });
  }

  /** One transaction checked as the venue does (type, body, signature, nonce, expiry) and applied. */
  private applyTx(
    txType: number,
    txInfo: string,
  ): { ok: true; hash: string } | { ok: false; error: { code: number; message: string }; detail?: string } {
    if (!Number.isInteger(txType) || !Object.values(LIGHTER_TX_TYPE).includes(txType as never))
      return { ok: false, error: LIGHTER_ERROR.unsupportedTxType };
    let parsed: ReturnType<typeof parseLighterTxInfo>;
    try {
      parsed = parseLighterTxInfo(txType, txInfo);
    } catch (err) {
      return { ok: false, error: LIGHTER_ERROR.invalidTxInfo, detail: (err as Error).message };
    }
    const tx = parsed.tx as unknown as Record<string, bigint>;
    const accountIndex = Number(tx.accountIndex);
    const apiKeyIndex = Number(tx.apiKeyIndex);
    const key = this.keys.get(keyOf(accountIndex, apiKeyIndex));
    const account = this.accountsByIndex.get(accountIndex);
    if (key === undefined || account === undefined)
      return { ok: false, error: LIGHTER_ERROR.accountNotFound };
    if (!verifyLighterTxInfo(txType, txInfo, this.chainId, key.publicKey)) {
      return { ok: false, error: LIGHTER_ERROR.invalidSignature };
    }
    const nonce = tx.nonce as bigint;
    if (nonce <= key.lastNonce) return { ok: false, error: LIGHTER_ERROR.invalidNonce };
    if ((tx.expiredAt as bigint) <= BigInt(this.server.nowMs()))
      return { ok: false, error: LIGHTER_ERROR.invalidExpiry };
    // Consumed from here on, even when the action is refused, as on the venue.
    key.lastNonce = nonce;
    const k = keyOf(accountIndex, apiKeyIndex);
    const accepted = this.acceptedNonces.get(k) ?? [];
    accepted.push(nonce);
    this.acceptedNonces.set(k, accepted);
    try {
      if (txType === LIGHTER_TX_TYPE.createOrder) this.createOrder(account, tx, nonce);
      else if (txType === LIGHTER_TX_TYPE.cancelOrder) this.cancelOrder(account, tx);
      else if (txType === LIGHTER_TX_TYPE.cancelAllOrders) this.cancelAll(account, tx, parsed.attributes);
      else if (txType === LIGHTER_TX_TYPE.updateLeverage) this.updateLeverage(account, tx);
      else return { ok: false, error: LIGHTER_ERROR.unsupportedTxType };
    } catch (err) {
      if (err instanceof LighterTxError) return { ok: false, error: err.error };
      throw err;
    }
    return { ok: true, hash: Buffer.from(parsed.signature.subarray(0, 32)).toString('hex') };
  }

  private createOrder(account: LighterEmulatedAccount, tx: Record<string, bigint>, nonce: bigint): void {
    const m = this.marketById(tx.marketIndex);
    if (m === undefined) throw new LighterTxError(LIGHTER_ERROR.invalidMarket);
    const clientOrderIndex = tx.clientOrderIndex as bigint;
    const clientOrderId = clientOrderIndex === 0n ? undefined : clientOrderIndex.toString();
    if (clientOrderId !== undefined && this.exchange.getOrder(account.accountId, { clientOrderId })) {
      throw new LighterTxError(LIGHTER_ERROR.duplicateClientOrderIndex);
    }
    if ((tx.baseAmount as bigint) <= 0n) throw new LighterTxError(LIGHTER_ERROR.invalidAmount);
    if ((tx.price as bigint) <= 0n) throw new LighterTxError(LIGHTER_ERROR.invalidPrice);
    const size = new Decimal((tx.baseAmount as bigint).toString()).div(10 ** m.sizeDecimals);
    const price = new Decimal((tx.price as bigint).toString()).div(10 ** m.priceDecimals);
    const isMarket = tx.orderType === 1n;
    const tif: TimeInForce | undefined = isMarket
      ? 'ioc'
      : ({ 0: 'ioc', 1: 'gtc', 2: 'post_only' } as Record<string, TimeInForce>)[String(tx.timeInForce)];
    if (tif === undefined || (tx.orderType !== 0n && tx.orderType !== 1n)) {
      throw new LighterTxError(LIGHTER_ERROR.invalidTimeInForce);
    }
    // A market order is an IOC at its worst acceptable price, which it carries.
    const result = this.exchange.placeOrder({
      accountId: account.accountId,
      instrumentId: m.spec.instrumentId,
      side: tx.isAsk === 1n ? 'sell' : 'buy',
      type: 'limit',
      timeInForce: tif,
      price,
      size,
      reduceOnly: tx.reduceOnly === 1n,
      ...(clientOrderId === undefined ? {} : { clientOrderId }),
    });
    if (!result.ok) {
      // Refusals the venue finds while executing (not at sendTx) leave a canceled order behind.
      if (result.order === undefined || !EXECUTION_REJECTS.has(result.reject.code)) {
        throw new LighterTxError(rejectError(result.reject.code, result.reject.message));
      }
      this.extras.set(result.order.venueOrderId, { clientOrderIndex, nonce, market: isMarket });
      return;
    }
    this.extras.set(result.order.venueOrderId, { clientOrderIndex, nonce, market: isMarket });
    this.acceptedClientOrderIndexes.push(clientOrderIndex);
  }

  private cancelOrder(account: LighterEmulatedAccount, tx: Record<string, bigint>): void {
    const index = tx.index as bigint;
    const order =
      index >= LIGHTER_ORDER_INDEX_BASE
        ? this.exchange.getOrder(account.accountId, {
            venueOrderId: (index - LIGHTER_ORDER_INDEX_BASE).toString(),
          })
        : this.exchange.getOrder(account.accountId, { clientOrderId: index.toString() });
    const m = this.marketById(tx.marketIndex);
    if (order === undefined || m === undefined || order.instrumentId !== m.spec.instrumentId) {
      throw new LighterTxError(LIGHTER_ERROR.notActive);
    }
    const r = this.exchange.cancelOrder({ accountId: account.accountId, venueOrderId: order.venueOrderId });
    if (!r.ok) throw new LighterTxError(LIGHTER_ERROR.notActive);
  }

  /** TimeInForce 0: now; 1: at `Time` (ms; the dead-man switch); 2: abort the scheduled one. */
  private cancelAll(
    account: LighterEmulatedAccount,
    tx: Record<string, bigint>,
    attributes: Readonly<Record<number, bigint | number>> | undefined,
  ): void {
    const mode = Number(tx.timeInForce);
    if (mode === 0) {
      // Attribute 5 (CancelAllMarketIndex) limits it to one market; 255 (nil) is every market.
      const marketIndex = attributes?.[LIGHTER_TX_ATTRIBUTE.cancelAllMarketIndex];
      const m =
        marketIndex === undefined || Number(marketIndex) === 255 ? undefined : this.marketById(marketIndex);
      if (marketIndex !== undefined && Number(marketIndex) !== 255 && m === undefined) {
        throw new LighterTxError(LIGHTER_ERROR.invalidMarket);
      }
      this.exchange.cancelAllOrders({
        accountId: account.accountId,
        ...(m === undefined ? {} : { instrumentId: m.spec.instrumentId }),
      });
      return;
    }
    if (mode === 2) {
      this.exchange.scheduleCancelAll({ accountId: account.accountId, afterMs: 0 });
      return;
    }
    if (mode !== 1) throw new LighterTxError(LIGHTER_ERROR.invalidCancelAllTimeInForce);
    const afterMs = Number(tx.time as bigint) - this.server.nowMs();
    const min = this.options.minScheduledCancelAllMs ?? 5 * 60_000;
    if (!Number.isSafeInteger(afterMs) || afterMs < min || afterMs > 15 * 24 * HOUR_MS) {
      throw new LighterTxError(LIGHTER_ERROR.invalidCancelAllTime);
    }
    this.exchange.scheduleCancelAll({ accountId: account.accountId, afterMs });
  }

  private updateLeverage(account: LighterEmulatedAccount, tx: Record<string, bigint>): void {
    const m = this.marketById(tx.marketIndex);
    if (m === undefined) throw new LighterTxError(LIGHTER_ERROR.invalidMarket);
    const fraction = Number(tx.initialMarginFraction);
    const r = this.exchange.setLeverage({
      accountId: account.accountId,
      instrumentId: m.spec.instrumentId,
      leverage: fraction > 0 ? Math.round(10_000 / fraction) : 0,
    });
    if (!r.ok) throw new LighterTxError({ code: 21604, message: 'invalid margin fractions for market' });
  }

  // ------------------------------------------------------------------ websocket

  onWebSocket(socket: WebSocket, _request: IncomingMessage): void {
    const channels = new Set<string>();
    this.sockets.set(socket, channels);
    socket.on('close', () => this.sockets.delete(socket));
    sendJson(socket, { type: 'connected', session_id: String(Math.random()).slice(2) });
    socket.on('message', (data) => {
      let frame: Row;
      try {
        frame = JSON.parse(String(data)) as Row;
      } catch {
        return;
      }
      if (frame.type === 'ping') return sendJson(socket, { type: 'pong' });
      const channel = typeof frame.channel === 'string' ? frame.channel : '';
      if (frame.type === 'unsubscribe') {
        channels.delete(channel);
        return;
      }
      if (frame.type !== 'subscribe') return;
      const [name, id] = channel.split('/');
      if (name === 'order_book') {
        const m = this.marketById(id);
        if (m === undefined) return sendJson(socket, { type: 'error', ...LIGHTER_ERROR.invalidMarket });
        channels.add(channel);
        // The book now; later deltas set absolute level sizes, so ones it already has are harmless.
        const book = this.bookLevels(m);
        const offset = this.bookOffsets.get(m.id) ?? 0;
        sendJson(socket, {
          type: 'subscribed/order_book',
          channel: `order_book:${m.id}`,
          offset,
          order_book: { code: 0, asks: levels(book.asks), bids: levels(book.bids), offset },
        });
        return;
      }
      if (name === 'account_all_orders' || name === 'account_all_trades') {
        const account = this.authorize(frame.auth as string | undefined, Number(id));
        if ('status' in account) return sendJson(socket, { type: 'error', ...(account.body as Row) });
        channels.add(channel);
        sendJson(
          socket,
          name === 'account_all_orders'
            ? { type: 'subscribed/account_all_orders', channel: `account_all_orders:${id}`, orders: {} }
            : { type: 'subscribed/account_all_trades', channel: `account_all_trades:${id}`, trades: {} },
        );
        return;
      }
      sendJson(socket, { type: 'error', code: 30005, message: `invalid channel ${channel}` });
    });
  }

  private bookLevels(m: MarketInfo): { bids: Map<string, string>; asks: Map<string, string> } {
    const snap = this.exchange.bookSnapshot(m.spec.instrumentId, 50);
    const side = (ls: readonly { price: Decimal; size: Decimal }[]) =>
      new Map(ls.map((l) => [l.price.toFixed(m.priceDecimals), l.size.toFixed(m.sizeDecimals)]));
    return { bids: side(snap.bids), asks: side(snap.asks) };
  }

  private publish(channel: string, frame: unknown): void {
    for (const [socket, channels] of this.sockets) if (channels.has(channel)) sendJson(socket, frame);
  }

  onEvents(events: readonly SimEvent[]): void {
    const books = new Set<InstrumentId>();
    const orders = new Map<AccountId, OrderView[]>();
    const trades = new Map<AccountId, FillEvent[]>();
    for (const e of events) {
      if (e.type === 'book_delta') books.add(e.instrumentId);
      else if (e.type === 'fill') {
        if (!this.accountIndexById.has(e.accountId)) continue;
        pushCapped(this.fills, e.accountId, e);
        trades.set(e.accountId, [...(trades.get(e.accountId) ?? []), e]);
      } else if (e.type === 'order_update') {
        if (!this.accountIndexById.has(e.accountId)) continue;
        if (!['accepted', 'partially_filled'].includes(e.order.status))
          pushCapped(this.closed, e.accountId, e.order);
        orders.set(e.accountId, [...(orders.get(e.accountId) ?? []), e.order]);
      } else if (e.type === 'funding_payment') {
        const m = this.marketOf(e.instrumentId);
        pushCapped(this.funding, e.accountId, {
          timestamp: Math.floor(e.fundingTimeMs / 1000),
          market_id: m.id,
          funding_id: e.fundingTimeMs / HOUR_MS,
          change: e.amount.toFixed(),
          rate: e.rate.mul(100).abs().toFixed(4),
          position_size: e.positionSize.abs().toFixed(m.sizeDecimals),
          position_side: e.positionSize.isNeg() ? 'short' : 'long',
        });
      } else if (e.type === 'funding_settled') {
        const m = this.marketOf(e.instrumentId);
        const rows = this.fundingHistory.get(m.id) ?? [];
        rows.push({
          timestamp: Math.floor(e.fundingTimeMs / 1000),
          value: e.markPrice.toFixed(),
          rate: e.rate.mul(100).abs().toFixed(4),
          // Positive funding: longs pay shorts.
          direction: e.rate.isNeg() ? 'short' : 'long',
        });
        this.fundingHistory.set(m.id, rows.slice(-MAX_KEPT));
      }
    }
    for (const instrument of books) this.publishBookDelta(this.marketOf(instrument));
    for (const [accountId, list] of orders) {
      const index = this.accountIndexById.get(accountId) as number;
      const account = this.accountsByIndex.get(index) as LighterEmulatedAccount;
      this.publish(`account_all_orders/${index}`, {
        type: 'update/account_all_orders',
        channel: `account_all_orders:${index}`,
        orders: groupByMarket(list.map((o) => this.orderWire(account, o))),
      });
    }
    for (const [accountId, list] of trades) {
      const index = this.accountIndexById.get(accountId) as number;
      const account = this.accountsByIndex.get(index) as LighterEmulatedAccount;
      this.publish(`account_all_trades/${index}`, {
        type: 'update/account_all_trades',
        channel: `account_all_trades:${index}`,
        trades: groupByMarket(list.map((f) => this.tradeWire(account, f))),
      });
    }
  }

  /** Changed levels since the last book sent (size 0 removes), with the next offset. */
  private publishBookDelta(m: MarketInfo): void {
    const before = this.lastBooks.get(m.id) ?? { bids: new Map(), asks: new Map() };
    const now = this.bookLevels(m);
    this.lastBooks.set(m.id, now);
    const diff = (a: Map<string, string>, b: Map<string, string>) => {
      const out: { price: string; size: string }[] = [];
      for (const [price, size] of b) if (a.get(price) !== size) out.push({ price, size });
      for (const price of a.keys()) if (!b.has(price)) out.push({ price, size: '0' });
      return out;
    };
    const bids = diff(before.bids, now.bids);
    const asks = diff(before.asks, now.asks);
    if (bids.length === 0 && asks.length === 0) return;
    // One offset sequence per market: a client that sees a jump lost a delta.
    const offset = (this.bookOffsets.get(m.id) ?? 0) + 1;
    this.bookOffsets.set(m.id, offset);
    if (this.server.faults.takeBookDeltaSkip(String(m.id))) return;
    this.publish(`order_book/${m.id}`, {
      type: 'update/order_book',
      channel: `order_book:${m.id}`,
      offset,
      order_book: { code: 0, asks, bids, offset },
    });
  }
}

function keyOf(accountIndex: number, apiKeyIndex: number): string {
  return `${accountIndex}:${apiKeyIndex}`;
}

function ok(body: Row): EmulatorResponse {
  return { status: 200, body: { code: 200, ...body } };
}

function fail(error: { code: number; message: string }, detail?: string): EmulatorResponse {
  return {
    status: 400,
    body: { code: error.code, message: detail === undefined ? error.message : `${error.message}: ${detail}` },
  };
}

function levels(side: Map<string, string>): { price: string; size: string }[] {
  return [...side].map(([price, size]) => ({ price, size }));
}

function groupByMarket(rows: Row[]): Record<string, Row[]> {
  const out: Record<string, Row[]> = {};
  for (const row of rows) {
    const id = String(row.market_index ?? row.market_id);
    out[id] = [...(out[id] ?? []), row];
  }
  return out;
}

function pushCapped<T>(map: Map<AccountId, T[]>, accountId: AccountId, item: T): void {
  const list = map.get(accountId) ?? [];
  list.push(item);
  if (list.length > MAX_KEPT) list.splice(0, list.length - MAX_KEPT);
  map.set(accountId, list);
}

/** `tx_type` and `tx_info` of sendTx: a urlencoded or JSON body. */
function readForm(request: EmulatorRequest): Record<string, string | undefined> {
  const type = String(request.headers['content-type'] ?? '');
  if (type.includes('json')) {
    try {
      const body = JSON.parse(request.rawBody) as Row;
      return { tx_type: String(body.tx_type), tx_info: body.tx_info as string | undefined };
    } catch {
      return {};
    }
  }
  const form = new URLSearchParams(request.rawBody);
  return { tx_type: form.get('tx_type') ?? undefined, tx_info: form.get('tx_info') ?? undefined };
}

/** Sim refusals that Lighter reports as a canceled order (its status), not as a sendTx error. */
const EXECUTION_REJECTS: ReadonlyMap<string, string> = new Map([
  ['post_only_would_cross', 'canceled-post-only'],
  ['insufficient_margin', 'canceled-margin-not-allowed'],
  ['insufficient_balance', 'canceled-margin-not-allowed'],
  ['reduce_only_would_increase', 'canceled-reduce-only'],
]);

function lighterStatus(o: OrderView): string {
  if (o.status === 'accepted' || o.status === 'partially_filled') return 'open';
  if (o.status === 'rejected') return EXECUTION_REJECTS.get(o.reject?.code ?? '') ?? 'canceled';
  if (o.status === 'filled') return 'filled';
  switch (o.endReason) {
    case 'self_trade':
      return 'canceled-self-trade';
    case 'liquidation':
      return 'canceled-liquidation';
    case 'reduce_only_position_closed':
      return 'canceled-reduce-only';
    case 'no_liquidity':
    case 'ioc_remainder':
    case 'fok_not_fillable':
      return 'canceled-not-enough-liquidity';
    case 'protection_band':
      return 'canceled-too-much-slippage';
    default:
      return 'canceled';
  }
}

function rejectError(code: string, message: string): { code: number; message: string } {
  switch (code) {
    case 'insufficient_margin':
    case 'insufficient_balance':
      return LIGHTER_ERROR.notEnoughMargin;
    case 'reduce_only_would_increase':
      return LIGHTER_ERROR.reduceOnlyIncreases;
    case 'invalid_tick':
      return LIGHTER_ERROR.invalidPrice;
    case 'below_min_notional':
    case 'invalid_lot':
    case 'below_min_size':
      return LIGHTER_ERROR.invalidAmount;
    default:
      return { code: 21700, message };
  }
}
