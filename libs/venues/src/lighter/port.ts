/**
 * LighterVenuePort: the VenuePort of Lighter over its REST API and websocket, signing with
 * our own signer (@perpmesh/signing: ECgFp5 Schnorr over Poseidon2). Not ccxt: ccxt's
 * lighter needs a Go WASM signer on globalThis that is not shipped and turns builder fees and
 * an integrator approval on (README "Lighter").
 *
 * - Credentials: account index, API key index, API private key (held as LighterPrivateKey,
 *   which prints redacted). `apiKeyId` is `<accountIndex>:<apiKeyIndex>`, so execution counts
 *   nonces per (account, API key), not per config name.
 * - Nonces: every transaction (order, cancel, cancel-all, scheduled cancel-all, leverage)
 *   signs with the nonce the caller brought; one without is refused before signing. An
 *   invalid-nonce reply is a VenueRejectedError with reason `invalid_nonce` (nothing was
 *   done): execution's NonceSender resyncs forward from `fetchNextNonce` and resends.
 * - Client order ids: our id -> a client order index (shared/client-order-id.ts), so the
 *   venue's duplicate check backs our idempotency; lookups by our id search the active,
 *   then the inactive orders of the market (paged back, the newest 1,000) with the auth token.
 * - Auth token: made with the signer, renewed `authTokenRenewBeforeMs` before its deadline.
 * - Start-up: with credentials, the signer's known-answer self-test runs first; if it fails
 *   the port opens with `signer` not ready (the reason names the failed cases) and refuses
 *   every signature. The registered public key of the API key is compared with ours.
 * - Request budget: a token bucket per account at the tier's rate (standard 60/min);
 *   readiness `request budget` turns not ready below 10% left, before calls start failing.
 */
import {
  type AccountId,
  addBounded,
  Decimal,
  type EpochMs,
  errorText,
  type InstrumentId,
  ValidationError,
  type VenueId,
} from '@perpmesh/core';
import {
  createLighterAuthToken,
  LIGHTER_MAX_BATCH_TXS,
  LIGHTER_TX_ATTRIBUTE,
  LIGHTER_TX_TYPE,
  type LighterPrivateKey,
  type LighterTx,
  type LighterTxAttributes,
  lighterSelfTest,
  signLighterTx,
} from '@perpmesh/signing';
import WebSocket from 'ws';
import { RequestBudget } from '../ccxt/budget.js';
import type { PayloadRow } from '../ccxt/payload.js';
import {
  publicAccessError,
  VenueNotSentError,
  VenueRejectedError,
  VenueUnknownOutcomeError,
} from '../errors.js';
import type {
  BatchOrderOutcome,
  BookSnapshot,
  CancelOptions,
  FundingInfo,
  MarketEvent,
  OrderRef,
  PlaceOrderRequest,
  ReadinessComponent,
  SignedActionOptions,
  Subscription,
  UserStreamEvent,
  VenueBalance,
  VenueCapabilities,
  VenueFill,
  VenueFundingPayment,
  VenueMarket,
  VenueOrder,
  VenuePort,
  VenuePosition,
} from '../port.js';
import { PUBLIC_ACCOUNT, VENUE_COMPONENT } from '../port.js';
import { ClientOrderIdMap, lighterClientOrderIdCodec } from '../shared/client-order-id.js';
import { ReconnectingStream, type StreamAttemptSink } from '../shared/reconnecting-stream.js';
import { scheduledCancelDelayMs, VenueClock, type VenueClockOffset } from '../shared/venue-clock.js';
import { type LighterBatchReply, LighterHttp, type LighterReply } from './client.js';
import { LIGHTER_SCHEDULED_CANCEL_ALL_MIN_MS, lighterApiKeyId } from './config.js';
import {
  HOUR_MS,
  LIGHTER_CANCEL_ALL_TIF,
  LIGHTER_ORDER_TIF,
  LIGHTER_ORDER_TYPE,
  type LighterMarket,
  type LighterParseContext,
  lighterHourlyRate,
  lighterOrderRejection,
  lighterScaled,
  parseLighterAccount,
  parseLighterFundingPayment,
  parseLighterMarket,
  parseLighterOrder,
  parseLighterTrade,
} from './wire.js';

export interface LighterCredentials {
  readonly accountIndex: number;
  readonly apiKeyIndex: number;
  readonly privateKey: LighterPrivateKey;
}

export interface LighterSelfTestResult {
  readonly ok: boolean;
  readonly results: readonly { ok: boolean; section: string; name: string; detail?: string }[];
}

export interface LighterVenuePortOptions {
  readonly venue: VenueId;
  /** `PUBLIC_ACCOUNT` for a market-data port. */
  readonly account: AccountId;
  readonly instruments: readonly InstrumentId[];
  /** REST base, without `/api/v1`. */
  readonly baseUrl: string;
  /** The websocket URL, used as is (`wss://.../stream`). */
  readonly wsUrl: string;
  readonly chainId: number;
  readonly callTimeoutMs: number;
  /** Trading only; absent = a public port. */
  readonly credentials?: LighterCredentials;
  /** The account tier's request budget (standard: 60 a minute). */
  readonly requestsPerMinute: number;
  /** The tier's name, for readiness reasons. */
  readonly accountTier: string;
  /** Lifetime of an auth token (the venue takes at most 8 h). Default 7 h. */
  readonly authTokenLifetimeMs?: number;
  /** Renew the token this long before its deadline. Default 30 min. */
  readonly authTokenRenewBeforeMs?: number;
  /** Shortest scheduled cancel-all the venue accepts (`venues.<id>.scheduledCancelAllMin`). Default 5 min. */
  readonly scheduledCancelAllMinMs?: number;
  /** The signer's self-test; default the Lighter signer's known-answer vectors (run once per process). */
  readonly selfTest?: () => LighterSelfTestResult;
  /**
   * How often funding is read while a market stream runs. Default 30 s: two requests each time,
   * from a standard account's 60 a minute (the rate is an hourly prediction; it moves slowly).
   */
  readonly fundingPollMs?: number;
  readonly streamBackoff?: { initialDelayMs: number; maxDelayMs: number };
}

/** What every transaction of the API key carries. */
interface TxCommon {
  accountIndex: number;
  apiKeyIndex: number;
  nonce: bigint;
  expiredAt: number;
}

const TX_EXPIRY_MS = 10 * 60_000 - 1_000;

const ORDER_EXPIRY_MS = 28 * 24 * HOUR_MS;
/** How far a market order may trade from the top of the book (its worst price). */
const MARKET_ORDER_SLIPPAGE = new Decimal('0.05');
/** The most orders one inactive-orders page holds (the venue's maximum). */
const INACTIVE_PAGE = 100;
/**
 * How many inactive pages a lookup reads before it says "not found": the newest 1,000 ended
 * orders of the market, 10 requests of the budget at most (a standard account has 60 a minute).
 */
