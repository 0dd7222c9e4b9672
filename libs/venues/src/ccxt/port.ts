/**
 * CcxtVenuePort: the one VenuePort over ccxt for every ccxt venue (Binance USD-M, OKX,
 * Hyperliquid); what differs per venue is its profile (profile.ts). One port per account
 * (`access: trading`, with the account's credentials) or one public port (no keys).
 *
 * - No blind retries: ccxt's retries are off; a create that timed out or met a 5xx is
 *   `VenueUnknownOutcomeError` (ask `fetchOrder({ clientOrderId })`), a 429 is
 *   `RateLimitedError`. Every REST call first takes a token of the account's request
 *   budget (budget.ts), on top of ccxt's own limiter.
 * - Books: ccxt keeps the venue's book from a snapshot plus the sequenced diff stream and
 *   throws on a sequence gap; the stream then re-subscribes (a new snapshot). Each update
 *   is delivered as a snapshot carrying the venue's sequence number. Book levels come from
 *   ccxt as JS numbers: they are turned back into decimals through their shortest text,
 *   which is the venue's text for any price or size of up to 15 significant digits.
 * - Funding: polled through the profile (the interval is read from the venue on every
 *   reading, never cached), delivered with the market stream.
 * - User stream: orders and fills from ccxt's private websocket; after a reconnect the
 *   fills since the last one seen are fetched over REST, and every fill is delivered once
 *   (by trade id).
 * - A venue that is slow or down at open leaves `markets` / `link` not ready with the
 *   reason; the port still opens and retries on the next call.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import {
  type AccountId,
  addBounded,
  type ClientOrderId,
  Decimal,
  type EpochMs,
  errorText,
  type InstrumentId,
  setBounded,
  sleep,
  ValidationError,
  type VenueId,
  type VenueOrderId,
} from '@perpmesh/core';
import ccxt from 'ccxt';
import { publicAccessError, VenueOrderNotFoundError, VenueRejectedError } from '../errors.js';
import type {
  BookSnapshot,
  FundingInfo,
  MarketEvent,
  OrderRef,
  PlaceOrderRequest,
  ReadinessComponent,
  SignedActionOptions,
  Subscription,
  UserStreamEvent,
  VenueBalance,
  VenueFill,
  VenueFundingPayment,
  VenueMarket,
  VenueOrder,
  VenuePort,
  VenuePosition,
} from '../port.js';
import { PUBLIC_ACCOUNT, VENUE_COMPONENT } from '../port.js';
import { portHolderName } from '../readiness.js';
import { ClientOrderIdMap } from '../shared/client-order-id.js';
import { ReconnectingStream, type StreamAttemptSink } from '../shared/reconnecting-stream.js';
import { VenueClock, type VenueClockOffset } from '../shared/venue-clock.js';
import { DEFAULT_REQUEST_BUDGET, RequestBudget, type RequestBudgetOptions } from './budget.js';
import { type CallKind, venueErrorFromCcxt } from './errors.js';
import type { CcxtEndpoints, CcxtExchange, CcxtMarket, CcxtVenueProfile, ParseContext } from './profile.js';

export interface CcxtVenuePortOptions {
  readonly venue: VenueId;
  /** `PUBLIC_ACCOUNT` for a market-data port. */
  readonly account: AccountId;
  readonly apiKeyId: string;
  readonly profile: CcxtVenueProfile;
  /** Our instruments followed on this venue. */
  readonly instruments: readonly InstrumentId[];
  readonly endpoints: CcxtEndpoints;
  /** ccxt's credential properties (`apiKey`, `secret`, ...): trading only; absent = public. */
  readonly credentials?: Readonly<Record<string, string>>;
  /** Deadline of each REST call (ccxt's `timeout`). */
  readonly callTimeoutMs: number;
  readonly budget?: RequestBudgetOptions;
  /** How often funding is read while a market stream runs. Default 5 s. */
  readonly fundingPollMs?: number;
  readonly streamBackoff?: { initialDelayMs: number; maxDelayMs: number };
}

const MAX_SEEN_TRADES = 50_000;
/** A venue-clock deadline (scheduled cancel-all) uses an offset measured within this. */
const CLOCK_REMEASURE_MS = 60_000;
/** Venue order ids whose client id a fill without one looks up; an older one is asked of the venue. */
const MAX_REMEMBERED_ORDERS = 100_000;
/** How far before the last fill seen a catch-up after a reconnect looks, for fills stamped out of order. */
const CATCH_UP_OVERLAP_MS = 60_000;

