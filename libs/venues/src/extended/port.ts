/**
 * ExtendedVenuePort: the VenuePort of Extended (Starknet perps), our own REST + websocket
 * client (not ccxt's extended class: its order signing is a second Stark signer beside
 * libs/signing, its fetchBalance reads spot balances and its builder fee is on; see
 * README "The Extended adapter").
 *
 * - Reads with `X-Api-Key` and our User-Agent (http.ts); one request budget per account
 *   (Extended allows 1,000 requests a minute), visible in readiness (`request budget`).
 * - Orders: the settlement (vault from `user/account/info`, the market's `l2Config`, fee =
 *   the account's taker fee, no builder fee) signed with the Stark key through libs/signing.
 *   A trading port runs the Extended signer's known-answer self-test when it opens and
 *   refuses to sign while it fails (`signer` not ready, with the failed cases). Our client
 *   order id is the venue's `externalId` as is (deterministic: a lookup by our id asks
 *   `user/orders/external/{id}`); the settlement nonce (salt) is derived from it too (no
 *   counter to keep: distinct orders get distinct salts, a resend of one the same salt).
 * - Balance: `user/balance`; its 404 is the venue's zero balance: an explicit zero with its
 *   as-of time, never an error.
 * - Funding: `marketStats.fundingRate`, the rate of the running hour (intervalMs 1 h),
 *   polled with the market stream; history of the account from `user/funding/history`.
 * - Mass cancel (`user/order/massCancel`), the dead-man switch (`user/deadmanswitch`,
 *   whole seconds rounded up; 0 disarms) and leverage (`user/leverage`).
 * - Streams: one websocket per book (`/orderbooks/{m}`: snapshot, then deltas in `seq`
 *   order; a gap re-subscribes) and the account stream (`/account`: orders, trades,
 *   balance, positions); after a reconnect the fills missed are read over REST, each fill
 *   delivered once (by trade id).
 */