const INACTIVE_LOOKUP_PAGES = 10;
const TRADES_PAGE = 100;
const MAX_SEEN_TRADES = 50_000;
const CATCH_UP_OVERLAP_MS = 60_000;
const BUDGET_LOW_FRACTION = 0.1;

const CAPABILITIES: VenueCapabilities = {
  nonces: true,
  nonceFloorIsTimeMs: false,
  rejectsDuplicateClientOrderId: true,
  cancelAllOrders: true,
  postOnly: true,
  fok: false,
  fundingHistory: true,
  setLeverage: true,
  scheduleCancelAll: true,
  venueFills: true,
  maxBatchOrders: LIGHTER_MAX_BATCH_TXS,
  strictNonceOrder: true,
};

export class LighterVenuePort implements VenuePort {
  readonly venue: VenueId;
  readonly account: AccountId;
  readonly apiKeyId: string;
  readonly capabilities: VenueCapabilities;
  private readonly http: LighterHttp;
  /** The venue's clock offset from ours, from its answers' `Date` headers (a scheduled cancel-all's deadline is on its clock). */
  private readonly venueClock = new VenueClock();
  private readonly budget: RequestBudget;
  private readonly clientIds = new ClientOrderIdMap(lighterClientOrderIdCodec);
  private readonly ctx: LighterParseContext;
  private markets = new Map<InstrumentId, LighterMarket>();
  private instrumentByMarketId = new Map<number, InstrumentId>();
  private marketsState: ReadinessComponent;
  private linkState: ReadinessComponent;
  private balanceState: ReadinessComponent | undefined;
  private signerState: ReadinessComponent | undefined;
  private noncesState: ReadinessComponent | undefined;
  private authToken: { token: string; deadlineMs: number } | undefined;
  private authTokenError: string | undefined;
  private volumeQuotaRemaining: number | undefined;
  private readonly streams = new Set<ReconnectingStream<unknown>>();
  private readonly timers = new Set<NodeJS.Timeout>();
  private readonly seenTrades = new Set<string>();
  private lastFillMs: EpochMs = 0;
  /** The tail of the transactions waiting to go out, in the order they were handed to us. */
  private txTail: Promise<void> = Promise.resolve();

  private constructor(private readonly options: LighterVenuePortOptions) {
    this.venue = options.venue;
    this.account = options.account;
    const creds = options.credentials;
    this.apiKeyId = creds ? lighterApiKeyId(creds.accountIndex, creds.apiKeyIndex) : '';
    this.capabilities = {
      ...CAPABILITIES,
      scheduleCancelAllMinMs: options.scheduledCancelAllMinMs ?? LIGHTER_SCHEDULED_CANCEL_ALL_MIN_MS,
    };
    if (!(options.requestsPerMinute >= 1)) {
      throw new ValidationError('requestsPerMinute', `must be at least 1, got ${options.requestsPerMinute}`);
    }
    this.budget = new RequestBudget(options.venue, {
      capacity: options.requestsPerMinute,
      perSecond: options.requestsPerMinute / 60,
      maxWaitMs: Math.max(options.callTimeoutMs, 5_000),
    });
    this.http = new LighterHttp({
      venue: options.venue,
      baseUrl: options.baseUrl.replace(/\/+$/, ''),
      callTimeoutMs: options.callTimeoutMs,
      budget: this.budget,
      clock: this.venueClock,
      onLink: (up, why) => {
        this.linkState = {
          component: VENUE_COMPONENT.link,
          ready: up,
          reason: up ? `${options.venue}: ${options.baseUrl} answers` : `${options.venue}: ${why}`,
        };
      },
    });
    this.ctx = {
      instrumentOfMarket: (id) => this.instrumentByMarketId.get(id),
      ourClientId: (index) => this.clientIds.fromVenue(index) ?? index,
    };
    this.marketsState = {
      component: VENUE_COMPONENT.markets,
      ready: false,
      reason: `${options.venue}: markets not loaded yet from ${options.baseUrl}`,
    };
    this.linkState = {
      component: VENUE_COMPONENT.link,
      ready: false,
      reason: `${options.venue}: no request answered yet by ${options.baseUrl}`,
    };
    if (creds) {
      const who = `${options.venue}/${options.account}`;
      this.balanceState = {
        component: VENUE_COMPONENT.balance,
        ready: false,
        reason: `${who}: balance not read yet`,
      };
      this.noncesState = {
        component: VENUE_COMPONENT.nonces,
        ready: false,
        reason: `${who}: next nonce of API key ${creds.apiKeyIndex} not read yet`,
      };
    }
  }

  /**
   * Opens the port: with credentials the signer self-test runs first (a failure leaves
   * `signer` not ready and no signature is ever made), then markets, the registered key and
   * the next nonce are read. A venue that is down leaves components not ready; it never throws.
   */
  static async open(options: LighterVenuePortOptions): Promise<LighterVenuePort> {
    if (options.instruments.length === 0) throw new ValidationError('instruments', 'must list at least one');
    const port = new LighterVenuePort(options);
    if (options.credentials) port.runSelfTest();
    await port.loadMarkets().catch(() => undefined);
    if (options.credentials) {
      await port.checkRegisteredKey().catch(() => undefined);
      await port.fetchNextNonce().catch(() => undefined);
      await port.fetchBalances().catch(() => undefined);
      port.keepAuthTokenFresh();
    }
    return port;
  }

  private get isTrading(): boolean {
    return this.options.credentials !== undefined && this.account !== PUBLIC_ACCOUNT;
  }

  private creds(method: string): LighterCredentials {
    if (!this.isTrading) throw publicAccessError(this.venue, method);
    return this.options.credentials as LighterCredentials;
  }

  private get who(): string {
    return `${this.venue}/${this.account}`;
  }

  // ------------------------------------------------------------------ signer

  private runSelfTest(): void {
    let result: LighterSelfTestResult;
    try {
      result = (this.options.selfTest ?? lighterSelfTest)();
    } catch (err) {
      result = {
        ok: false,
        results: [{ ok: false, section: 'self-test', name: 'run', detail: errorText(err) }],
      };
    }
    const failed = result.results.filter((r) => !r.ok);
    this.signerState = result.ok
      ? {
          component: VENUE_COMPONENT.signer,
          ready: true,
          reason: `${this.who}: Lighter signer passed its ${result.results.length} known-answer cases`,
        }
      : {
          component: VENUE_COMPONENT.signer,
          ready: false,
          reason:
            `${this.who}: Lighter signer failed its self-test, refusing to sign (${failed.length} case(s): ` +
            `${failed
              .slice(0, 3)
              .map((r) => `${r.section}/${r.name}${r.detail ? `: ${r.detail}` : ''}`)
              .join('; ')})`,
        };
  }