export class CcxtVenuePort implements VenuePort {
  readonly venue: VenueId;
  readonly account: AccountId;
  readonly apiKeyId: string;
  readonly capabilities;
  private readonly exchange: CcxtExchange;
  private readonly budget: RequestBudget;
  private readonly ctx: ParseContext;
  private readonly instrumentByVenueSymbol = new Map<string, InstrumentId>();
  private marketsState: ReadinessComponent;
  private linkState: ReadinessComponent;
  private balanceState: ReadinessComponent | undefined;
  private readonly streams = new Set<ReconnectingStream<unknown>>();
  private readonly timers = new Set<NodeJS.Timeout>();
  private readonly delayed = new Set<NodeJS.Timeout>();
  private readonly observed = new WeakSet<Promise<unknown>>();
  private readonly clientIdByVenueOrderId = new Map<VenueOrderId, ClientOrderId>();
  private readonly clientIds: ClientOrderIdMap;
  /** The nonce the signed action running in this async context carries (ours, from execution). */
  private readonly signingNonce = new AsyncLocalStorage<number>();
  private lastClockNonce = 0;
  private clockResync: Promise<void> | undefined;
  /** The venue's clock offset from ours, from its server time (`fetchTime`, where ccxt has it). */
  private readonly venueClock = new VenueClock();
  private clockMeasure: Promise<void> | undefined;
  private readonly seenTrades = new Set<string>();
  private lastFillMs: EpochMs = 0;
  private closed = false;

  private constructor(private readonly options: CcxtVenuePortOptions) {
    this.venue = options.venue;
    this.account = options.account;
    this.apiKeyId = options.apiKeyId;
    this.capabilities = options.profile.capabilities;
    const Exchange = (ccxt.pro as unknown as Record<string, new (config: object) => CcxtExchange>)[
      options.profile.ccxtId
    ];
    if (Exchange === undefined) {
      throw new ValidationError(
        'kind',
        `ccxt has no websocket class ${JSON.stringify(options.profile.ccxtId)}`,
      );
    }
    this.exchange = new Exchange({
      enableRateLimit: true,
      timeout: options.callTimeoutMs,
      ...(options.credentials ?? {}),
      options: { maxRetriesOnFailure: 0, ...options.profile.ccxtOptions() },
    });
    options.profile.pointAt(this.exchange, options.endpoints);
    // ccxt schedules its keep-alives (Binance's listenKey refresh) with plain timers that
    // outlive close() and hold the process: track them, unref them, clear them at close.
    this.exchange.delay = (timeoutMs: number, method: unknown, ...args: unknown[]) => {
      const timer = setTimeout(() => {
        this.delayed.delete(timer);
        if (!this.closed) (this.exchange.spawn as (m: unknown, ...a: unknown[]) => unknown)(method, ...args);
      }, timeoutMs);
      timer.unref();
      this.delayed.add(timer);
    };
    this.budget = new RequestBudget(options.venue, options.budget ?? DEFAULT_REQUEST_BUDGET);
    for (const instrument of options.instruments) {
      this.instrumentByVenueSymbol.set(options.profile.venueSymbol(instrument), instrument);
    }
    this.clientIds = new ClientOrderIdMap(options.profile.clientOrderIds);
    const settle = options.instruments[0]?.split('-')[1] ?? '';
    this.ctx = {
      venue: options.venue,
      settleAsset: settle,
      instrumentOfVenueSymbol: (venueSymbol) => this.instrumentByVenueSymbol.get(venueSymbol),
      ourClientId: (venueClientId) => this.clientIds.fromVenue(venueClientId) ?? venueClientId,
      contractSize: (instrument) => this.contractSize(instrument),
    };
    options.profile.configure?.(this.exchange);
    if (options.profile.capabilities.nonces) {
      // Our nonces (allocated by execution from the API key's one sequence in the state
      // store) instead of ccxt's millisecond clock, which collides under concurrency. Each
      // signed call runs with its nonce in an async context that ccxt's nonce() reads, so
      // concurrent orders and cancels each sign with exactly the nonce they brought. Only
      // an order that brought none falls back to the clock (cancels, leverage and the
      // scheduled cancel must bring one: signedNonce). ccxt's incrementingNonce would bump
      // ours past its own last one: replaced too.
      const next = () => {
        const nonce = this.signingNonce.getStore() ?? Math.max(Date.now(), this.lastClockNonce + 1);
        this.lastClockNonce = Math.max(this.lastClockNonce, nonce);
        return nonce;
      };
      this.exchange.nonce = next;
      this.exchange.incrementingNonce = next;
    }
    const where = options.endpoints.baseUrl ?? (options.endpoints.testnet ? 'the testnet' : 'the venue');
    this.marketsState = {
      component: VENUE_COMPONENT.markets,
      ready: false,
      reason: `${options.venue}: markets not loaded yet from ${where}`,
    };
    this.linkState = {
      component: VENUE_COMPONENT.link,
      ready: false,
      reason: `${options.venue}: no request answered yet by ${where}`,
    };
    if (this.isTrading) {
      this.balanceState = {
        component: VENUE_COMPONENT.balance,
        ready: false,
        reason: `${options.venue}/${options.account}: balance not read yet`,
      };
    }
  }