import { createHash } from 'node:crypto';
import {
  type AccountId,
  addBounded,
  Decimal,
  type EpochMs,
  errorText,
  type InstrumentId,
  lazyModule,
  ValidationError,
  type VenueId,
  type VenueOrderId,
} from '@perpmesh/core';
import type {
  ExtendedChainId,
  ExtendedMarketL2Config,
  StarkSigner,
  VectorCaseResult,
} from '@perpmesh/signing';
import { RequestBudget, type RequestBudgetOptions } from '../ccxt/budget.js';
import { payloadText } from '../ccxt/payload.js';
import { publicAccessError, VenueOrderNotFoundError, VenueRejectedError } from '../errors.js';
import type {
  BookSnapshot,
  CancelOptions,
  FundingInfo,
  MarketEvent,
  OrderRef,
  PlaceOrderRequest,
  ReadinessComponent,
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
import { ClientOrderIdMap, clientOrderIdCodec } from '../shared/client-order-id.js';
import { ReconnectingStream } from '../shared/reconnecting-stream.js';
import { VenueClock, type VenueClockOffset } from '../shared/venue-clock.js';
import { EXTENDED_KIND } from './config.js';
import { type ExtendedAnswer, ExtendedHttp, type ExtendedRequest } from './http.js';
import {
  type ExtendedParseContext,
  extendedMarketName,
  type PayloadRow,
  parseBalance,
  parseFill,
  parseFunding,
  parseFundingPayment,
  parseLevels,
  parseMarket,
  parseOrder,
  parsePosition,
  payloadObject,
  payloadRows,
  zeroBalance,
} from './parse.js';
import { extendedStreamAttempt, loadExtendedWebSocket } from './ws.js';

/** Extended's limit: 1,000 requests a minute per account (VENUES.md). */
export const EXTENDED_REQUEST_BUDGET: RequestBudgetOptions = {
  capacity: 100,
  perSecond: 1000 / 60,
  maxWaitMs: 5_000,
};
/** The base tier's fees (VENUES.md), for a public port (a trading port reads `user/fees`). */
const BASE_TIER_FEES = { makerFeeRate: new Decimal(0), takerFeeRate: new Decimal('0.00025') };
/** How long a resting order lives at the venue: within both the mainnet (90 d) and testnet (28 d) limits. */
const ORDER_LIFETIME_MS = 27 * 24 * 3_600_000;
/** A market order's worst price: this far through the best opposite price (the venue wants a price). */
const MARKET_ORDER_SLIPPAGE = new Decimal('0.0075');
/** Below this share of the budget left, `request budget` turns not ready. */
const BUDGET_LOW_SHARE = 0.1;
const CATCH_UP_OVERLAP_MS = 60_000;
/** Rows per page of an account history (the venue's largest page). */
const HISTORY_PAGE = 100;
/** At most this many pages per history read (10,000 rows). */
const HISTORY_MAX_PAGES = 100;
const MAX_SEEN_TRADES = 50_000;

export const EXTENDED_CAPABILITIES: VenueCapabilities = {
  nonces: false,
  nonceFloorIsTimeMs: false,
  rejectsDuplicateClientOrderId: true,
  cancelAllOrders: true,
  postOnly: true,
  fok: false,
  fundingHistory: true,
  setLeverage: true,
  scheduleCancelAll: true,
  scheduleCancelAllMinMs: 1_000,
  venueFills: true,
};

/** The account's keys, given to a trading port only. */
export interface ExtendedAccountKeys {
  readonly apiKey: string;
  readonly signer: StarkSigner;
  /** The configured Stark public key (`l2Key`): must be the signer's and the venue's. */
  readonly starkPublicKey: bigint;
  /** The configured vault: must be the venue's `l2Vault`. */
  readonly vault: string;
}

export interface ExtendedVenuePortOptions {
  readonly venue: VenueId;
  /** `PUBLIC_ACCOUNT` for a market-data port. */
  readonly account: AccountId;
  readonly apiKeyId: string;
  readonly instruments: readonly InstrumentId[];
  readonly chainId: ExtendedChainId;
  /** The REST root (`https://api.starknet.extended.exchange` or an emulator). */
  readonly baseUrl: string;
  /** The websocket root (`wss://api.starknet.extended.exchange/stream.extended.exchange/v1`). */
  readonly wsUrl: string;
  readonly callTimeoutMs: number;
  /** Trading only. */
  readonly keys?: ExtendedAccountKeys;
  readonly budget?: RequestBudgetOptions;
  /** The signer's known-answer self-test; default the bundled Extended vectors (run once per process). */
  readonly signerSelfTest?: () => VectorCaseResult[];
  readonly fundingPollMs?: number;
  readonly streamBackoff?: { initialDelayMs: number; maxDelayMs: number };
}

/** The signers, loaded by `open()` (a start without an Extended venue never loads them). */
const signing = lazyModule('@perpmesh/signing', () => import('@perpmesh/signing'));

let processSelfTest: VectorCaseResult[] | undefined;
/** The bundled vectors run once per process (about half a second). */
function bundledSelfTest(): VectorCaseResult[] {
  processSelfTest ??= signing.get().extendedSelfTest();
  return processSelfTest;
}

/** The settlement salt of an order: 31 bits of SHA-256 of our client order id (never 0). */
export function settlementNonce(clientOrderId: string): bigint {
  const bits = createHash('sha256').update(clientOrderId, 'utf8').digest().readUInt32BE(0) & 0x7fffffff;
  return BigInt(bits === 0 ? 1 : bits);
}

interface MarketRuntime {
  readonly market: VenueMarket;
  readonly l2Config: ExtendedMarketL2Config;
}

export class ExtendedVenuePort implements VenuePort {
  readonly venue: VenueId;
  readonly account: AccountId;
  readonly apiKeyId: string;
  readonly capabilities = EXTENDED_CAPABILITIES;
  readonly #o: ExtendedVenuePortOptions;
  readonly #http: ExtendedHttp;
  /** The venue's clock offset from ours, from its answers' `Date` headers (shown, not used: its dead-man switch counts down). */
  readonly #venueClock = new VenueClock();
  readonly #budget: RequestBudget;
  readonly #budgetOptions: RequestBudgetOptions;
  readonly #clientIds = new ClientOrderIdMap(clientOrderIdCodec(EXTENDED_KIND));
  readonly #ctx: ExtendedParseContext;
  readonly #streams = new Set<ReconnectingStream<PayloadRow>>();
  readonly #timers = new Set<NodeJS.Timeout>();
  readonly #seenTrades = new Set<string>();
  #markets: Map<InstrumentId, MarketRuntime> | undefined;
  #vault: string | undefined;
  #selfTestFailure: string | undefined;
  #marketsState: ReadinessComponent;
  #linkState: ReadinessComponent;
  #balanceState: ReadinessComponent | undefined;
  #signerState: ReadinessComponent | undefined;
  #deadManState: ReadinessComponent | undefined;
  #lastFillMs: EpochMs = 0;
  #closed = false;

  private constructor(options: ExtendedVenuePortOptions) {
    this.#o = options;
    this.venue = options.venue;
    this.account = options.account;
    this.apiKeyId = options.apiKeyId;
    this.#budgetOptions = options.budget ?? EXTENDED_REQUEST_BUDGET;
    this.#budget = new RequestBudget(options.venue, this.#budgetOptions);
    this.#http = new ExtendedHttp({
      venue: options.venue,
      baseUrl: options.baseUrl,
      timeoutMs: options.callTimeoutMs,
      budget: this.#budget,
      clock: this.#venueClock,
      ...(options.keys === undefined ? {} : { apiKey: options.keys.apiKey }),
    });
    const followed = new Map(options.instruments.map((i) => [extendedMarketName(i), i]));
    this.#ctx = {
      instrumentOf: (market) => followed.get(market),
      ourClientId: (externalId) => this.#clientIds.fromVenue(externalId) ?? externalId,
    };
    this.#marketsState = {
      component: VENUE_COMPONENT.markets,
      ready: false,
      reason: `${options.venue}: markets not loaded yet from ${options.baseUrl}`,
    };
    this.#linkState = {
      component: VENUE_COMPONENT.link,
      ready: false,
      reason: `${options.venue}: no request answered yet by ${options.baseUrl}`,
    };
    if (this.#trading) {
      const who = `${options.venue}/${options.account}`;
      this.#balanceState = {
        component: VENUE_COMPONENT.balance,
        ready: false,
        reason: `${who}: balance not read yet`,
      };
      this.#signerState = {
        component: VENUE_COMPONENT.signer,
        ready: false,
        reason: `${who}: Stark signer not checked yet`,
      };
      this.#deadManState = {
        component: VENUE_COMPONENT.deadManSwitch,
        ready: true,
        reason: `${who}: not armed (execution arms it when execution.deadManSwitch is configured)`,
      };
    }
  }

  /**
   * Opens the port: a trading port runs the signer's self-test first (a failure leaves it
   * unable to sign, with the reason), then reads the account's vault and the markets. A
   * venue that is down leaves `link` / `markets` / `signer` not ready with the reason; the
   * next call tries again.
   */
  static async open(options: ExtendedVenuePortOptions): Promise<ExtendedVenuePort> {
    if (options.instruments.length === 0) throw new ValidationError('instruments', 'must list at least one');
    await Promise.all([signing.load(), loadExtendedWebSocket()]);
    const port = new ExtendedVenuePort(options);
    if (port.#trading) port.#runSelfTest();
    try {
      await port.#ensureMarkets();
      if (port.#trading && port.#selfTestFailure === undefined) await port.#ensureVault();
    } catch {
      // Reported through readiness.
    }
    return port;
  }

  get #trading(): boolean {
    return this.account !== PUBLIC_ACCOUNT && this.#o.keys !== undefined;
  }

  #keys(method: string): ExtendedAccountKeys {
    if (!this.#trading || this.#o.keys === undefined) throw publicAccessError(this.venue, method);
    return this.#o.keys;
  }

  #who(): string {
    return this.account === PUBLIC_ACCOUNT ? this.venue : `${this.venue}/${this.account}`;
  }

  #runSelfTest(): void {
    let results: VectorCaseResult[];
    try {
      results = (this.#o.signerSelfTest ?? bundledSelfTest)();
    } catch (err) {
      results = [{ section: 'self-test', name: '(run)', ok: false, detail: errorText(err) }];
    }
    const failed = results.filter((r) => !r.ok);
    if (failed.length > 0 || results.length === 0) {
      const shown = failed
        .slice(0, 3)
        .map((r) => `${r.section}/${r.name}${r.detail ? `: ${r.detail}` : ''}`)
        .join('; ');
      this.#selfTestFailure = `Extended signer self-test failed (${failed.length} of ${results.length} case(s)): ${shown || 'no cases ran'}; refusing to sign`;
      this.#signerState = {
        component: VENUE_COMPONENT.signer,
        ready: false,
        reason: `${this.#who()}: ${this.#selfTestFailure}`,
      };
      return;
    }
    this.#signerState = {
      component: VENUE_COMPONENT.signer,
      ready: false,
      reason: `${this.#who()}: self-test passed (${results.length} cases); account info (vault) not read yet`,
    };
  }

  /** The vault from `user/account/info`, checked against the configured key and vault. */
  async #ensureVault(): Promise<string> {
    if (this.#vault !== undefined) return this.#vault;
    const keys = this.#keys('createOrder');
    try {
      const info = payloadObject(
        await this.#call({ method: 'GET', path: 'user/account/info', private: true }),
        'user/account/info',
      );
      const l2Key = payloadText(info, 'l2Key', 'user/account/info');
      if (!/^0x[0-9a-fA-F]{1,64}$/.test(l2Key)) {
        throw new ValidationError(
          'user/account/info.l2Key',
          `expected a Stark key, got ${JSON.stringify(l2Key)}`,
        );
      }
      const venueKey = BigInt(l2Key);
      const vault = payloadText(info, 'l2Vault', 'user/account/info');
      const problems: string[] = [];
      if (keys.signer.publicKey !== venueKey) {
        problems.push(
          'the Stark private key does not belong to the account (its public key is not the venue l2Key)',
        );
      }
      if (keys.starkPublicKey !== venueKey)
        problems.push('starkPublicKey in the config is not the venue l2Key');
      if (keys.vault !== vault)
        problems.push(`vault in the config (${keys.vault}) is not the venue l2Vault (${vault})`);
      if (problems.length > 0) {
        throw new ValidationError(`venues.${this.venue}.accounts.${this.account}`, problems.join('; '));
      }
      this.#vault = vault;
      this.#signerState = {
        component: VENUE_COMPONENT.signer,
        ready: true,
        reason: `${this.#who()}: self-test passed; signing for vault ${vault} on ${this.#o.chainId}`,
      };
      return vault;
    } catch (err) {
      this.#signerState = {
        component: VENUE_COMPONENT.signer,
        ready: false,
        reason: `${this.#who()}: cannot sign yet: ${errorText(err)}`,
      };
      throw err;
    }
  }

  /** One REST call's data, keeping `link` readiness. */
  async #call(request: ExtendedRequest): Promise<unknown> {
    return this.#http.dataOf(request, await this.#send(request));
  }

  /** One REST answer whatever its status, keeping `link` readiness (transport failures throw). */
  async #send(request: ExtendedRequest): Promise<ExtendedAnswer> {
    try {
      const answer = await this.#http.send(request);
      if (answer.status >= 500) this.#linkDown(request.path, `HTTP ${answer.status}`);
      else this.#linkUp(request.path);
      return answer;
    } catch (err) {
      this.#linkDown(request.path, errorText(err));
      throw err;
    }
  }

  /**
   * An account history (`user/trades`, `user/funding/history`) since `sinceMs`: the venue's
   * pages are newest first, `pagination.cursor` continues to older rows; read until a page is
   * short, has no cursor or reaches past `sinceMs` (at most HISTORY_MAX_PAGES).
   */
  async #history(path: string, sinceMs: EpochMs, timeField: string): Promise<PayloadRow[]> {
    const rows: PayloadRow[] = [];
    let cursor: string | undefined;
    for (let pages = 0; pages < HISTORY_MAX_PAGES; pages += 1) {
      const request: ExtendedRequest = {
        method: 'GET',
        path,
        private: true,
        query: { startTime: sinceMs, limit: HISTORY_PAGE, cursor },
      };
      const answer = await this.#send(request);
      const page = payloadRows(this.#http.dataOf(request, answer), path);
      rows.push(...page);
      const next = (answer.body as { pagination?: { cursor?: unknown } }).pagination?.cursor;
      const oldest = page.at(-1)?.[timeField];
      if (page.length < HISTORY_PAGE || next === undefined || next === null) break;
      if (typeof oldest === 'number' && oldest < sinceMs) break;
      cursor = String(next);
    }
    return rows;
  }

  #linkUp(what: string): void {
    this.#linkState = {
      component: VENUE_COMPONENT.link,
      ready: true,
      reason: `${this.venue}: answering (${what})`,
    };
  }

  /** No answer, or a 5xx: the venue (or the way to it) is not serving. */
  #linkDown(what: string, why: string): void {
    this.#linkState = {
      component: VENUE_COMPONENT.link,
      ready: false,
      reason: `${this.venue}: ${what} failed: ${why}; check that the venue (or its emulator) at ${this.#o.baseUrl} is reachable`,
    };
  }

  async #ensureMarkets(): Promise<Map<InstrumentId, MarketRuntime>> {
    if (this.#markets !== undefined) return this.#markets;
    try {
      const rows = payloadRows(await this.#call({ method: 'GET', path: 'info/markets' }), 'info/markets');
      const fees = new Map<string, { makerFeeRate: Decimal; takerFeeRate: Decimal }>();
      if (this.#trading) {
        const feeRows = payloadRows(
          await this.#call({ method: 'GET', path: 'user/fees', private: true }),
          'user/fees',
        );
        for (const f of feeRows) {
          fees.set(String(f.market), {
            makerFeeRate: new Decimal(String(f.makerFeeRate)),
            takerFeeRate: new Decimal(String(f.takerFeeRate)),
          });
        }
      }
      const markets = new Map<InstrumentId, MarketRuntime>();
      for (const row of rows) {
        const name = String(row.name);
        const instrument = this.#ctx.instrumentOf(name);
        if (instrument === undefined) continue;
        markets.set(instrument, parseMarket(row, fees.get(name) ?? BASE_TIER_FEES));
      }
      const missing = this.#o.instruments.filter((i) => !markets.has(i));
      if (missing.length > 0) {
        throw new ValidationError(
          `venues.${this.venue}.instruments`,
          `the venue lists no ${missing.map(extendedMarketName).join(', ')} (for ${missing.join(', ')})`,
        );
      }
      this.#markets = markets;
      this.#marketsState = {
        component: VENUE_COMPONENT.markets,
        ready: true,
        reason: `${this.venue}: ${this.#o.instruments.join(', ')} loaded`,
      };
      return markets;
    } catch (err) {
      this.#marketsState = {
        component: VENUE_COMPONENT.markets,
        ready: false,
        reason: `${this.venue}: cannot load markets: ${errorText(err)}`,
      };
      throw err;
    }
  }

  async #market(instrument: InstrumentId): Promise<MarketRuntime> {
    if (!this.#o.instruments.includes(instrument)) {
      throw new ValidationError('instrument', `${instrument} is not configured on ${this.venue}`);
    }
    return (await this.#ensureMarkets()).get(instrument) as MarketRuntime;
  }

  // ---------------------------------------------------------------- market data

  async loadMarkets(): Promise<VenueMarket[]> {
    const markets = await this.#ensureMarkets();
    return this.#o.instruments.map((i) => (markets.get(i) as MarketRuntime).market);
  }

  async fetchOrderBook(instrument: InstrumentId, depth: number): Promise<BookSnapshot> {
    const { market } = await this.#market(instrument);
    const data = payloadObject(
      await this.#call({ method: 'GET', path: `info/markets/${market.venueSymbol}/orderbook` }),
      'orderbook',
    );
    return {
      kind: 'snapshot',
      instrument,
      seq: 0,
      bids: parseLevels(data.bid, 'orderbook.bid').slice(0, depth),
      asks: parseLevels(data.ask, 'orderbook.ask').slice(0, depth),
      tsEventMs: Date.now(),
    };
  }

  async fetchFunding(instruments: InstrumentId[]): Promise<FundingInfo[]> {
    const names = await Promise.all(instruments.map(async (i) => (await this.#market(i)).market.venueSymbol));
    const rows = payloadRows(
      await this.#call({ method: 'GET', path: 'info/markets', query: { market: names } }),
      'info/markets',
    );
    const now = Date.now();
    return instruments.map((instrument, k) => {
      const row = rows.find((r) => r.name === names[k]);
      if (row === undefined) throw new ValidationError('info/markets', `no ${names[k]} in the answer`);
      return parseFunding(instrument, payloadObject(row.marketStats, 'info/markets[].marketStats'), now);
    });
  }

  async watchMarket(
    instruments: InstrumentId[],
    onEvent: (event: MarketEvent) => void,
  ): Promise<Subscription> {
    const started: ReconnectingStream<PayloadRow>[] = [];
    try {
      for (const instrument of instruments) {
        const { market } = await this.#market(instrument);
        const stream = this.#stream({
          component: VENUE_COMPONENT.marketStream,
          label: `market stream ${instrument}`,
          path: `orderbooks/${market.venueSymbol}`,
          deliver: (frame) => onEvent(this.#bookEvent(instrument, frame)),
        });
        started.push(stream);
        await stream.start();
      }
    } catch (err) {
      await Promise.allSettled(started.map((s) => s.close()));
      throw err;
    }
    const poll = async () => {
      try {
        for (const f of await this.fetchFunding(instruments)) onEvent(f);
      } catch {
        // `link` says why; the next poll tries again.
      }
    };
    await poll();
    const timer = setInterval(() => void poll(), this.#o.fundingPollMs ?? 5_000);
    timer.unref();
    this.#timers.add(timer);
    return {
      close: async () => {
        clearInterval(timer);
        this.#timers.delete(timer);
        await Promise.allSettled(started.map((s) => s.close()));
      },
    };
  }

  #bookEvent(instrument: InstrumentId, frame: PayloadRow): MarketEvent {
    const data = payloadObject(frame.data, 'orderbooks frame.data');
    const seq = Number(frame.seq);
    const ts = typeof frame.ts === 'number' ? frame.ts : Date.now();
    const bids = parseLevels(data.b, 'orderbooks frame.data.b');
    const asks = parseLevels(data.a, 'orderbooks frame.data.a');
    if (frame.type === 'SNAPSHOT') return { kind: 'snapshot', instrument, seq, bids, asks, tsEventMs: ts };
    if (frame.type === 'DELTA')
      return { kind: 'delta', instrument, seq, prevSeq: seq - 1, bids, asks, tsEventMs: ts };
    throw new ValidationError(
      'orderbooks frame.type',
      `expected SNAPSHOT or DELTA, got ${JSON.stringify(frame.type)}`,
    );
  }

  #stream(o: {
    component: ReadinessComponent['component'];
    label: string;
    path: string;
    apiKey?: string;
    deliver: (frame: PayloadRow) => void;
    onResubscribed?: () => void;
  }): ReconnectingStream<PayloadRow> {
    const backoff = this.#o.streamBackoff ?? { initialDelayMs: 250, maxDelayMs: 10_000 };
    const url = `${this.#o.wsUrl.replace(/\/+$/, '')}/${o.path}`;
    let attempts = 0;
    const stream: ReconnectingStream<PayloadRow> = new ReconnectingStream<PayloadRow>({
      component: o.component,
      label: o.label,
      source: `${this.venue} websocket ${url}`,
      initialDelayMs: backoff.initialDelayMs,
      maxDelayMs: backoff.maxDelayMs,
      deliver: o.deliver,
      onClosed: () => this.#streams.delete(stream),
      onChange: (state) => {
        if (state.ready && attempts++ > 0) o.onResubscribed?.();
      },
      open: (sink) => extendedStreamAttempt(url, o.apiKey, sink),
    });
    this.#streams.add(stream);
    return stream;
  }

  // ---------------------------------------------------------------- account

  async fetchBalances(): Promise<VenueBalance[]> {
    this.#keys('fetchBalances');
    const request: ExtendedRequest = { method: 'GET', path: 'user/balance', private: true };
    try {
      const answer = await this.#send(request);
      // The venue keeps no balance row for an account that holds nothing: a 404 is a zero.
      const balance =
        answer.status === 404
          ? zeroBalance(Date.now())
          : parseBalance(payloadObject(this.#http.dataOf(request, answer), 'user/balance'), Date.now());
      const funded = balance.equity.gt(0);
      this.#balanceState = {
        component: VENUE_COMPONENT.balance,
        ready: funded,
        reason: funded
          ? `${this.#who()}: ${balance.equity.toFixed()} ${balance.asset} equity`
          : `${this.#who()}: the account holds no collateral (the venue reports a zero balance); deposit ${balance.asset} to trade`,
      };
      return [balance];
    } catch (err) {
      this.#balanceState = {
        component: VENUE_COMPONENT.balance,
        ready: false,
        reason: `${this.#who()}: cannot read the balance: ${errorText(err)}`,
      };
      throw err;
    }
  }

  async fetchPositions(): Promise<VenuePosition[]> {
    this.#keys('fetchPositions');
    await this.#ensureMarkets();
    const rows = payloadRows(
      await this.#call({ method: 'GET', path: 'user/positions', private: true }),
      'user/positions',
    );
    const now = Date.now();
    return rows
      .filter((r) => this.#ctx.instrumentOf(String(r.market)) !== undefined)
      .map((r) => parsePosition(r, this.#ctx, now))
      .filter((p) => !p.size.isZero());
  }

  async fetchOpenOrders(instrument?: InstrumentId): Promise<VenueOrder[]> {
    this.#keys('fetchOpenOrders');
    const market = instrument === undefined ? undefined : (await this.#market(instrument)).market.venueSymbol;
    const rows = payloadRows(
      await this.#call({ method: 'GET', path: 'user/orders', private: true, query: { market } }),
      'user/orders',
    );
    return rows
      .filter((r) => this.#ctx.instrumentOf(String(r.market)) !== undefined)
      .map((r) => parseOrder(r, this.#ctx));
  }

  async fetchOrder(ref: OrderRef): Promise<VenueOrder | undefined> {
    this.#keys('fetchOrder');
    await this.#market(ref.instrument);
    if (ref.venueOrderId !== undefined) {
      const request: ExtendedRequest = {
        method: 'GET',
        path: `user/orders/${ref.venueOrderId}`,
        private: true,
      };
      const answer = await this.#send(request);
      if (answer.status === 404) return undefined;
      return parseOrder(payloadObject(this.#http.dataOf(request, answer), 'user/orders/{id}'), this.#ctx);
    }
    if (ref.clientOrderId === undefined) {
      throw new ValidationError('ref', 'needs a clientOrderId or a venueOrderId');
    }
    const externalId = this.#clientIds.toVenue(ref.clientOrderId);
    const rows = payloadRows(
      await this.#call({
        method: 'GET',
        path: `user/orders/external/${encodeURIComponent(externalId)}`,
        private: true,
      }),
      'user/orders/external',
    );
    const row = rows[0];
    return row === undefined ? undefined : parseOrder(row, this.#ctx);
  }

  async fetchFills(sinceMs: EpochMs): Promise<VenueFill[]> {
    this.#keys('fetchFills');
    await this.#ensureMarkets();
    const rows = await this.#history('user/trades', sinceMs, 'createdTime');
    return rows
      .filter((r) => this.#ctx.instrumentOf(String(r.market)) !== undefined)
      .map((r) => this.#fill(r))
      .filter((f) => f.tsEventMs >= sinceMs)
      .sort((a, b) => a.tsEventMs - b.tsEventMs);
  }

  #fill(row: PayloadRow): VenueFill {
    const { externalOrderId, tradeType: _type, ...fill } = parseFill(row, this.#ctx);
    const venueMade = fill.origin === 'liquidation' || fill.origin === 'adl';
    return { ...fill, clientOrderId: venueMade ? '' : this.#ctx.ourClientId(externalOrderId) };
  }

  async fetchFundingPayments(sinceMs: EpochMs): Promise<VenueFundingPayment[]> {
    this.#keys('fetchFundingPayments');
    await this.#ensureMarkets();
    const rows = await this.#history('user/funding/history', sinceMs, 'paidTime');
    return rows
      .filter((r) => this.#ctx.instrumentOf(String(r.market)) !== undefined)
      .map((r) => parseFundingPayment(r, this.#ctx))
      .filter((p) => p.tsEventMs >= sinceMs)
      .sort((a, b) => a.tsEventMs - b.tsEventMs);
  }

  // ---------------------------------------------------------------- orders

  async createOrder(request: PlaceOrderRequest): Promise<VenueOrder> {
    const keys = this.#keys('createOrder');
    if (this.#selfTestFailure !== undefined) {
      throw new VenueRejectedError(this.venue, 'signer_self_test_failed', this.#selfTestFailure);
    }
    const { market, l2Config } = await this.#market(request.instrument);
    const vault = await this.#ensureVault();
    if (request.type === 'limit' && request.price === undefined) {
      throw new ValidationError('price', 'a limit order needs a price');
    }
    if (request.timeInForce === 'fok') {
      throw new VenueRejectedError(this.venue, 'unsupported', `${this.venue} offers no fill-or-kill orders`);
    }
    const price =
      request.type === 'market' ? await this.#marketOrderPrice(request) : (request.price as Decimal);
    const externalId = this.#clientIds.toVenue(request.clientOrderId);
    const nonce = settlementNonce(request.clientOrderId);
    const expiryEpochMillis = Date.now() + ORDER_LIFETIME_MS;
    const fee = market.takerFeeRate;
    const settlement = signing.get().signOrderSettlement(
      {
        chainId: this.#o.chainId,
        market: l2Config,
        side: request.side,
        qty: request.size,
        price,
        totalFee: fee,
        expiryEpochMillis,
        nonce,
        vault,
      },
      keys.signer,
    );
    const body = {
      id: externalId,
      market: market.venueSymbol,
      type: request.type === 'market' ? 'MARKET' : 'LIMIT',
      side: request.side === 'buy' ? 'BUY' : 'SELL',
      qty: request.size.toFixed(),
      price: price.toFixed(),
      timeInForce: request.type === 'market' || request.timeInForce === 'ioc' ? 'IOC' : 'GTT',
      expiryEpochMillis,
      fee: fee.toFixed(),
      nonce: nonce.toString(),
      postOnly: request.timeInForce === 'post_only',
      reduceOnly: request.reduceOnly,
      selfTradeProtectionLevel: 'ACCOUNT',
      settlement: signing.get().settlementBody(settlement),
    };
    const data = payloadObject(
      await this.#call({ method: 'POST', path: 'user/order', private: true, body, kind: 'create' }),
      'user/order',
    );
    const now = Date.now();
    return {
      clientOrderId: request.clientOrderId,
      venueOrderId: String(data.id) as VenueOrderId,
      instrument: request.instrument,
      side: request.side,
      type: request.type,
      timeInForce: request.timeInForce,
      ...(request.type === 'limit' ? { price } : {}),
      size: request.size,
      filled: new Decimal(0),
      status: 'accepted',
      reduceOnly: request.reduceOnly,
      tsEventMs: now,
    };
  }

  /** The worst price of a market order: through the best opposite level by the slippage, on the tick. */
  async #marketOrderPrice(request: PlaceOrderRequest): Promise<Decimal> {
    const { market } = await this.#market(request.instrument);
    const book = await this.fetchOrderBook(request.instrument, 1);
    const best = request.side === 'buy' ? book.asks[0]?.price : book.bids[0]?.price;
    if (best === undefined) {
      throw new VenueRejectedError(
        this.venue,
        'no_liquidity',
        `no ${request.side === 'buy' ? 'ask' : 'bid'} to price a market order on`,
      );
    }
    const worst =
      request.side === 'buy'
        ? best.mul(MARKET_ORDER_SLIPPAGE.plus(1))
        : best.mul(new Decimal(1).minus(MARKET_ORDER_SLIPPAGE));
    const ticks = worst.div(market.tickSize);
    return (request.side === 'buy' ? ticks.ceil() : ticks.floor()).mul(market.tickSize);
  }

  async cancelOrder(ref: OrderRef, _options?: CancelOptions): Promise<VenueOrder> {
    this.#keys('cancelOrder');
    await this.#market(ref.instrument);
    let request: ExtendedRequest;
    if (ref.venueOrderId !== undefined) {
      request = { method: 'DELETE', path: `user/order/${ref.venueOrderId}`, private: true };
    } else if (ref.clientOrderId !== undefined) {
      request = {
        method: 'DELETE',
        path: 'user/order',
        private: true,
        query: { externalId: this.#clientIds.toVenue(ref.clientOrderId) },
      };
    } else {
      throw new ValidationError('ref', 'needs a clientOrderId or a venueOrderId');
    }
    this.#http.doneOf(request, await this.#send(request));
    const order = await this.fetchOrder(ref);
    if (order === undefined) {
      throw new VenueOrderNotFoundError(
        this.venue,
        `order ${ref.clientOrderId ?? ref.venueOrderId} not found after cancel`,
      );
    }
    return order;
  }

  /**
   * Mass cancel (`user/order/massCancel`, `cancelAll` for the market or the account). The
   * venue answers with no list: the orders that were open when asked are returned as canceled.
   */
  async cancelAllOrders(instrument?: InstrumentId, _options?: CancelOptions): Promise<VenueOrder[]> {
    this.#keys('cancelAllOrders');
    const open = await this.fetchOpenOrders(instrument);
    const market = instrument === undefined ? undefined : (await this.#market(instrument)).market.venueSymbol;
    await this.#call({
      method: 'POST',
      path: 'user/order/massCancel',
      private: true,
      body: market === undefined ? { cancelAll: true } : { cancelAll: true, markets: [market] },
    });
    const now = Date.now();
    return open.map((o) => ({ ...o, status: 'canceled' as const, reason: 'mass_cancel', tsEventMs: now }));
  }

  async setLeverage(instrument: InstrumentId, leverage: Decimal): Promise<void> {
    this.#keys('setLeverage');
    const { market } = await this.#market(instrument);
    if (!leverage.isInteger() || leverage.lt(1)) {
      throw new ValidationError(
        'leverage',
        `${this.venue} takes a whole leverage >= 1, got ${leverage.toFixed()}`,
      );
    }
    await this.#call({
      method: 'PATCH',
      path: 'user/leverage',
      private: true,
      body: { market: market.venueSymbol, leverage: leverage.toFixed() },
    });
  }

  /** The venue's dead-man switch: `countdownTime` in whole seconds (rounded up); 0 disarms. */
  async scheduleCancelAll(afterMs: number, _options?: CancelOptions): Promise<void> {
    this.#keys('scheduleCancelAll');
    if (!Number.isSafeInteger(afterMs) || afterMs < 0) {
      throw new ValidationError('afterMs', `must be a whole number of ms >= 0, got ${afterMs}`);
    }
    const seconds = Math.ceil(afterMs / 1000);
    const request: ExtendedRequest = {
      method: 'POST',
      path: 'user/deadmanswitch',
      private: true,
      query: { countdownTime: seconds },
    };
    try {
      this.#http.doneOf(request, await this.#send(request));
    } catch (err) {
      this.#deadManState = {
        component: VENUE_COMPONENT.deadManSwitch,
        ready: false,
        reason: `${this.#who()}: could not ${seconds === 0 ? 'disarm' : 'arm'} the venue's dead-man switch: ${errorText(err)}`,
      };
      throw err;
    }
    this.#deadManState = {
      component: VENUE_COMPONENT.deadManSwitch,
      ready: true,
      reason:
        seconds === 0
          ? `${this.#who()}: disarmed`
          : `${this.#who()}: armed, the venue cancels every open order unless refreshed within ${seconds} s (last refresh ${new Date().toISOString()})`,
    };
  }

  async watchUserStream(onEvent: (event: UserStreamEvent) => void): Promise<Subscription> {
    const keys = this.#keys('watchUserStream');
    await this.#ensureMarkets();
    const deliverFill = (fill: VenueFill) => {
      if (!addBounded(this.#seenTrades, fill.tradeId, MAX_SEEN_TRADES)) return;
      this.#lastFillMs = Math.max(this.#lastFillMs, fill.tsEventMs);
      onEvent({ kind: 'fill', fill });
    };
    const catchUp = async () => {
      try {
        for (const fill of await this.fetchFills(Math.max(0, this.#lastFillMs - CATCH_UP_OVERLAP_MS)))
          deliverFill(fill);
      } catch {
        // `link` says why; the next reconnect tries again.
      }
    };
    const stream = this.#stream({
      component: VENUE_COMPONENT.userStream,
      label: `user stream ${this.#who()}`,
      path: 'account',
      apiKey: keys.apiKey,
      onResubscribed: () => void catchUp(),
      deliver: (frame) => {
        const data = payloadObject(frame.data ?? {}, 'account frame.data');
        const now = Date.now();
        const followed = (r: PayloadRow) => this.#ctx.instrumentOf(String(r.market)) !== undefined;
        switch (frame.type) {
          case 'ORDER':
            for (const r of payloadRows(data.orders, 'account ORDER.orders').filter(followed)) {
              onEvent({ kind: 'order', order: parseOrder(r, this.#ctx) });
            }
            break;
          case 'TRADE':
            for (const r of payloadRows(data.trades, 'account TRADE.trades').filter(followed))
              deliverFill(this.#fill(r));
            break;
          case 'BALANCE':
            onEvent({
              kind: 'balance',
              balance: parseBalance(payloadObject(data.balance, 'account BALANCE.balance'), now),
            });
            break;
          case 'POSITION':
            for (const r of payloadRows(data.positions, 'account POSITION.positions').filter(followed)) {
              onEvent({ kind: 'position', position: parsePosition(r, this.#ctx, now) });
            }
            break;
          default:
          // Other account frames (spot balances, notifications) are not the port's.
        }
      },
    });
    await stream.start();
    return { close: () => stream.close() };
  }

  clockOffset(): VenueClockOffset | undefined {
    return this.#venueClock.offset();
  }

  readiness(): ReadinessComponent[] {
    const tokens = this.#budget.available();
    const capacity = this.#budget.capacity;
    const low = tokens < capacity * BUDGET_LOW_SHARE;
    const perMinute = Math.round(this.#budgetOptions.perSecond * 60);
    const budget: ReadinessComponent = {
      component: VENUE_COMPONENT.requestBudget,
      ready: !low,
      reason: `${this.#who()}: ${tokens} of ${capacity} requests free now (refills ${perMinute}/min)${low ? '; calls will wait or fail as rate-limited' : ''}`,
    };
    return [
      this.#marketsState,
      this.#linkState,
      budget,
      ...(this.#signerState ? [this.#signerState] : []),
      ...(this.#balanceState ? [this.#balanceState] : []),
      ...(this.#deadManState ? [this.#deadManState] : []),
      ...[...this.#streams].map((s) => s.state),
    ];
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    for (const t of this.#timers) clearInterval(t);
    this.#timers.clear();
    await Promise.allSettled([...this.#streams].map((s) => s.close()));
  }
}