  /** The venue's registered public key of our API key must be ours. */
  private async checkRegisteredKey(): Promise<void> {
    const creds = this.creds('open');
    if (this.signerState?.ready !== true) return;
    const reply = await this.http.get('apikeys', {
      account_index: creds.accountIndex,
      api_key_index: creds.apiKeyIndex,
    });
    const keys = Array.isArray(reply.api_keys) ? (reply.api_keys as PayloadRow[]) : [];
    const registered = keys.find((k) => Number(k.api_key_index) === creds.apiKeyIndex);
    const ours = creds.privateKey.publicKeyHex;
    if (registered === undefined || String(registered.public_key).replace(/^0x/, '').toLowerCase() !== ours) {
      this.signerState = {
        component: VENUE_COMPONENT.signer,
        ready: false,
        reason:
          registered === undefined
            ? `${this.who}: API key ${creds.apiKeyIndex} is not registered on account ${creds.accountIndex}`
            : `${this.who}: the venue's public key of API key ${creds.apiKeyIndex} is not the one of the configured private key`,
      };
    }
  }

  private sign(tx: LighterTx, attributes?: LighterTxAttributes): { txType: number; txInfo: string } {
    if (this.signerState?.ready !== true) {
      throw new VenueRejectedError(
        this.venue,
        'signer_not_ready',
        `refusing to sign: ${this.signerState?.reason ?? 'no signer'}`,
      );
    }
    const signed = signLighterTx(tx, {
      chainId: this.options.chainId,
      key: this.creds('sign').privateKey,
      ...(attributes === undefined ? {} : { attributes }),
    });
    return { txType: signed.txType, txInfo: signed.txInfo };
  }

  private txCommon(nonce: bigint | undefined, what: string): TxCommon {
    const creds = this.creds(what);
    if (nonce === undefined) {
      throw new ValidationError(
        'nonce',
        `${this.venue}: ${what} needs the nonce of API key ${this.apiKeyId} (allocated by the caller); nothing was signed`,
      );
    }
    return {
      accountIndex: creds.accountIndex,
      apiKeyIndex: creds.apiKeyIndex,
      nonce,
      expiredAt: Date.now() + TX_EXPIRY_MS,
    };
  }

  /**
   * A place in the line of transactions, taken when a signed action is handed to the port.
   * The venue refuses a nonce below one it already took, so transactions leave one at a time
   * in the order they came (the caller hands them over in nonce order; parallel HTTP
   * connections would reorder them). `release` when done, whether sent or not.
   */
  private txSlot(): { turn: Promise<void>; release: () => void } {
    const turn = this.txTail;
    let release!: () => void;
    const done = new Promise<void>((resolve) => {
      release = resolve;
    });
    this.txTail = turn.then(() => done);
    return { turn, release };
  }

  private async send(tx: LighterTx, attributes?: LighterTxAttributes): Promise<LighterReply> {
    const { txType, txInfo } = this.sign(tx, attributes);
    try {
      const reply = await this.http.sendTx(txType, txInfo);
      if (typeof reply.volume_quota_remaining === 'number')
        this.volumeQuotaRemaining = reply.volume_quota_remaining;
      this.noncesState = {
        component: VENUE_COMPONENT.nonces,
        ready: true,
        reason: `${this.who}: nonce ${tx.nonce} of API key ${this.apiKeyId} accepted`,
      };
      return reply;
    } catch (err) {
      if (err instanceof VenueRejectedError && err.reason === 'invalid_nonce') {
        this.noncesState = {
          component: VENUE_COMPONENT.nonces,
          ready: false,
          reason: `${this.who}: the venue refused nonce ${tx.nonce} of API key ${this.apiKeyId}; resync from nextNonce pending`,
        };
      }
      throw err;
    }
  }

  // ------------------------------------------------------------------ auth token

  private async token(): Promise<string> {
    const creds = this.creds('a private read');
    const lifetime = this.options.authTokenLifetimeMs ?? 7 * HOUR_MS;
    const renewBefore = this.options.authTokenRenewBeforeMs ?? 30 * 60_000;
    const now = Date.now();
    if (this.authToken !== undefined && this.authToken.deadlineMs - now > renewBefore)
      return this.authToken.token;
    if (this.signerState?.ready !== true) {
      this.authTokenError = 'the signer is not ready';
      throw new VenueRejectedError(
        this.venue,
        'signer_not_ready',
        `no auth token: ${this.signerState?.reason ?? 'no signer'}`,
      );
    }
    const deadlineS = Math.floor((now + lifetime) / 1000);
    const token = createLighterAuthToken(creds.privateKey, {
      deadlineUnixSeconds: deadlineS,
      accountIndex: creds.accountIndex,
      apiKeyIndex: creds.apiKeyIndex,
    });
    this.authToken = { token, deadlineMs: deadlineS * 1000 };
    this.authTokenError = undefined;
    return token;
  }

  /** Renews the token on a timer too, so it is fresh when a private read or a reconnect needs it. */
  private keepAuthTokenFresh(): void {
    if (this.signerState?.ready !== true) return;
    const renewBefore = this.options.authTokenRenewBeforeMs ?? 30 * 60_000;
    const timer = setInterval(
      () => void this.token().catch(() => undefined),
      Math.max(250, Math.min(60_000, Math.floor(renewBefore / 2))),
    );
    timer.unref();
    this.timers.add(timer);
    void this.token().catch(() => undefined);
  }

  /** The deadline of the auth token held now (ms), if one was made. */
  get authTokenDeadlineMs(): number | undefined {
    return this.authToken?.deadlineMs;
  }

  private async privateGet(
    path: string,
    query: Record<string, string | number | undefined>,
  ): Promise<LighterReply> {
    const token = await this.token();
    return this.http.get(path, query, token);
  }

  // ------------------------------------------------------------------ markets

  async loadMarkets(): Promise<VenueMarket[]> {
    let reply: LighterReply;
    try {
      reply = await this.http.get('orderBookDetails', {});
    } catch (err) {
      this.marketsState = {
        component: VENUE_COMPONENT.markets,
        ready: false,
        reason: `${this.venue}: ${errorText(err)}`,
      };
      throw err;
    }
    const rows = Array.isArray(reply.order_book_details) ? (reply.order_book_details as PayloadRow[]) : [];
    const markets = new Map<InstrumentId, LighterMarket>();
    for (const row of rows) {
      if (row.market_type !== undefined && row.market_type !== 'perp') continue;
      const m = parseLighterMarket(row);
      if (this.options.instruments.includes(m.market.instrument)) markets.set(m.market.instrument, m);
    }
    const missing = this.options.instruments.filter((i) => !markets.has(i));
    this.markets = markets;
    this.instrumentByMarketId = new Map([...markets.values()].map((m) => [m.marketId, m.market.instrument]));
    this.marketsState = {
      component: VENUE_COMPONENT.markets,
      ready: missing.length === 0,
      reason:
        missing.length === 0
          ? `${this.venue}: ${markets.size} market(s) loaded`
          : `${this.venue}: not listed by the venue: ${missing.join(', ')}`,
    };
    return [...markets.values()].map((m) => m.market);
  }