  /**
   * Builds the port and tries to load the markets once; a venue that is down leaves the
   * port not ready with the reason (never a throw: the process keeps running).
   */
  static async open(options: CcxtVenuePortOptions): Promise<CcxtVenuePort> {
    if (options.instruments.length === 0) throw new ValidationError('instruments', 'must list at least one');
    const port = new CcxtVenuePort(options);
    const ws = options.endpoints.wsUrl;
    if (ws?.startsWith('ws://')) await port.exchange.loadHttpProxyAgent();
    try {
      await port.ensureMarkets();
    } catch {
      // Reported through readiness; the next call tries again.
    }
    await port.measureClock();
    return port;
  }

  private get isTrading(): boolean {
    return this.account !== PUBLIC_ACCOUNT && this.options.credentials !== undefined;
  }

  private requireTrading(method: string): void {
    if (!this.isTrading) throw publicAccessError(this.venue, method);
  }

  /** One REST call: budget token, ccxt, errors mapped, link readiness kept. */
  private async call<T>(what: string, kind: CallKind, fn: () => Promise<T>): Promise<T> {
    await this.budget.take();
    try {
      const result = await fn();
      this.linkState = {
        component: VENUE_COMPONENT.link,
        ready: true,
        reason: `${this.venue}: answering (${what})`,
      };
      return result;
    } catch (err) {
      const mapped = venueErrorFromCcxt(this.venue, err, kind, this.options.profile.rejectReason);
      if (err instanceof ccxt.InvalidNonce && this.exchange.options.adjustForTimeDifference === true) {
        // The venue refused our request's time (its clock moved against ours since the last
        // measure): measure the offset again for the next call; this one did nothing.
        await this.resyncClock();
      }
      if (err instanceof ccxt.OperationFailed) {
        this.linkState = {
          component: VENUE_COMPONENT.link,
          ready: false,
          reason: `${this.venue}: ${what} failed: ${mapped.message}; check that the venue (or its emulator) is reachable`,
        };
      }
      throw mapped;
    }
  }

  /**
   * Reads the venue's server time once (ccxt `fetchTime`, where the venue has it) into the
   * venue clock; one measure at a time. A failure keeps the last measure: it is never an error
   * of the caller's call, and it does not mark the link down.
   */
  private measureClock(): Promise<void> {
    const has = (this.exchange as unknown as { has?: Record<string, unknown> }).has;
    if (has?.fetchTime !== true) return Promise.resolve();
    if (this.clockMeasure) return this.clockMeasure;
    const fetchTime = this.exchange.fetchTime as () => Promise<number | undefined>;
    const measure: Promise<void> = (async () => {
      await this.budget.take();
      const sentAtMs = Date.now();
      const venueTimeMs = await fetchTime.call(this.exchange);
      if (typeof venueTimeMs === 'number') this.venueClock.observe(venueTimeMs, sentAtMs, Date.now());
    })()
      .catch(() => undefined)
      .finally(() => {
        if (this.clockMeasure === measure) this.clockMeasure = undefined;
      });
    this.clockMeasure = measure;
    return measure;
  }

  clockOffset(): VenueClockOffset | undefined {
    return this.venueClock.offset();
  }

  /** ccxt's offset to the venue's clock, measured again (one measure at a time). */
  private resyncClock(): Promise<void> {
    if (this.clockResync) return this.clockResync;
    const load = this.exchange.loadTimeDifference as () => Promise<unknown>;
    const resync: Promise<void> = Promise.resolve()
      .then(() => Promise.all([load.call(this.exchange), this.measureClock()]))
      // A failed measure keeps the old offset: the next refusal measures again.
      .then(
        () => undefined,
        () => undefined,
      )
      .finally(() => {
        if (this.clockResync === resync) this.clockResync = undefined;
      });
    this.clockResync = resync;
    return resync;
  }

  private async ensureMarkets(reload = false): Promise<Record<string, CcxtMarket>> {
    if (this.exchange.markets !== undefined && !reload) return this.exchange.markets;
    try {
      const markets = await this.call('load markets', 'other', () => this.exchange.loadMarkets(reload));
      const missing = this.options.instruments
        .map((i) => this.options.profile.ccxtSymbol(i))
        .filter((s) => markets[s] === undefined);
      if (missing.length > 0) {
        throw new ValidationError(
          `venues.${this.venue}.instruments`,
          `the venue lists no ${missing.join(', ')}; it has ${Object.keys(markets).slice(0, 10).join(', ')}...`,
        );
      }
      this.marketsState = {
        component: VENUE_COMPONENT.markets,
        ready: true,
        reason: `${this.venue}: ${this.options.instruments.join(', ')} loaded`,
      };
      return markets;
    } catch (err) {
      this.marketsState = {
        component: VENUE_COMPONENT.markets,
        ready: false,
        reason: `${this.venue}: cannot load markets: ${errorText(err)}`,
      };
      throw err;
    }
  }

