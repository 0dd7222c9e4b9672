/**
 * SimulatedVenue: the VenuePort of one account on one paper venue of a PaperVenueHub,
 * in process. It validates what the sim does not (client order id form, nonce presence
 * and range, instruments listed), calls the sim through the hub (so every command's
 * events are published before it returns) and maps results with parse.ts and errors.ts.
 * `hub.marketVenue(venue)` gives the public port of a venue (`PUBLIC_ACCOUNT`): market
 * data only, its account methods refuse.
 *
 * Nonces (venues with `requireIncreasingNonce`): orders, cancels and the scheduled
 * cancel-all all sign with the caller's nonce under this port's API key — one sequence per
 * key, as Lighter and Hyperliquid keep it; the caller allocates each from its one counter.
 */
import {
  type AccountId,
  Decimal,
  type EpochMs,
  type InstrumentId,
  parseClientOrderId,
  ValidationError,
  type VenueId,
} from '@perpmesh/core';
import type {
  OrderView,
  PlaceOrderResult,
  Reject,
  PlaceOrderRequest as SimPlaceOrder,
  VenueConfig,
} from '@perpmesh/sim';
import {
  publicAccessError,
  VenueDisconnectedError,
  VenueNotSentError,
  VenueOrderNotFoundError,
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
import { PUBLIC_ACCOUNT, VENUE_COMPONENT, type VenueComponentName } from '../port.js';
import { errorFromReject } from './errors.js';
import type { PaperVenueHub } from './hub.js';
import {
  balanceFromSim,
  bookDeltaFromSim,
  bookSnapshotFromSim,
  capabilitiesFromSim,
  fillFromSim,
  fundingFromSim,
  fundingPaymentFromSim,
  marketFromSim,
  orderFromSim,
  PAPER_MAX_BATCH_ORDERS,
  positionFromSim,
  tradeFromSim,
  userEventFromSim,
} from './parse.js';

/** Levels in a watchMarket snapshot: the whole book, so every later delta lands on a known book. */
const FULL_BOOK_DEPTH = Number.MAX_SAFE_INTEGER;

export class SimulatedVenue implements VenuePort {
  readonly venue: VenueId;
  readonly account: AccountId;
  readonly apiKeyId: string;
  readonly capabilities: VenueCapabilities;
  /** Present only on venues that demand nonces. */
  readonly fetchNextNonce?: () => Promise<bigint>;
  readonly #hub: PaperVenueHub;
  readonly #config: VenueConfig;
  readonly #onClose: () => void;
  readonly #subscriptions = new Set<{ close(): void; kind: 'market' | 'user' }>();
  #closed = false;
  #marketsLoaded = false;

  /** Use `hub.venue(venueId, accountId, apiKeyId)`. */
  constructor(hub: PaperVenueHub, venue: VenueId, account: AccountId, apiKeyId: string, onClose: () => void) {
    this.#hub = hub;
    this.venue = venue;
    this.account = account;
    this.apiKeyId = apiKeyId;
    this.#config = hub.venueConfig(venue);
    this.#onClose = onClose;
    this.capabilities = capabilitiesFromSim(this.#config);
    if (this.capabilities.nonces && account !== PUBLIC_ACCOUNT) {
      this.fetchNextNonce = async () => {
        this.#assertOpen();
        const last = this.#hub.lastNonce(this.venue, this.account, this.apiKeyId);
        return last === undefined ? 0n : BigInt(last) + 1n;
      };
    }
  }

  // ---- market data -------------------------------------------------------------------------

  async loadMarkets(): Promise<VenueMarket[]> {
    this.#assertOpen();
    this.#marketsLoaded = true;
    return this.#config.instruments.map((spec) => marketFromSim(spec, this.#config));
  }

  async fetchOrderBook(instrument: InstrumentId, depth: number): Promise<BookSnapshot> {
    this.#assertOpen();
    this.#instrument(instrument, 'instrument');
    if (!Number.isSafeInteger(depth) || depth < 1) {
      throw new ValidationError('depth', `must be a whole number >= 1, got ${String(depth)}`);
    }
    return bookSnapshotFromSim(this.#exchange().bookSnapshot(instrument, depth));
  }

  /** Funding of the given instruments (all listed ones when the list is empty). */
  async fetchFunding(instruments: InstrumentId[]): Promise<FundingInfo[]> {
    this.#assertOpen();
    const exchange = this.#exchange();
    return this.#instruments(instruments).flatMap((id) => {
      const funding = exchange.funding(id);
      return funding === undefined ? [] : [fundingFromSim(funding)];
    });
  }

  /**
   * Per instrument, first a full book snapshot and the current funding, then as they
   * happen book deltas (seq continuing from the snapshot's, without gaps), trades and
   * funding updates. The snapshot is delivered before this resolves.
   */
  async watchMarket(
    instruments: InstrumentId[],
    onEvent: (event: MarketEvent) => void,
  ): Promise<Subscription> {
    this.#assertOpen();
    const ids = this.#instruments(instruments);
    const bookSeq = new Map<InstrumentId, number>();
    const unsubscribe = this.#hub.subscribeMarket(this.venue, ids, (event) => {
      switch (event.type) {
        case 'book_delta': {
          // A delta queued before the snapshot was taken is already in it.
          const seq = bookSeq.get(event.instrumentId);
          if (seq === undefined || event.seq <= seq) return;
          bookSeq.set(event.instrumentId, event.seq);
          onEvent(bookDeltaFromSim(event));
          return;
        }
        case 'trade':
          onEvent(tradeFromSim(event));
          return;
        case 'funding_rate':
          onEvent(fundingFromSim(event));
          return;
        case 'funding_settled':
          // The next funding_rate update carries the new interval; payments are on the user stream.
          return;
      }
    });
    const subscription = this.#track('market', unsubscribe);
    const exchange = this.#exchange();
    for (const id of ids) {
      const snapshot = exchange.bookSnapshot(id, FULL_BOOK_DEPTH);
      bookSeq.set(id, snapshot.seq);
      onEvent(bookSnapshotFromSim(snapshot));
      const funding = exchange.funding(id);
      if (funding !== undefined) onEvent(fundingFromSim(funding));
    }
    return subscription;
  }

  // ---- account -------------------------------------------------------------------------------

  async fetchBalances(): Promise<VenueBalance[]> {
    this.#assertOpen();
    this.#assertAccount('fetchBalances');
    return [balanceFromSim(this.#exchange().balance(this.account))];
  }

  async fetchPositions(): Promise<VenuePosition[]> {
    this.#assertOpen();
    this.#assertAccount('fetchPositions');
    return this.#exchange().positions(this.account).map(positionFromSim);
  }

  async fetchOpenOrders(instrument?: InstrumentId): Promise<VenueOrder[]> {
    this.#assertOpen();
    this.#assertAccount('fetchOpenOrders');
    if (instrument !== undefined) this.#instrument(instrument, 'instrument');
    return this.#exchange().openOrders(this.account, instrument).map(orderFromSim);
  }

  async fetchOrder(ref: OrderRef): Promise<VenueOrder | undefined> {
    this.#assertOpen();
    this.#assertAccount('fetchOrder');
    const order = this.#find(ref);
    return order === undefined ? undefined : orderFromSim(order);
  }

  /** Fills since `sinceMs` (inclusive), oldest first, from the hub's bounded per-account history. */
  async fetchFills(sinceMs: EpochMs): Promise<VenueFill[]> {
    this.#assertOpen();
    this.#assertAccount('fetchFills');
    if (!Number.isSafeInteger(sinceMs) || sinceMs < 0) {
      throw new ValidationError('sinceMs', `must be epoch ms >= 0, got ${String(sinceMs)}`);
    }
    return this.#hub.fills(this.venue, this.account, sinceMs).map(fillFromSim);
  }

  // ---- orders --------------------------------------------------------------------------------

  /**
   * Places an order and returns it as the venue acked it: `accepted` (resting),
   * `partially_filled`, `filled`, or ended at once (`canceled`/`expired` with what filled
   * and a `reason` such as `no_liquidity` or `ioc_remainder`). A refusal throws.
   */
  async createOrder(request: PlaceOrderRequest): Promise<VenueOrder> {
    this.#assertOpen();
    this.#assertAccount('createOrder');
    const order = this.#simOrder(request);
    const result = this.#hub.command(this.venue, (exchange) => exchange.placeOrder(order));
    this.#notePlaced(order, result);
    if (!result.ok) throw errorFromReject(this.venue, result.reject);
    return orderFromSim(result.order);
  }

  /**
   * Up to `PAPER_MAX_BATCH_ORDERS` orders in ONE venue command, in the order given (as
   * Lighter's `sendTxBatch`): a request this port refuses before the venue (a bad client
   * order id, instrument or nonce) gets that error and is not sent; the venue takes the
   * others in order and stops at its first refusal: the orders before it are placed, the
   * refused one gets its error as `createOrder` would throw it, the ones after it
   * `VenueNotSentError` (nothing done). The command is atomic: no other command or market
   * step runs between the orders of a batch.
   */
  async createOrders(requests: readonly PlaceOrderRequest[]): Promise<BatchOrderOutcome[]> {
    this.#assertOpen();
    this.#assertAccount('createOrders');
    if (!Array.isArray(requests)) throw new ValidationError('requests', 'must be a list of orders');
    if (requests.length > PAPER_MAX_BATCH_ORDERS) {
      throw new ValidationError(
        'requests',
        `${this.venue} takes at most ${PAPER_MAX_BATCH_ORDERS} orders in a batch, got ${requests.length}`,
      );
    }
    const outcomes: (BatchOrderOutcome | undefined)[] = requests.map(() => undefined);
    const sent: { index: number; order: SimPlaceOrder }[] = [];
    for (const [index, request] of requests.entries()) {
      try {
        sent.push({ index, order: this.#simOrder(request) });
      } catch (error) {
        outcomes[index] = { ok: false, error };
      }
    }
    const results = this.#hub.command(this.venue, (exchange) => {
      const taken: PlaceOrderResult[] = [];
      for (const { order } of sent) {
        const result = exchange.placeOrder(order);
        taken.push(result);
        if (!result.ok) break;
      }
      return taken;
    });
    for (const [n, { index, order }] of sent.entries()) {
      const result = results[n];
      if (result === undefined) {
        const refused = results[results.length - 1] as Extract<PlaceOrderResult, { ok: false }>;
        outcomes[index] = {
          ok: false,
          error: new VenueNotSentError(
            this.venue,
            `not looked at: order ${results.length} of its batch was refused before it (${refused.reject.message})`,
          ),
        };
        continue;
      }
      this.#notePlaced(order, result);
      outcomes[index] = result.ok
        ? { ok: true, order: orderFromSim(result.order) }
        : { ok: false, error: errorFromReject(this.venue, result.reject) };
    }
    return outcomes as BatchOrderOutcome[];
  }

  /** The sim's order for a request, after the checks the sim does not make (see the module comment). */
  #simOrder(request: PlaceOrderRequest): SimPlaceOrder {
    const clientOrderId = parseClientOrderId(request.clientOrderId, 'clientOrderId');
    this.#instrument(request.instrument, 'instrument');
    const nonce = this.#orderNonce(request.nonce);
    return {
      accountId: this.account,
      instrumentId: request.instrument,
      side: request.side,
      type: request.type,
      timeInForce: request.timeInForce,
      ...(request.price === undefined ? {} : { price: request.price }),
      size: request.size,
      reduceOnly: request.reduceOnly,
      clientOrderId,
      ...(nonce === undefined ? {} : { apiKey: this.apiKeyId, nonce }),
    };
  }

  #notePlaced(order: SimPlaceOrder, result: PlaceOrderResult): void {
    if (order.nonce !== undefined) {
      this.#noteNonce(this.apiKeyId, order.nonce, result.ok ? undefined : result.reject);
    }
  }

  async cancelOrder(ref: OrderRef, options: CancelOptions = {}): Promise<VenueOrder> {
    this.#assertOpen();
    this.#assertAccount('cancelOrder');
    const order = this.#find(ref);
    if (order === undefined) {
      throw new VenueOrderNotFoundError(
        this.venue,
        `no order ${describeRef(ref)} for account ${this.account}`,
      );
    }
    const auth = this.#auth(options.nonce);
    const result = this.#hub.command(this.venue, (exchange) =>
      exchange.cancelOrder({ accountId: this.account, venueOrderId: order.venueOrderId, ...auth }),
    );
    if (auth.nonce !== undefined)
      this.#noteNonce(auth.apiKey, auth.nonce, result.ok ? undefined : result.reject);
    if (!result.ok) throw errorFromReject(this.venue, result.reject);
    return orderFromSim(result.order);
  }

  async cancelAllOrders(instrument?: InstrumentId, options: CancelOptions = {}): Promise<VenueOrder[]> {
    this.#assertOpen();
    this.#assertAccount('cancelAllOrders');
    if (instrument !== undefined) this.#instrument(instrument, 'instrument');
    const auth = this.#auth(options.nonce);
    const result = this.#hub.command(this.venue, (exchange) =>
      exchange.cancelAllOrders({
        accountId: this.account,
        ...(instrument === undefined ? {} : { instrumentId: instrument }),
        ...auth,
      }),
    );
    if (auth.nonce !== undefined)
      this.#noteNonce(auth.apiKey, auth.nonce, result.ok ? undefined : result.reject);
    if (!result.ok) throw errorFromReject(this.venue, result.reject);
    return result.canceled.map(orderFromSim);
  }

  /** Funding payments since `sinceMs` (inclusive), oldest first, from the hub's bounded ledger. */
  async fetchFundingPayments(sinceMs: EpochMs): Promise<VenueFundingPayment[]> {
    this.#assertOpen();
    this.#assertAccount('fetchFundingPayments');
    if (!Number.isSafeInteger(sinceMs) || sinceMs < 0) {
      throw new ValidationError('sinceMs', `must be epoch ms >= 0, got ${String(sinceMs)}`);
    }
    return this.#hub.fundingPayments(this.venue, this.account, sinceMs).map(fundingPaymentFromSim);
  }

  /** The sim takes whole leverage in [1, the instrument's max]. */
  async setLeverage(
    instrument: InstrumentId,
    leverage: Decimal,
    options: SignedActionOptions = {},
  ): Promise<void> {
    this.#assertOpen();
    this.#assertAccount('setLeverage');
    this.#instrument(instrument, 'instrument');
    if (!Decimal.isDecimal(leverage) || !leverage.isInteger() || leverage.lt(1)) {
      throw new ValidationError('leverage', `must be a whole number >= 1, got ${String(leverage)}`);
    }
    const auth = this.#auth(options.nonce);
    const result = this.#hub.command(this.venue, (exchange) =>
      exchange.setLeverage({
        accountId: this.account,
        instrumentId: instrument,
        leverage: leverage.toNumber(),
        ...auth,
      }),
    );
    if (auth.nonce !== undefined)
      this.#noteNonce(auth.apiKey, auth.nonce, result.ok ? undefined : result.reject);
    if (!result.ok) throw errorFromReject(this.venue, result.reject);
  }

  /** The sim's dead-man switch: fires on the venue clock (see SimExchange.scheduleCancelAll). */
  async scheduleCancelAll(afterMs: number, options: CancelOptions = {}): Promise<void> {
    this.#assertOpen();
    this.#assertAccount('scheduleCancelAll');
    if (!Number.isSafeInteger(afterMs) || afterMs < 0) {
      throw new ValidationError('afterMs', `must be a whole number of ms >= 0, got ${String(afterMs)}`);
    }
    const auth = this.#auth(options.nonce);
    const result = this.#hub.command(this.venue, (exchange) =>
      exchange.scheduleCancelAll({ accountId: this.account, afterMs, ...auth }),
    );
    if (auth.nonce !== undefined)
      this.#noteNonce(auth.apiKey, auth.nonce, result.ok ? undefined : result.reject);
    if (!result.ok) throw errorFromReject(this.venue, result.reject);
  }

  /** Orders, fills, balances, positions and funding payments of this account, from now on. */
  async watchUserStream(onEvent: (event: UserStreamEvent) => void): Promise<Subscription> {
    this.#assertOpen();
    this.#assertAccount('watchUserStream');
    const unsubscribe = this.#hub.subscribeUser(this.venue, this.account, (event) => {
      const mapped = userEventFromSim(event);
      if (mapped !== undefined) onEvent(mapped);
    });
    return this.#track('user', unsubscribe);
  }

  // ---- health and lifecycle -------------------------------------------------------------------

  readiness(): ReadinessComponent[] {
    const where = `${this.account}@${this.venue}`;
    if (this.#closed || this.#hub.state === 'closed') {
      const reason = this.#closed ? `${where}: venue port closed` : `${where}: paper venue hub closed`;
      const components: VenueComponentName[] =
        this.account === PUBLIC_ACCOUNT
          ? [VENUE_COMPONENT.markets, VENUE_COMPONENT.marketStream]
          : [
              VENUE_COMPONENT.markets,
              VENUE_COMPONENT.marketStream,
              VENUE_COMPONENT.userStream,
              VENUE_COMPONENT.balance,
            ];
      return components.map((component) => ({
        component,
        ready: false,
        reason,
      }));
    }
    const status = this.#hub.status();
    const count = (kind: 'market' | 'user') => [...this.#subscriptions].filter((s) => s.kind === kind).length;
    const clockStopped = status.clock === 'realtime' && status.state !== 'running';
    const marketReason = clockStopped
      ? `${this.venue}: the simulated market is not moving: the hub's realtime clock is not started`
      : status.lastStepError !== undefined
        ? `${this.venue}: the last simulation step failed: ${status.lastStepError}`
        : `${this.venue}: simulated market (${status.clock} clock), ${count('market')} subscription(s)`;
    const market: ReadinessComponent[] = [
      {
        component: VENUE_COMPONENT.markets,
        ready: true,
        reason: `${this.venue}: ${this.#config.instruments.length} instruments listed${this.#marketsLoaded ? '' : ' (not loaded by a caller yet)'}`,
      },
      {
        component: VENUE_COMPONENT.marketStream,
        ready: !clockStopped && status.lastStepError === undefined,
        reason: marketReason,
      },
    ];
    // A public port has no account: nothing to say about a user stream or a balance.
    if (this.account === PUBLIC_ACCOUNT) return market;
    const equity = this.#exchange().balance(this.account).equity;
    return [
      ...market,
      {
        component: VENUE_COMPONENT.userStream,
        ready: true,
        reason: `${where}: in-process user stream, ${count('user')} subscription(s)`,
      },
      equity.gt(0)
        ? {
            component: VENUE_COMPONENT.balance,
            ready: true,
            reason: `${where}: equity ${equity.toFixed()} ${this.#config.settleAsset}`,
          }
        : {
            component: VENUE_COMPONENT.balance,
            ready: false,
            reason: `${where}: equity is ${equity.toFixed()} ${this.#config.settleAsset}: deposit collateral into the account`,
          },
    ];
  }

  /** Ends this port's subscriptions; the hub and its other ports go on. Idempotent. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.detach();
    this.#onClose();
  }

  /** Called by the hub when it closes. */
  detach(): void {
    this.#closed = true;
    for (const subscription of [...this.#subscriptions]) subscription.close();
  }

  // ---- helpers --------------------------------------------------------------------------------

  #assertOpen(): void {
    if (this.#closed)
      throw new VenueDisconnectedError(this.venue, `port of account ${this.account} is closed`);
    if (this.#hub.state === 'closed')
      throw new VenueDisconnectedError(this.venue, 'paper venue hub is closed');
  }

  #assertAccount(method: string): void {
    if (this.account === PUBLIC_ACCOUNT) throw publicAccessError(this.venue, method);
  }

  #exchange() {
    return this.#hub.exchange(this.venue);
  }

  #instrument(instrument: unknown, field: string): InstrumentId {
    if (
      typeof instrument !== 'string' ||
      !this.#config.instruments.some((i) => i.instrumentId === instrument)
    ) {
      throw new ValidationError(
        field,
        `${JSON.stringify(instrument)} is not listed on ${this.venue} (${this.#config.instruments.map((i) => i.instrumentId).join(', ')})`,
      );
    }
    return instrument;
  }

  #instruments(instruments: readonly InstrumentId[]): InstrumentId[] {
    if (!Array.isArray(instruments))
      throw new ValidationError('instruments', 'must be a list of instrument ids');
    if (instruments.length === 0) return this.#config.instruments.map((i) => i.instrumentId);
    return [...new Set(instruments.map((id, n) => this.#instrument(id, `instruments[${n}]`)))];
  }

  /** The sim's nonce for an order, checked here so the sim only ever refuses a reused one. */
  #orderNonce(nonce: bigint | undefined): number | undefined {
    if (!this.capabilities.nonces) return undefined;
    if (nonce === undefined) {
      throw new ValidationError(
        'nonce',
        `is required on ${this.venue} (it demands an increasing nonce per API key)`,
      );
    }
    if (typeof nonce !== 'bigint' || nonce < 0n || nonce > BigInt(Number.MAX_SAFE_INTEGER)) {
      throw new ValidationError(
        'nonce',
        `must be an integer in [0, ${Number.MAX_SAFE_INTEGER}], got ${String(nonce)}`,
      );
    }
    return Number(nonce);
  }

  /** A signed action's auth: the caller's nonce under this port's API key (see the module comment). */
  #auth(
    nonce: bigint | undefined,
  ): { apiKey: string; nonce: number } | { apiKey?: undefined; nonce?: undefined } {
    const checked = this.#orderNonce(nonce);
    return checked === undefined ? {} : { apiKey: this.apiKeyId, nonce: checked };
  }

  #noteNonce(apiKey: string, nonce: number, reject: Reject | undefined): void {
    // Refused by the nonce check itself: not consumed. Anything else may have consumed it.
    if (reject?.code === 'invalid_nonce') return;
    this.#hub.noteNonce(this.venue, this.account, apiKey, nonce);
  }

  /** The account's order the ref names (open or still retained), if its instrument and ids all match. */
  #find(ref: OrderRef): OrderView | undefined {
    if (ref === null || typeof ref !== 'object')
      throw new ValidationError('ref', 'must be an order reference');
    this.#instrument(ref.instrument, 'ref.instrument');
    if (ref.venueOrderId === undefined && ref.clientOrderId === undefined) {
      throw new ValidationError('ref', 'needs clientOrderId or venueOrderId (or both)');
    }
    const exchange = this.#exchange();
    const order =
      ref.venueOrderId !== undefined
        ? exchange.getOrder(this.account, { venueOrderId: ref.venueOrderId })
        : exchange.getOrder(this.account, { clientOrderId: ref.clientOrderId as string });
    if (order === undefined || order.instrumentId !== ref.instrument) return undefined;
    if (ref.clientOrderId !== undefined && order.clientOrderId !== ref.clientOrderId) return undefined;
    return order;
  }

  #track(kind: 'market' | 'user', unsubscribe: () => void): Subscription {
    const entry = {
      kind,
      close: () => {
        if (!this.#subscriptions.delete(entry)) return;
        unsubscribe();
      },
    };
    this.#subscriptions.add(entry);
    return {
      close: async () => entry.close(),
    };
  }
}

function describeRef(ref: OrderRef): string {
  const ids = [
    ref.venueOrderId === undefined ? undefined : `venueOrderId ${ref.venueOrderId}`,
    ref.clientOrderId === undefined ? undefined : `clientOrderId ${ref.clientOrderId}`,
  ].filter((s) => s !== undefined);
  return `${ids.join(' / ')} on ${ref.instrument}`;
}