  private async market(instrument: InstrumentId): Promise<LighterMarket> {
    if (!this.markets.has(instrument)) await this.loadMarkets();
    const m = this.markets.get(instrument);
    if (m === undefined)
      throw new ValidationError('instrument', `${instrument} is not a market of ${this.venue} we follow`);
    return m;
  }

  async fetchOrderBook(instrument: InstrumentId, depth: number): Promise<BookSnapshot> {
    const m = await this.market(instrument);
    const reply = await this.http.get('orderBookOrders', {
      market_id: m.marketId,
      limit: Math.min(250, Math.max(1, depth)),
    });
    const side = (rows: unknown) => {
      const byPrice = new Map<string, Decimal>();
      for (const row of Array.isArray(rows) ? (rows as PayloadRow[]) : []) {
        const price = new Decimal(String(row.price)).toFixed();
        byPrice.set(price, (byPrice.get(price) ?? new Decimal(0)).plus(String(row.remaining_base_amount)));
      }
      return [...byPrice].map(([price, size]) => ({ price: new Decimal(price), size })).slice(0, depth);
    };
    return {
      kind: 'snapshot',
      instrument,
      seq: 0,
      bids: side(reply.bids),
      asks: side(reply.asks),
      tsEventMs: Date.now(),
    };
  }

  async fetchFunding(instruments: InstrumentId[]): Promise<FundingInfo[]> {
    const [rates, details] = await Promise.all([
      this.http.get('funding-rates', {}),
      this.http.get('orderBookDetails', {}),
    ]);
    const rows = Array.isArray(rates.funding_rates) ? (rates.funding_rates as PayloadRow[]) : [];
    const detailRows = Array.isArray(details.order_book_details)
      ? (details.order_book_details as PayloadRow[])
      : [];
    const now = Date.now();
    const out: FundingInfo[] = [];
    for (const instrument of instruments) {
      const m = await this.market(instrument);
      const row = rows.find((r) => r.exchange === 'lighter' && Number(r.market_id) === m.marketId);
      if (row === undefined) continue;
      const last = detailRows.find((d) => Number(d.market_id) === m.marketId)?.last_trade_price;
      const price = new Decimal(String(last ?? 0));
      out.push({
        kind: 'funding',
        instrument,
        rate: lighterHourlyRate(new Decimal(String(row.rate))),
        intervalMs: HOUR_MS,
        nextFundingTimeMs: Math.floor(now / HOUR_MS) * HOUR_MS + HOUR_MS,
        // The REST API has no mark or index price; the last trade stands in for both.
        markPrice: price,
        indexPrice: price,
        tsEventMs: now,
      });
    }
    return out;
  }

  async watchMarket(
    instruments: InstrumentId[],
    onEvent: (event: MarketEvent) => void,
  ): Promise<Subscription> {
    const books: ReconnectingStream<unknown>[] = [];
    for (const instrument of instruments) {
      const m = await this.market(instrument);
      let seq = -1;
      const stream = this.wsStream({
        component: VENUE_COMPONENT.marketStream,
        label: `market stream ${instrument}`,
        channels: [`order_book/${m.marketId}`],
        onSubscribed: () => {
          seq = -1;
        },
        deliver: (frame) => {
          const type = String(frame.type);
          if (!type.endsWith('/order_book')) return;
          const book = frame.order_book as PayloadRow;
          const offset = Number(frame.offset ?? book.offset);
          const levels = (rows: unknown) =>
            (Array.isArray(rows) ? (rows as PayloadRow[]) : []).map((l) => ({
              price: new Decimal(String(l.price)),
              size: new Decimal(String(l.size)),
            }));
          if (type.startsWith('subscribed')) {
            seq = offset;
            onEvent({
              kind: 'snapshot',
              instrument,
              seq,
              bids: levels(book.bids),
              asks: levels(book.asks),
              tsEventMs: Date.now(),
            });
            return;
          }
          if (seq < 0) return;
          // A jump means a lost delta: start over from a new snapshot.
          if (offset !== seq + 1) throw new Error(`order book offset jumped from ${seq} to ${offset}`);
          seq = offset;
          onEvent({
            kind: 'delta',
            instrument,
            seq,
            bids: levels(book.bids),
            asks: levels(book.asks),
            tsEventMs: Date.now(),
          });
        },
      });
      books.push(stream);
    }
    try {
      await Promise.all(books.map((s) => s.start()));
    } catch (err) {
      await Promise.all(books.map((s) => s.close()));
      throw err;
    }
    const poll = async () => {
      try {
        for (const f of await this.fetchFunding(instruments)) onEvent(f);
      } catch {
        // The next poll tries again; `link` carries the reason.
      }
    };
    void poll();
    const timer = setInterval(() => void poll(), this.options.fundingPollMs ?? 30_000);
    timer.unref();
    this.timers.add(timer);
    return {
      close: async () => {
        clearInterval(timer);
        this.timers.delete(timer);
        await Promise.all(books.map((s) => s.close()));
      },
    };
  }

  // ------------------------------------------------------------------ account

  private async readAccount(): Promise<{ balance: VenueBalance; positions: VenuePosition[] }> {
    const creds = this.creds('fetchBalances');
    const reply = await this.http.get('account', { by: 'index', value: creds.accountIndex });
    const row = (Array.isArray(reply.accounts) ? (reply.accounts as PayloadRow[]) : [])[0];
    if (row === undefined)
      throw new VenueRejectedError(
        this.venue,
        'account_not_found',
        `account ${creds.accountIndex} not found`,
      );
    if (this.markets.size === 0) await this.loadMarkets();
    const parsed = parseLighterAccount(row, this.ctx, Date.now());
    this.balanceState = {
      component: VENUE_COMPONENT.balance,
      ready: parsed.balance.total.gt(0),
      reason: parsed.balance.total.gt(0)
        ? `${this.who}: ${parsed.balance.available.toFixed()} of ${parsed.balance.total.toFixed()} USDC collateral available`
        : `${this.who}: no USDC collateral on account ${creds.accountIndex}`,
    };
    return parsed;
  }

  async fetchBalances(): Promise<VenueBalance[]> {
    return [(await this.readAccount()).balance];
  }