  /** Base units per contract of the instrument as ccxt loaded it (1 when the venue trades base units). */
  private contractSize(instrument: InstrumentId): Decimal {
    const size = this.exchange.markets?.[this.options.profile.ccxtSymbol(instrument)]?.contractSize;
    return size === undefined ? new Decimal(1) : decimalOf(size, `${instrument} contractSize`);
  }

  private symbol(instrument: InstrumentId): string {
    if (!this.options.instruments.includes(instrument)) {
      throw new ValidationError('instrument', `${instrument} is not configured on ${this.venue}`);
    }
    return this.options.profile.ccxtSymbol(instrument);
  }

  // ---------------------------------------------------------------- market data

  async loadMarkets(): Promise<VenueMarket[]> {
    const markets = await this.ensureMarkets();
    const intervals = await this.call('funding intervals', 'other', () =>
      this.options.profile.fetchFundingIntervals(this.exchange, this.options.instruments, this.ctx),
    );
    return this.options.instruments.map((instrument) => {
      const m = markets[this.symbol(instrument)] as CcxtMarket;
      const contract = this.contractSize(instrument);
      const tick = decimalOf(m.precision.price ?? Number.NaN, `${m.symbol} precision.price`);
      const lot = decimalOf(m.precision.amount ?? Number.NaN, `${m.symbol} precision.amount`).mul(contract);
      return {
        instrument,
        venueSymbol: this.options.profile.venueSymbol(instrument),
        base: m.base,
        quote: m.quote,
        settle: m.settle ?? m.quote,
        tickSize: tick,
        lotSize: lot,
        minSize:
          m.limits.amount?.min === undefined ? lot : decimalOf(m.limits.amount.min, 'limits.amount.min'),
        minNotional:
          m.limits.cost?.min === undefined ? new Decimal(0) : decimalOf(m.limits.cost.min, 'limits.cost.min'),
        maxLeverage:
          m.limits.leverage?.max === undefined
            ? new Decimal(1)
            : decimalOf(m.limits.leverage.max, 'limits.leverage.max'),
        fundingIntervalMs: intervals.get(instrument) as number,
        makerFeeRate: decimalOf(m.maker ?? 0, 'maker'),
        takerFeeRate: decimalOf(m.taker ?? 0, 'taker'),
      };
    });
  }

  async fetchOrderBook(instrument: InstrumentId, depth: number): Promise<BookSnapshot> {
    await this.ensureMarkets();
    const symbol = this.symbol(instrument);
    const book = await this.call('order book', 'other', () => this.exchange.fetchOrderBook(symbol, depth));
    return this.bookSnapshot(instrument, book);
  }

  private bookSnapshot(
    instrument: InstrumentId,
    book: { bids: [number, number][]; asks: [number, number][]; nonce?: number; timestamp?: number },
  ): BookSnapshot {
    const contract = this.contractSize(instrument);
    const level = ([price, size]: [number, number]) => ({
      price: decimalOf(price, 'book price'),
      size: decimalOf(size, 'book size').mul(contract),
    });
    return {
      kind: 'snapshot',
      instrument,
      seq: book.nonce ?? 0,
      bids: book.bids.map(level),
      asks: book.asks.map(level),
      tsEventMs: book.timestamp ?? Date.now(),
    };
  }

  async fetchFunding(instruments: InstrumentId[]): Promise<FundingInfo[]> {
    await this.ensureMarkets();
    for (const i of instruments) this.symbol(i);
    return this.call('funding', 'other', () =>
      this.options.profile.fetchFunding(this.exchange, instruments, this.ctx),
    );
  }

  async watchMarket(
    instruments: InstrumentId[],
    onEvent: (event: MarketEvent) => void,
  ): Promise<Subscription> {
    await this.ensureMarkets();
    const symbols = instruments.map((i) => [i, this.symbol(i)] as const);
    const started: ReconnectingStream<unknown>[] = [];
    try {
      for (const [instrument, symbol] of symbols) {
        const stream = this.stream<BookSnapshot>({
          component: VENUE_COMPONENT.marketStream,
          label: `market stream ${instrument}`,
          deliver: (snapshot) => onEvent(snapshot),
          run: async (sink, live) => {
            let first = true;
            // ccxt keeps a book it already follows and answers the next watch only on a
            // change: hand the book it holds at once, so a quiet book still subscribes.
            const held = this.exchange.orderbooks?.[symbol];
            if (held?.nonce !== undefined) {
              sink.subscribed();
              sink.data(this.bookSnapshot(instrument, held));
              first = false;
            }
            while (live()) {
              const pending = this.exchange.watchOrderBook(symbol);
              this.observeFutures();
              const book = await pending;
              if (!live()) return;
              if (first) sink.subscribed();
              first = false;
              sink.data(this.bookSnapshot(instrument, book));
            }
          },
        });
        started.push(stream as ReconnectingStream<unknown>);
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
        // The link component says why; the next poll tries again.
      }
    };
    await poll();
    const timer = setInterval(() => void poll(), this.options.fundingPollMs ?? 5_000);
    timer.unref();
    this.timers.add(timer);
    return {
      close: async () => {
        clearInterval(timer);
        this.timers.delete(timer);
        await Promise.allSettled(started.map((s) => s.close()));
      },
    };
  }