  async fetchPositions(): Promise<VenuePosition[]> {
    return (await this.readAccount()).positions;
  }

  async fetchOpenOrders(instrument?: InstrumentId): Promise<VenueOrder[]> {
    const creds = this.creds('fetchOpenOrders');
    const instruments = instrument === undefined ? [...this.options.instruments] : [instrument];
    const out: VenueOrder[] = [];
    for (const i of instruments) {
      const m = await this.market(i);
      const reply = await this.privateGet('accountActiveOrders', {
        account_index: creds.accountIndex,
        market_id: m.marketId,
      });
      for (const row of (reply.orders as PayloadRow[] | undefined) ?? [])
        out.push(parseLighterOrder(row, this.ctx));
    }
    return out;
  }

  /**
   * Active orders of the market first, then the inactive ones page by page (the newest
   * `INACTIVE_PAGE * INACTIVE_LOOKUP_PAGES`); by order or client order index.
   */
  async fetchOrder(ref: OrderRef): Promise<VenueOrder | undefined> {
    const creds = this.creds('fetchOrder');
    const m = await this.market(ref.instrument);
    const clientIndex =
      ref.clientOrderId === undefined ? undefined : this.clientIds.toVenue(ref.clientOrderId);
    const matches = (row: PayloadRow) =>
      (ref.venueOrderId !== undefined && String(row.order_index) === ref.venueOrderId) ||
      (clientIndex !== undefined && String(row.client_order_index) === clientIndex);
    const active = await this.privateGet('accountActiveOrders', {
      account_index: creds.accountIndex,
      market_id: m.marketId,
    });
    const open = ((active.orders as PayloadRow[] | undefined) ?? []).find(matches);
    if (open !== undefined) return parseLighterOrder(open, this.ctx);
    // Lighter has no single-order read and neither index carries a time to narrow the
    // search by: page back through the inactive orders, newest first, a bounded number of pages.
    let cursor: string | undefined;
    for (let page = 0; page < INACTIVE_LOOKUP_PAGES; page++) {
      const reply = await this.privateGet('accountInactiveOrders', {
        account_index: creds.accountIndex,
        market_id: m.marketId,
        limit: INACTIVE_PAGE,
        cursor,
      });
      const rows = (reply.orders as PayloadRow[] | undefined) ?? [];
      const row = rows.find(matches);
      if (row !== undefined) return parseLighterOrder(row, this.ctx);
      const next = reply.next_cursor;
      if (typeof next !== 'string' || next === '' || next === cursor || rows.length === 0) break;
      cursor = next;
    }
    return undefined;
  }

  async fetchFills(sinceMs: EpochMs): Promise<VenueFill[]> {
    const creds = this.creds('fetchFills');
    const out: VenueFill[] = [];
    let from = sinceMs;
    for (;;) {
      const reply = await this.privateGet('trades', {
        account_index: creds.accountIndex,
        sort_by: 'timestamp',
        sort_dir: 'asc',
        from,
        limit: TRADES_PAGE,
      });
      const rows = (reply.trades as PayloadRow[] | undefined) ?? [];
      for (const row of rows) {
        if (this.instrumentByMarketId.has(Number(row.market_id)))
          out.push(parseLighterTrade(row, creds.accountIndex, this.ctx));
      }
      if (rows.length < TRADES_PAGE) break;
      const last = Number(rows[rows.length - 1]?.timestamp);
      if (!(last > from)) break;
      from = last;
    }
    // Pages overlap at their boundary timestamp: each trade once.
    return [...new Map(out.map((f) => [f.tradeId, f])).values()];
  }

  async fetchNextNonce(): Promise<bigint> {
    const creds = this.creds('fetchNextNonce');
    const reply = await this.http.get('nextNonce', {
      account_index: creds.accountIndex,
      api_key_index: creds.apiKeyIndex,
    });
    const nonce = reply.nonce;
    if (typeof nonce !== 'number' && typeof nonce !== 'string') {
      throw new ValidationError('nextNonce.nonce', `expected an integer, got ${JSON.stringify(nonce)}`);
    }
    const next = BigInt(nonce);
    this.noncesState = {
      component: VENUE_COMPONENT.nonces,
      ready: true,
      reason: `${this.who}: the venue's next nonce of API key ${this.apiKeyId} is ${next}`,
    };
    return next;
  }

  async fetchFundingPayments(sinceMs: EpochMs): Promise<VenueFundingPayment[]> {
    const creds = this.creds('fetchFundingPayments');
    if (this.markets.size === 0) await this.loadMarkets();
    const reply = await this.privateGet('positionFunding', { account_index: creds.accountIndex, limit: 100 });
    const out: VenueFundingPayment[] = [];
    for (const row of (reply.position_fundings as PayloadRow[] | undefined) ?? []) {
      const p = parseLighterFundingPayment(row, this.ctx);
      if (p !== undefined && p.tsEventMs >= sinceMs) out.push(p);
    }
    return out.sort((a, b) => a.tsEventMs - b.tsEventMs);
  }

  // ------------------------------------------------------------------ trading

  async createOrder(request: PlaceOrderRequest): Promise<VenueOrder> {
    const common = this.txCommon(request.nonce, 'createOrder');
    this.checkOrderable(request);
    const slot = this.txSlot();
    let built: { tx: LighterTx; price: Decimal };
    try {
      built = await this.orderTx(request, common);
      await slot.turn;
      await this.send(built.tx);
    } finally {
      slot.release();
    }
    return this.placedOrder(request, built.price);
  }

  /**
   * Up to `LIGHTER_MAX_BATCH_TXS` orders in one `sendTxBatch`, each signed with its own nonce (the
   * caller's, increasing in the order given). The venue takes them in order and stops at a
   * refusal: the orders before it are placed, the refused one gets its error (an invalid nonce
   * as for one order: resync and resend), the ones after it `VenueNotSentError` (nothing done).
   * A refusal that does not say how far the venue got, or a lost answer, leaves every order of
   * the batch unknown (resolve each by client order id).
   */
  async createOrders(requests: readonly PlaceOrderRequest[]): Promise<BatchOrderOutcome[]> {
    if (requests.length > LIGHTER_MAX_BATCH_TXS) {
      throw new ValidationError(
        'requests',
        `${this.venue} takes at most ${LIGHTER_MAX_BATCH_TXS} transactions in a batch, got ${requests.length}`,
      );
    }
    const outcomes: (BatchOrderOutcome | undefined)[] = requests.map(() => undefined);
    const slot = this.txSlot();
    const sent: { index: number; price: Decimal; nonce: bigint }[] = [];
    const signed: { txType: number; txInfo: string }[] = [];
    try {
      for (const [index, request] of requests.entries()) {
        try {
          const common = this.txCommon(request.nonce, 'createOrders');
          this.checkOrderable(request);
          const { tx, price } = await this.orderTx(request, common);
          signed.push(this.sign(tx));
          sent.push({ index, price, nonce: common.nonce });
        } catch (error) {
          outcomes[index] = { ok: false, error };
        }
      }
      if (signed.length > 0) {
        await slot.turn;
        const answer = await this.sendBatch(signed, sent);
        for (const [n, { index }] of sent.entries()) {
          if (answer.taken === undefined) {
            outcomes[index] = {
              ok: false,
              error: new VenueUnknownOutcomeError(
                this.venue,
                `batch refused (${errorText(answer.refusal)}) without saying which transactions it took; resolve by client order id`,
              ),
            };
          } else if (n === answer.taken && answer.refusal !== undefined) {
            outcomes[index] = { ok: false, error: answer.refusal };
          } else if (n > answer.taken) {
            outcomes[index] = {
              ok: false,
              error: new VenueNotSentError(
                this.venue,
                `not looked at: transaction ${answer.taken + 1} of its batch was refused before it (${errorText(answer.refusal)})`,
              ),
            };
          }
        }
      }
    } catch (error) {
      // The batch's answer was lost (or it was not sent at all): the same for each order in it.
      for (const { index } of sent) outcomes[index] ??= { ok: false, error };
    } finally {
      slot.release();
    }
    const placed = sent.filter(({ index }) => outcomes[index] === undefined);
    const found = await this.placedOrders(
      placed.map(({ index, price }) => ({ request: requests[index] as PlaceOrderRequest, price })),
    );
    for (const [n, { index }] of placed.entries()) outcomes[index] = found[n];
    return outcomes as BatchOrderOutcome[];
  }

  /** Sends signed transactions as one batch; the nonces state follows what the venue took. */
  private async sendBatch(
    signed: readonly { txType: number; txInfo: string }[],
    sent: readonly { nonce: bigint }[],
  ): Promise<LighterBatchReply> {
    const answer = await this.http.sendTxBatch(
      signed.map((t) => t.txType),
      signed.map((t) => t.txInfo),
    );
    if (typeof answer.reply.volume_quota_remaining === 'number')
      this.volumeQuotaRemaining = answer.reply.volume_quota_remaining;
    const refused = answer.taken === undefined ? undefined : sent[answer.taken];
    if (answer.refusal instanceof VenueRejectedError && answer.refusal.reason === 'invalid_nonce') {
      this.noncesState = {
        component: VENUE_COMPONENT.nonces,
        ready: false,
        reason: `${this.who}: the venue refused ${refused === undefined ? 'a nonce' : `nonce ${refused.nonce}`} of API key ${this.apiKeyId} in a batch; resync from nextNonce pending`,
      };
    } else if ((answer.taken ?? 0) > 0) {
      const last = sent[(answer.taken as number) - 1] as { nonce: bigint };
      this.noncesState = {
        component: VENUE_COMPONENT.nonces,
        ready: true,
        reason: `${this.who}: nonce ${last.nonce} of API key ${this.apiKeyId} accepted (batch)`,
      };
    }
    return answer;
  }

  private checkOrderable(request: PlaceOrderRequest): void {
    if (request.timeInForce === 'fok') {
      throw new ValidationError('timeInForce', `${this.venue} has no fill-or-kill orders`);
    }
  }

  /** The create-order transaction of `request` (a market order priced from the book). */
  private async orderTx(
    request: PlaceOrderRequest,
    common: TxCommon,
  ): Promise<{ tx: LighterTx; price: Decimal }> {
    const m = await this.market(request.instrument);
    let price: Decimal;
    if (request.type === 'market') {
      price = await this.marketOrderPrice(request.instrument, request.side, m);
    } else {
      if (request.price === undefined) throw new ValidationError('price', 'is required for a limit order');
      price = request.price;
    }
    const tif =
      request.type === 'market' || request.timeInForce === 'ioc'
        ? LIGHTER_ORDER_TIF.immediateOrCancel
        : request.timeInForce === 'post_only'
          ? LIGHTER_ORDER_TIF.postOnly
          : LIGHTER_ORDER_TIF.goodTillTime;
    const tx: LighterTx = {
      txType: LIGHTER_TX_TYPE.createOrder,
      ...common,
      marketIndex: m.marketId,
      clientOrderIndex: BigInt(this.clientIds.toVenue(request.clientOrderId)),
      baseAmount: lighterScaled(request.size, m.sizeDecimals, 'size'),
      price: lighterScaled(price, m.priceDecimals, 'price'),
      isAsk: request.side === 'sell' ? 1 : 0,
      orderType: request.type === 'market' ? LIGHTER_ORDER_TYPE.market : LIGHTER_ORDER_TYPE.limit,
      timeInForce: tif,
      reduceOnly: request.reduceOnly ? 1 : 0,
      triggerPrice: 0,
      orderExpiry: tif === LIGHTER_ORDER_TIF.immediateOrCancel ? 0 : Date.now() + ORDER_EXPIRY_MS,
    };
    return { tx, price };
  }

  /**
   * Orders the venue took, looked up by our ids: one read of the active orders per market for
   * all of them, then each one not found there on its own (`placedOrder`).
   */
  private async placedOrders(
    placed: readonly { request: PlaceOrderRequest; price: Decimal }[],
  ): Promise<BatchOrderOutcome[]> {
    if (placed.length === 0) return [];
    const active = new Map<string, VenueOrder>();
    const creds = this.creds('createOrders');
    for (const instrument of new Set(placed.map((p) => p.request.instrument))) {
      try {
        const m = await this.market(instrument);
        const reply = await this.privateGet('accountActiveOrders', {
          account_index: creds.accountIndex,
          market_id: m.marketId,
        });
        for (const row of (reply.orders as PayloadRow[] | undefined) ?? []) {
          const order = parseLighterOrder(row, this.ctx);
          active.set(order.clientOrderId, order);
        }
      } catch {
        // Each order is looked up on its own below.
      }
    }
    return Promise.all(
      placed.map(async ({ request, price }): Promise<BatchOrderOutcome> => {
        try {
          const open = active.get(request.clientOrderId);
          return { ok: true, order: open ?? (await this.placedOrder(request, price)) };
        } catch (error) {
          return { ok: false, error };
        }
      }),
    );
  }