  /** A ReconnectingStream over a ccxt watch loop: `run` throws when the attempt breaks. */
  private stream<M>(o: {
    component: ReconnectingStream<M>['state']['component'];
    label: string;
    deliver: (message: M) => void;
    run: (sink: StreamAttemptSink<M>, live: () => boolean) => Promise<void>;
  }): ReconnectingStream<M> {
    const backoff = this.options.streamBackoff ?? { initialDelayMs: 250, maxDelayMs: 10_000 };
    const source = `${this.venue} websocket${this.options.endpoints.wsUrl ? ` at ${this.options.endpoints.wsUrl}` : ''}`;
    const stream: ReconnectingStream<M> = new ReconnectingStream<M>({
      component: o.component,
      label: o.label,
      source,
      initialDelayMs: backoff.initialDelayMs,
      maxDelayMs: backoff.maxDelayMs,
      deliver: o.deliver,
      onClosed: () => this.streams.delete(stream as ReconnectingStream<unknown>),
      open: (sink) => {
        let live = true;
        o.run(sink, () => live && !this.closed).then(
          () => sink.ended('stream ended'),
          (err) => sink.ended(errorText(venueErrorFromCcxt(this.venue, err, 'other')), err as Error),
        );
        return {
          cancel: () => {
            live = false;
          },
        };
      },
    });
    this.streams.add(stream as ReconnectingStream<unknown>);
    return stream;
  }

  // ---------------------------------------------------------------- account

  async fetchBalances(): Promise<VenueBalance[]> {
    this.requireTrading('fetchBalances');
    try {
      const balances = await this.call('balance', 'other', () =>
        this.options.profile.fetchBalances(this.exchange, this.ctx),
      );
      const settle = balances.find((b) => b.asset === this.ctx.settleAsset);
      const funded = settle?.equity.gt(0) === true;
      this.balanceState = {
        component: VENUE_COMPONENT.balance,
        ready: funded,
        reason:
          funded && settle
            ? `${this.venue}/${this.account}: ${settle.equity.toFixed()} ${settle.asset} equity`
            : `${this.venue}/${this.account}: no ${this.ctx.settleAsset} in the futures account; deposit or transfer collateral to it`,
      };
      return balances;
    } catch (err) {
      this.balanceState = {
        component: VENUE_COMPONENT.balance,
        ready: false,
        reason: `${this.venue}/${this.account}: cannot read the balance: ${errorText(err)}`,
      };
      throw err;
    }
  }

  async fetchPositions(): Promise<VenuePosition[]> {
    this.requireTrading('fetchPositions');
    await this.ensureMarkets();
    return this.call('positions', 'other', () =>
      this.options.profile.fetchPositions(this.exchange, this.ctx),
    );
  }

  /** Funding paid or received since `sinceMs`, from the venue's history. */
  async fetchFundingPayments(sinceMs: EpochMs): Promise<VenueFundingPayment[]> {
    this.requireTrading('fetchFundingPayments');
    const fetch = this.options.profile.fetchFundingPayments;
    if (fetch === undefined || !this.capabilities.fundingHistory)
      throw this.unsupported('fetchFundingPayments');
    await this.ensureMarkets();
    return this.call('funding history', 'other', () => fetch(this.exchange, sinceMs, this.ctx));
  }

  private venueClientId(clientOrderId: ClientOrderId): string {
    return this.clientIds.toVenue(clientOrderId);
  }

  private unsupported(method: string): VenueRejectedError {
    return new VenueRejectedError(this.venue, 'unsupported', `${method} is not offered by ${this.venue}`);
  }

  /**
   * The nonce a signed action other than an order carries: on a nonce venue it must come
   * from the caller (the API key's one sequence); a clock nonce beside that sequence could
   * clash with one execution allocated.
   */
  private signedNonce(method: string, options: SignedActionOptions | undefined): bigint | undefined {
    if (!this.capabilities.nonces) return undefined;
    if (options?.nonce === undefined) {
      throw new ValidationError(
        'nonce',
        `${method} on ${this.venue} is signed with a nonce: pass options.nonce from the API key's sequence`,
      );
    }
    return options.nonce;
  }