  /**
   * An order sendTx took: sendTx answers before the order is on the book, so look it up by our
   * id. The venue took the transaction: a failed read is an unknown outcome, never a refusal.
   */
  private async placedOrder(request: PlaceOrderRequest, price: Decimal): Promise<VenueOrder> {
    for (let attempt = 0; attempt < 3; attempt++) {
      const order = await this.fetchOrder({
        instrument: request.instrument,
        clientOrderId: request.clientOrderId,
      }).catch((cause) => {
        throw new VenueUnknownOutcomeError(
          this.venue,
          `the venue took the order but reading it back failed (${errorText(cause)}); resolve by client order id`,
          { cause },
        );
      });
      if (order !== undefined) {
        const rejection = lighterOrderRejection(this.venue, order);
        if (rejection !== undefined) throw rejection;
        return order;
      }
      await new Promise((resolve) => setTimeout(resolve, 100 * (attempt + 1)));
    }
    return {
      clientOrderId: request.clientOrderId,
      venueOrderId: '',
      instrument: request.instrument,
      side: request.side,
      type: request.type,
      timeInForce: request.timeInForce,
      ...(request.type === 'limit' ? { price } : {}),
      size: request.size,
      filled: new Decimal(0),
      status: 'submitted',
      reduceOnly: request.reduceOnly,
      tsEventMs: Date.now(),
    };
  }

  /** A market order's worst acceptable price: the opposite top of the book +- 5%, on the tick. */
  private async marketOrderPrice(
    instrument: InstrumentId,
    side: 'buy' | 'sell',
    m: LighterMarket,
  ): Promise<Decimal> {
    const book = await this.fetchOrderBook(instrument, 1);
    const top = side === 'buy' ? book.asks[0]?.price : book.bids[0]?.price;
    if (top === undefined)
      throw new VenueRejectedError(
        this.venue,
        'no_liquidity',
        `no ${side === 'buy' ? 'asks' : 'bids'} on ${instrument}`,
      );
    const limit =
      side === 'buy'
        ? top.mul(MARKET_ORDER_SLIPPAGE.plus(1))
        : top.mul(new Decimal(1).minus(MARKET_ORDER_SLIPPAGE));
    const tick = m.market.tickSize;
    return limit
      .div(tick)
      .toDecimalPlaces(0, side === 'buy' ? Decimal.ROUND_UP : Decimal.ROUND_DOWN)
      .mul(tick);
  }

  async cancelOrder(ref: OrderRef, options?: CancelOptions): Promise<VenueOrder> {
    const common = this.txCommon(options?.nonce, 'cancelOrder');
    let index: bigint;
    if (ref.venueOrderId !== undefined && ref.venueOrderId !== '') index = BigInt(ref.venueOrderId);
    else if (ref.clientOrderId !== undefined) index = BigInt(this.clientIds.toVenue(ref.clientOrderId));
    else throw new ValidationError('ref', 'cancelOrder needs a venueOrderId or a clientOrderId');
    const slot = this.txSlot();
    try {
      const m = await this.market(ref.instrument);
      await slot.turn;
      await this.send({ txType: LIGHTER_TX_TYPE.cancelOrder, ...common, marketIndex: m.marketId, index });
    } finally {
      slot.release();
    }
    const order = await this.fetchOrder(ref);
    if (order === undefined) {
      throw new VenueRejectedError(
        this.venue,
        'order_not_found',
        'the cancel was accepted but the order is not listed',
      );
    }
    return order;
  }

  /** One cancel-all transaction; with an instrument, limited to its market (attribute CancelAllMarketIndex). */
  async cancelAllOrders(instrument?: InstrumentId, options?: CancelOptions): Promise<VenueOrder[]> {
    const common = this.txCommon(options?.nonce, 'cancelAllOrders');
    const slot = this.txSlot();
    let before: VenueOrder[];
    try {
      before = await this.fetchOpenOrders(instrument);
      const attributes =
        instrument === undefined
          ? undefined
          : { [LIGHTER_TX_ATTRIBUTE.cancelAllMarketIndex]: (await this.market(instrument)).marketId };
      await slot.turn;
      await this.send(
        {
          txType: LIGHTER_TX_TYPE.cancelAllOrders,
          ...common,
          timeInForce: LIGHTER_CANCEL_ALL_TIF.immediate,
          time: 0,
        },
        attributes,
      );
    } finally {
      slot.release();
    }
    const now = Date.now();
    return before.map((o) => ({ ...o, status: 'canceled', tsEventMs: now }));
  }

  /** Lighter's scheduled cancel-all (CancelAllOrders with TimeInForce 1 at `Time`); 0 aborts it. */
  async scheduleCancelAll(afterMs: number, options?: CancelOptions): Promise<void> {
    const min = this.capabilities.scheduleCancelAllMinMs ?? 0;
    if (!Number.isSafeInteger(afterMs) || afterMs < 0 || (afterMs > 0 && afterMs < min)) {
      throw new ValidationError(
        'afterMs',
        `must be 0 (disarm) or at least ${min} ms on ${this.venue}, got ${afterMs}`,
      );
    }
    const common = this.txCommon(options?.nonce, 'scheduleCancelAll');
    const slot = this.txSlot();
    try {
      await slot.turn;
      await this.send({
        txType: LIGHTER_TX_TYPE.cancelAllOrders,
        ...common,
        timeInForce: afterMs === 0 ? LIGHTER_CANCEL_ALL_TIF.abort : LIGHTER_CANCEL_ALL_TIF.scheduled,
        // The venue measures `Time` against its own clock when the transaction arrives: on
        // its clock (our clock plus its measured offset, never early), with the transit
        // allowance near the minimum.
        time: afterMs === 0 ? 0 : this.venueClock.venueDeadlineMs(scheduledCancelDelayMs(afterMs, min)),
      });
    } finally {
      slot.release();
    }
  }

  async setLeverage(
    instrument: InstrumentId,
    leverage: Decimal,
    options?: SignedActionOptions,
  ): Promise<void> {
    const common = this.txCommon(options?.nonce, 'setLeverage');
    const slot = this.txSlot();
    try {
      const m = await this.market(instrument);
      if (!leverage.isInteger() || leverage.lt(1) || leverage.gt(m.market.maxLeverage)) {
        throw new ValidationError(
          'leverage',
          `must be a whole number in [1, ${m.market.maxLeverage.toFixed()}], got ${leverage.toFixed()}`,
        );
      }
      await slot.turn;
      await this.send({
        txType: LIGHTER_TX_TYPE.updateLeverage,
        ...common,
        marketIndex: m.marketId,
        initialMarginFraction: Number(new Decimal(10_000).div(leverage).toFixed(0)),
        marginMode: 0,
      });
    } finally {
      slot.release();
    }
  }

  // ------------------------------------------------------------------ user stream