  /** Runs a ccxt call that signs, with our nonce as the one it signs (none: ccxt's own). */
  private signed<T>(nonce: bigint | undefined, fn: () => Promise<T>): Promise<T> {
    if (nonce === undefined) return fn();
    if (nonce > BigInt(Number.MAX_SAFE_INTEGER) || nonce < 0n) {
      throw new ValidationError('nonce', `must be a whole number in 0..2^53-1, got ${nonce}`);
    }
    return this.signingNonce.run(Number(nonce), fn);
  }

  private remember(order: VenueOrder): VenueOrder {
    setBounded(this.clientIdByVenueOrderId, order.venueOrderId, order.clientOrderId, MAX_REMEMBERED_ORDERS);
    return order;
  }

  async fetchOpenOrders(instrument?: InstrumentId): Promise<VenueOrder[]> {
    this.requireTrading('fetchOpenOrders');
    await this.ensureMarkets();
    const out: VenueOrder[] = [];
    for (const i of instrument === undefined ? this.options.instruments : [instrument]) {
      const symbol = this.symbol(i);
      const orders = await this.call('open orders', 'other', () => this.exchange.fetchOpenOrders(symbol));
      for (const o of orders) out.push(this.remember(this.options.profile.parseOrder(o.info, this.ctx)));
    }
    return out;
  }

  async fetchOrder(ref: OrderRef): Promise<VenueOrder | undefined> {
    this.requireTrading('fetchOrder');
    await this.ensureMarkets();
    const symbol = this.symbol(ref.instrument);
    try {
      const order = await this.call('order', 'other', () =>
        this.exchange.fetchOrder(ref.venueOrderId, symbol, this.refParams(ref)),
      );
      return this.remember(this.options.profile.parseOrder(order.info, this.ctx));
    } catch (err) {
      if (err instanceof VenueOrderNotFoundError) return undefined;
      throw err;
    }
  }

  private refParams(ref: OrderRef): Record<string, unknown> {
    if (ref.venueOrderId === undefined && ref.clientOrderId === undefined) {
      throw new ValidationError('ref', 'needs venueOrderId or clientOrderId');
    }
    return ref.venueOrderId === undefined && ref.clientOrderId !== undefined
      ? this.options.profile.clientIdParams(this.venueClientId(ref.clientOrderId))
      : {};
  }

  async fetchFills(sinceMs: EpochMs): Promise<VenueFill[]> {
    this.requireTrading('fetchFills');
    await this.ensureMarkets();
    const out: VenueFill[] = [];
    for (const instrument of this.options.instruments) {
      const symbol = this.symbol(instrument);
      const trades = await this.call('fills', 'other', () => this.exchange.fetchMyTrades(symbol, sinceMs));
      for (const t of trades)
        out.push(await this.completeFill(this.options.profile.parseFill(t.info, this.ctx)));
    }
    return out.sort((a, b) => a.tsEventMs - b.tsEventMs);
  }

  /** A fill whose venue payload has no client id gets it from the orders we know, else from the venue. */
  private async completeFill(
    fill: Omit<VenueFill, 'clientOrderId'> & { clientOrderId?: ClientOrderId },
  ): Promise<VenueFill> {
    if (fill.origin !== undefined && fill.origin !== 'order') return { ...fill, clientOrderId: '' };
    let clientOrderId = fill.clientOrderId ?? this.clientIdByVenueOrderId.get(fill.venueOrderId);
    if (clientOrderId === undefined) {
      const order = await this.fetchOrder({ instrument: fill.instrument, venueOrderId: fill.venueOrderId });
      clientOrderId = order?.clientOrderId ?? '';
    }
    // A fill of an order the venue placed itself (a liquidation): no order of ours.
    const origin = this.venueMadeOrigin(clientOrderId);
    return origin === undefined ? { ...fill, clientOrderId } : { ...fill, origin, clientOrderId: '' };
  }

  private venueMadeOrigin(clientOrderId: string): VenueFill['origin'] | undefined {
    return clientOrderId === '' ? undefined : this.options.profile.venueMadeOrigin?.(clientOrderId);
  }

  async createOrder(request: PlaceOrderRequest): Promise<VenueOrder> {
    this.requireTrading('createOrder');
    await this.ensureMarkets();
    const symbol = this.symbol(request.instrument);
    if (request.type === 'limit' && request.price === undefined) {
      throw new ValidationError('price', 'is required for a limit order');
    }
    const params = this.options.profile.orderParams({
      clientOrderId: this.venueClientId(request.clientOrderId),
      type: request.type,
      timeInForce: request.timeInForce,
      reduceOnly: request.reduceOnly,
      ...(request.nonce === undefined ? {} : { nonce: request.nonce }),
    });
    const nonce = this.capabilities.nonces ? request.nonce : undefined;
    const created = await this.call('create order', 'create', () =>
      this.signed(nonce, () =>
        this.exchange.createOrder(
          symbol,
          request.type,
          request.side,
          request.size.div(this.contractSize(request.instrument)).toFixed(),
          request.price?.toFixed(),
          params,
        ),
      ),
    );
    const fromCreate = this.options.profile.orderFromCreate;
    return this.remember(
      fromCreate
        ? fromCreate(created.info, request, this.ctx)
        : this.options.profile.parseOrder(created.info, this.ctx),
    );
  }

  async cancelOrder(ref: OrderRef, options?: SignedActionOptions): Promise<VenueOrder> {
    this.requireTrading('cancelOrder');
    const nonce = this.signedNonce('cancelOrder', options);
    await this.ensureMarkets();
    const symbol = this.symbol(ref.instrument);
    const params = this.refParams(ref);
    const canceled = await this.call('cancel order', 'other', () =>
      this.signed(nonce, () => this.exchange.cancelOrder(ref.venueOrderId, symbol, params)),
    );
    if (this.options.profile.cancelAnswersWithOrder) {
      return this.remember(this.options.profile.parseOrder(canceled.info, this.ctx));
    }
    const order = await this.fetchOrder(ref);
    if (order === undefined)
      throw new VenueOrderNotFoundError(this.venue, `canceled order ${JSON.stringify(ref)} is gone`);
    return order;
  }

  async cancelAllOrders(instrument?: InstrumentId, options?: SignedActionOptions): Promise<VenueOrder[]> {
    this.requireTrading('cancelAllOrders');
    const nonce = this.signedNonce('cancelAllOrders', options);
    const open = await this.fetchOpenOrders(instrument);
    if (nonce !== undefined) return this.cancelBatch(open, nonce);
    const out: VenueOrder[] = [];
    for (const order of open) {
      try {
        out.push(await this.cancelOrder({ instrument: order.instrument, venueOrderId: order.venueOrderId }));
      } catch (err) {
        if (!(err instanceof VenueOrderNotFoundError)) throw err;
      }
    }
    return out;
  }

  /** One signed cancel action for many orders (a nonce venue: one nonce, one action). */
  private async cancelBatch(open: VenueOrder[], nonce: bigint): Promise<VenueOrder[]> {
    if (open.length === 0) return [];
    const cancelMany = this.exchange.cancelOrdersForSymbols as
      | ((orders: { id: string; symbol: string }[]) => Promise<unknown>)
      | undefined;
    if (cancelMany === undefined) throw this.unsupported('cancelAllOrders');
    const orders = open.map((o) => ({ id: o.venueOrderId, symbol: this.symbol(o.instrument) }));
    await this.call('cancel orders', 'other', () =>
      this.signed(nonce, () => cancelMany.call(this.exchange, orders)),
    );
    const out: VenueOrder[] = [];
    for (const o of open) {
      const now = await this.fetchOrder({ instrument: o.instrument, venueOrderId: o.venueOrderId });
      if (now !== undefined) out.push(now);
    }
    return out;
  }

  async setLeverage(
    instrument: InstrumentId,
    leverage: Decimal,
    options?: SignedActionOptions,
  ): Promise<void> {
    this.requireTrading('setLeverage');
    const set = this.options.profile.setLeverage;
    if (set === undefined || !this.capabilities.setLeverage) throw this.unsupported('setLeverage');
    if (!leverage.isInteger() || leverage.lt(1)) {
      throw new ValidationError('leverage', `must be a whole number >= 1, got ${leverage.toFixed()}`);
    }
    const nonce = this.signedNonce('setLeverage', options);
    await this.ensureMarkets();
    const symbol = this.symbol(instrument);
    await this.call('set leverage', 'other', () =>
      this.signed(nonce, () => set(this.exchange, symbol, leverage.toNumber())),
    );
  }

  async scheduleCancelAll(afterMs: number, options?: SignedActionOptions): Promise<void> {
    this.requireTrading('scheduleCancelAll');
    const schedule = this.options.profile.scheduleCancelAll;
    if (schedule === undefined || !this.capabilities.scheduleCancelAll)
      throw this.unsupported('scheduleCancelAll');
    const min = this.capabilities.scheduleCancelAllMinMs ?? 0;
    if (!Number.isSafeInteger(afterMs) || afterMs < 0 || (afterMs > 0 && afterMs < min)) {
      throw new ValidationError(
        'afterMs',
        `must be 0 (disarm) or a whole number of ms >= ${min}, got ${afterMs}`,
      );
    }
    const nonce = this.signedNonce('scheduleCancelAll', options);
    await this.ensureMarkets();
    // The venue holds the deadline against its own clock: measured again when older than a minute.
    if (!this.venueClock.measuredWithin(CLOCK_REMEASURE_MS)) await this.measureClock();
    await this.call('schedule cancel-all', 'other', () =>
      this.signed(nonce, () => schedule(this.exchange, afterMs, this.options.instruments, this.venueClock)),
    );
  }