  async watchUserStream(onEvent: (event: UserStreamEvent) => void): Promise<Subscription> {
    const creds = this.creds('watchUserStream');
    const deliverFill = (fill: VenueFill) => {
      if (!addBounded(this.seenTrades, fill.tradeId, MAX_SEEN_TRADES)) return;
      this.lastFillMs = Math.max(this.lastFillMs, fill.tsEventMs);
      onEvent({ kind: 'fill', fill });
    };
    if (this.markets.size === 0) await this.loadMarkets();
    const stream = this.wsStream({
      component: VENUE_COMPONENT.userStream,
      label: `user stream ${this.who}`,
      channels: [`account_all_orders/${creds.accountIndex}`, `account_all_trades/${creds.accountIndex}`],
      auth: true,
      onSubscribed: () => {
        // Fills made while the stream was down, once each (by trade id).
        const since = Math.max(0, this.lastFillMs - CATCH_UP_OVERLAP_MS);
        this.fetchFills(since)
          .then((fills) => {
            for (const f of fills) deliverFill(f);
          })
          .catch(() => undefined);
      },
      deliver: (frame) => {
        const type = String(frame.type);
        if (type === 'update/account_all_orders') {
          for (const rows of Object.values((frame.orders as Record<string, PayloadRow[]>) ?? {})) {
            for (const row of rows) {
              if (!this.instrumentByMarketId.has(Number(row.market_index))) continue;
              onEvent({ kind: 'order', order: parseLighterOrder(row, this.ctx) });
            }
          }
        } else if (type === 'update/account_all_trades') {
          for (const rows of Object.values((frame.trades as Record<string, PayloadRow[]>) ?? {})) {
            for (const row of rows) {
              if (!this.instrumentByMarketId.has(Number(row.market_id))) continue;
              deliverFill(parseLighterTrade(row, creds.accountIndex, this.ctx));
            }
          }
        }
      },
    });
    await stream.start();
    return stream;
  }

  /** One websocket connection subscribed to `channels`; subscribed once every channel is acknowledged. */
  private wsStream(spec: {
    component: ReadinessComponent['component'];
    label: string;
    channels: string[];
    auth?: boolean;
    onSubscribed: () => void;
    deliver: (frame: PayloadRow) => void;
  }): ReconnectingStream<unknown> {
    const backoff = this.options.streamBackoff ?? { initialDelayMs: 500, maxDelayMs: 15_000 };
    const stream: ReconnectingStream<unknown> = new ReconnectingStream<unknown>({
      component: spec.component,
      label: spec.label,
      source: this.options.wsUrl,
      initialDelayMs: backoff.initialDelayMs,
      maxDelayMs: backoff.maxDelayMs,
      onClosed: () => this.streams.delete(stream),
      open: (sink: StreamAttemptSink<unknown>) => {
        const socket = new WebSocket(this.options.wsUrl);
        const pending = new Set(spec.channels);
        socket.on('open', () => {
          void (async () => {
            try {
              const auth = spec.auth ? await this.token() : undefined;
              for (const channel of spec.channels) {
                socket.send(
                  JSON.stringify({ type: 'subscribe', channel, ...(auth === undefined ? {} : { auth }) }),
                );
              }
            } catch (err) {
              sink.ended(`cannot subscribe: ${errorText(err)}`, err as Error);
              socket.terminate();
            }
          })();
        });
        socket.on('message', (data) => {
          let frame: PayloadRow;
          try {
            frame = JSON.parse(String(data)) as PayloadRow;
          } catch {
            return;
          }
          const type = String(frame.type);
          if (type === 'ping') {
            socket.send(JSON.stringify({ type: 'pong' }));
            return;
          }
          if (type === 'error') {
            const why = `${String(frame.message ?? 'error')} (code ${String(frame.code)})`;
            sink.ended(why, new VenueRejectedError(this.venue, 'subscription_refused', why));
            socket.terminate();
            return;
          }
          if (type.startsWith('subscribed/')) {
            const channel = String(frame.channel ?? '').replace(':', '/');
            pending.delete(channel);
            if (pending.size === 0) {
              sink.subscribed();
              spec.onSubscribed();
            }
          }
          sink.data(frame);
        });
        socket.on('close', () => sink.ended('websocket closed'));
        socket.on('error', (err) => sink.ended(`websocket error: ${errorText(err)}`, err));
        return { cancel: () => socket.terminate() };
      },
      deliver: (message) => spec.deliver(message as PayloadRow),
    });
    this.streams.add(stream);
    return stream;
  }

  // ------------------------------------------------------------------ readiness

  clockOffset(): VenueClockOffset | undefined {
    return this.venueClock.offset();
  }

  readiness(): ReadinessComponent[] {
    const out: ReadinessComponent[] = [this.marketsState, this.linkState];
    if (this.isTrading) {
      const creds = this.options.credentials as LighterCredentials;
      if (this.signerState) out.push(this.signerState);
      if (this.balanceState) out.push(this.balanceState);
      if (this.noncesState) out.push(this.noncesState);
      out.push(this.authTokenState(creds));
    }
    out.push(this.budgetState());
    for (const s of this.streams) out.push(s.state);
    return out;
  }

  private authTokenState(creds: LighterCredentials): ReadinessComponent {
    const now = Date.now();
    const t = this.authToken;
    if (t === undefined || t.deadlineMs <= now) {
      return {
        component: VENUE_COMPONENT.authToken,
        ready: this.signerState?.ready === true && this.authTokenError === undefined,
        reason:
          this.authTokenError !== undefined
            ? `${this.who}: no auth token: ${this.authTokenError}`
            : `${this.who}: auth token of API key ${creds.apiKeyIndex} is made on the next private read`,
      };
    }
    return {
      component: VENUE_COMPONENT.authToken,
      ready: true,
      reason: `${this.who}: auth token held until ${new Date(t.deadlineMs).toISOString()}, renewed ${Math.round(
        (this.options.authTokenRenewBeforeMs ?? 30 * 60_000) / 60_000,
      )} min before`,
    };
  }

  private budgetState(): ReadinessComponent {
    const left = this.budget.available();
    const capacity = this.budget.capacity;
    const quota = this.volumeQuotaRemaining;
    const low = left < Math.max(1, capacity * BUDGET_LOW_FRACTION);
    const quotaOut = quota !== undefined && quota <= 0;
    return {
      component: VENUE_COMPONENT.requestBudget,
      ready: !low && !quotaOut,
      reason:
        `${this.who}: ${left} of ${capacity} requests a minute left (${this.options.accountTier} tier)` +
        (quota === undefined ? '' : `, volume quota ${quota} transactions`) +
        (low ? ': nearly spent, calls will wait or be refused' : quotaOut ? ': volume quota spent' : ''),
    };
  }

  async close(): Promise<void> {
    for (const t of this.timers) clearInterval(t);
    this.timers.clear();
    await Promise.all([...this.streams].map((s) => s.close()));
    this.streams.clear();
  }
}