  async watchUserStream(onEvent: (event: UserStreamEvent) => void): Promise<Subscription> {
    this.requireTrading('watchUserStream');
    await this.ensureMarkets();
    let attempts = 0;
    const deliverFill = (fill: VenueFill) => {
      if (!addBounded(this.seenTrades, fill.tradeId, MAX_SEEN_TRADES)) return;
      this.lastFillMs = Math.max(this.lastFillMs, fill.tsEventMs);
      onEvent({ kind: 'fill', fill });
    };
    const stream = this.stream<UserStreamEvent>({
      component: VENUE_COMPONENT.userStream,
      label: `user stream ${this.venue}/${this.account}`,
      deliver: (event) => (event.kind === 'fill' ? deliverFill(event.fill) : onEvent(event)),
      run: async (sink, live) => {
        attempts += 1;
        const orders = (async () => {
          while (live()) {
            const pending = this.exchange.watchOrders();
            this.observeFutures();
            const batch = await pending;
            if (!live()) return;
            for (const o of batch) {
              const order = this.remember(this.options.profile.parseOrder(o.info, this.ctx));
              // The venue's own orders (a liquidation) are none of ours: their fills say it.
              if (this.venueMadeOrigin(order.clientOrderId) !== undefined) continue;
              sink.data({ kind: 'order', order });
            }
          }
        })();
        const trades = (async () => {
          while (live()) {
            const pending = this.exchange.watchMyTrades();
            this.observeFutures();
            const batch = await pending;
            if (!live()) return;
            for (const t of batch) {
              const fill = await this.completeFill(this.options.profile.parseFill(t.info, this.ctx));
              sink.data({ kind: 'fill', fill });
            }
          }
        })();
        // Subscribed once the private connection is open; then catch up what a break missed.
        const connected = (async () => {
          while (live() && !this.privateConnected()) await sleep(20);
          this.observeFutures();
          if (!live()) return;
          sink.subscribed();
          if (attempts > 1 || this.lastFillMs > 0) {
            for (const fill of await this.fetchFills(Math.max(0, this.lastFillMs - CATCH_UP_OVERLAP_MS))) {
              sink.data({ kind: 'fill', fill });
            }
          }
        })();
        await Promise.race([
          Promise.all([orders, trades]),
          connected.then(() => Promise.all([orders, trades])),
        ]);
      },
    });
    await stream.start();
    return stream;
  }

  /**
   * ccxt rejects every pending future of a websocket client when it drops, including
   * futures it created for itself that nobody awaits; unobserved, each would be an
   * unhandled rejection (a crash). Our own awaits still see their rejections.
   */
  private observeFutures(): void {
    for (const client of Object.values(this.exchange.clients)) {
      for (const future of Object.values(
        (client as { futures?: Record<string, Promise<unknown>> }).futures ?? {},
      )) {
        if (this.observed.has(future)) continue;
        this.observed.add(future);
        future.catch(() => undefined);
      }
    }
  }

  /** Whether ccxt's private websocket of this account is open. */
  private privateConnected(): boolean {
    return Object.values(this.exchange.clients).some(
      (c) => c.isConnected === true && this.options.profile.isPrivateWsUrl(c.url),
    );
  }

  readiness(): ReadinessComponent[] {
    const out: ReadinessComponent[] = [this.marketsState, this.linkState];
    if (this.balanceState) out.push(this.balanceState);
    for (const s of this.streams) out.push(s.state);
    out.push(requestBudgetComponent(portHolderName(this.venue, this.account), this.budget.level()));
    return out;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const t of this.timers) clearInterval(t);
    for (const t of this.delayed) clearTimeout(t);
    await Promise.allSettled([...this.streams].map((s) => s.close()));
    await this.exchange.close().catch(() => undefined);
  }
}

/**
 * The request budget as a readiness component: ready while a request can go now (low below a
 * quarter left, said in the reason); spent means the next call waits for a slot.
 */
export function requestBudgetComponent(
  holder: string,
  level: { left: number; capacity: number; perSecond: number },
): ReadinessComponent {
  const { left, capacity, perSecond } = level;
  const refill = `refills ${perSecond}/s`;
  return {
    component: VENUE_COMPONENT.requestBudget,
    ready: left >= 1,
    reason:
      left < 1
        ? `${holder}: request budget spent (${capacity} at once, ${refill}); calls wait for the next slot`
        : `${holder}: ${left} of ${capacity} requests left${left < capacity / 4 ? ' (low)' : ''}, ${refill}`,
  };
}

/** A ccxt number (or numeric text) as a Decimal, through its shortest text. */
export function decimalOf(value: number | string, field: string): Decimal {
  const text = typeof value === 'number' ? String(value) : value;
  if (typeof value === 'number' && !Number.isFinite(value)) {
    throw new ValidationError(field, `expected a number, got ${text}`);
  }
  return new Decimal(text);
}
