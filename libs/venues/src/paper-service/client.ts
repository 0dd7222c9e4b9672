/**
 * PaperVenueClient: the VenuePort of a venue hosted by the paper-venue service, over gRPC. The
 * market-data, execution and account processes each hold one and so share one simulated
 * exchange that outlives any of them.
 *
 * - Unary calls carry a deadline (`callTimeoutMs`). A deadline, a lost connection or any
 *   failure that hides the answer is `VenueUnknownOutcomeError` for createOrder /
 *   cancelOrder / cancelAllOrders (the order may exist or be gone: ask with fetchOrder,
 *   never resend) and `VenueDisconnectedError` for reads. An error of the remote venue
 *   comes back as the same VenueError class it was (status.ts).
 * - watchMarket / watchUserStream resolve once the server is subscribed. When a stream
 *   breaks, `readiness()` says so (with the status) and the stream re-subscribes with
 *   capped exponential backoff until it works again or is closed. A re-subscribed stream
 *   starts over: a market stream's first book event is whatever the remote port sends
 *   first on subscribe (a snapshot), and a user-stream consumer reconciles with fetch*
 *   when the component turns ready again (`onReadinessChange`).
 * - The bearer token goes as `authorization: Bearer` metadata on every call; it is held
 *   in a private field and never put in a message, error or log.
 */
import {
  type CallOptions,
  type ChannelCredentials,
  type ChannelOptions,
  type ClientReadableStream,
  type ClientUnaryCall,
  credentials as grpcCredentials,
  Metadata,
  type ServiceError,
  status,
} from '@grpc/grpc-js';
import {
  type PaperVenueServiceCancelAllOrdersResponse,
  type PaperVenueServiceCancelOrderResponse,
  PaperVenueServiceClient,
  type PaperVenueServiceCreateOrderResponse,
  type PaperVenueServiceCreateOrdersResponse,
  type PaperVenueServiceFetchBalancesResponse,
  type PaperVenueServiceFetchFillsResponse,
  type PaperVenueServiceFetchFundingPaymentsResponse,
  type PaperVenueServiceFetchFundingResponse,
  type PaperVenueServiceFetchNextNonceResponse,
  type PaperVenueServiceFetchOpenOrdersResponse,
  type PaperVenueServiceFetchOrderBookResponse,
  type PaperVenueServiceFetchOrderResponse,
  type PaperVenueServiceFetchPositionsResponse,
  type PaperVenueServiceGetCapabilitiesResponse,
  type PaperVenueServiceGetReadinessResponse,
  type PaperVenueServiceLoadMarketsResponse,
  type PaperVenueServiceWatchMarketResponse,
  type PaperVenueServiceWatchUserStreamResponse,
} from '@perpmesh/contracts';
import type { AccountId, ClientOrderId, Decimal, EpochMs, InstrumentId, VenueId } from '@perpmesh/core';
import { errorText, ValidationError } from '@perpmesh/core';
import { VenueDisconnectedError, VenueUnknownOutcomeError } from '../errors.js';
import type {
  BatchOrderOutcome,
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
import { PUBLIC_ACCOUNT, VENUE_COMPONENT, type VenueComponentName } from '../port.js';
import {
  ReconnectingStream,
  type StreamAttempt,
  type StreamAttemptSink,
} from '../shared/reconnecting-stream.js';
import {
  balanceFromWire,
  bookSnapshotFromWire,
  capabilitiesFromWire,
  fillFromWire,
  fundingInfoFromWire,
  fundingPaymentFromWire,
  marketEventFromWire,
  marketFromWire,
  nonceFromWire,
  nonceToWire,
  orderFromWire,
  orderRefToWire,
  placeOrderToWire,
  positionFromWire,
  readinessFromWire,
  userStreamEventFromWire,
} from './mapping.js';
import { type CallKind, errorFromCallError, errorFromStatus } from './status.js';

/** The generated gRPC client of the PaperVenueService. */
type PaperVenueServiceGrpcClient = InstanceType<typeof PaperVenueServiceClient>;

/** Anything that hands out a credential on purpose (runtime's `Secret` is one). */
export interface RevealableSecret {
  reveal(): string;
}

export interface PaperVenueClientOptions {
  /** `host:port` of the paper-venue gRPC server, e.g. `127.0.0.1:50054`. */
  address: string;
  venue: VenueId;
  /** Our account on the venue; `PUBLIC_ACCOUNT` ('') for the public market-data port. */
  account: AccountId;
  /** Non-secret id of the API key (the nonce counter key); checked by the server. */
  apiKeyId: string;
  /** Default: plaintext (the paper venue runs beside us). */
  credentials?: ChannelCredentials;
  /** Sent as `authorization: Bearer <token>` on every call when set. */
  authToken?: string | RevealableSecret;
  /** Deadline of each unary call, ms. */
  callTimeoutMs: number;
  /** First re-subscribe delay after a stream breaks, ms (doubles up to `reconnectMaxDelayMs`). */
  reconnectInitialDelayMs?: number;
  reconnectMaxDelayMs?: number;
  /** How often the remote venue's readiness is fetched for `readiness()`, ms; 0 = only at connect. */
  readinessPollMs?: number;
  /** Told whenever one of this client's components (a stream, the link) changes readiness. */
  onReadinessChange?: (component: ReadinessComponent) => void;
  channelOptions?: ChannelOptions;
}

export const PAPER_VENUE_CLIENT_DEFAULTS = {
  reconnectInitialDelayMs: 100,
  reconnectMaxDelayMs: 5_000,
  readinessPollMs: 5_000,
} as const;

function positiveWholeMs(value: unknown, field: string): number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value <= 0) {
    throw new ValidationError(field, `must be a whole number of ms > 0, got ${JSON.stringify(value)}`);
  }
  return value;
}

function nonEmpty(value: unknown, field: string): string {
  if (typeof value !== 'string' || value.trim() === '') {
    throw new ValidationError(field, `must be a non-empty string, got ${JSON.stringify(value)}`);
  }
  return value;
}

/** May be empty (a venue without keys); never a secret, so it may appear in messages. */
function apiKeyIdOf(value: unknown): string {
  if (typeof value !== 'string')
    throw new ValidationError('apiKeyId', `must be a string, got ${typeof value}`);
  return value;
}

interface ResolvedOptions {
  address: string;
  venue: VenueId;
  account: AccountId;
  apiKeyId: string;
  callTimeoutMs: number;
  reconnectInitialDelayMs: number;
  reconnectMaxDelayMs: number;
  readinessPollMs: number;
}

function resolveOptions(o: PaperVenueClientOptions): ResolvedOptions {
  const readinessPollMs = o.readinessPollMs ?? PAPER_VENUE_CLIENT_DEFAULTS.readinessPollMs;
  if (readinessPollMs !== 0) positiveWholeMs(readinessPollMs, 'readinessPollMs');
  const resolved: ResolvedOptions = {
    address: nonEmpty(o.address, 'address'),
    venue: nonEmpty(o.venue, 'venue'),
    // PUBLIC_ACCOUNT ('') is the venue's public port: market data only.
    account: o.account === PUBLIC_ACCOUNT ? PUBLIC_ACCOUNT : nonEmpty(o.account, 'account'),
    apiKeyId: apiKeyIdOf(o.apiKeyId),
    callTimeoutMs: positiveWholeMs(o.callTimeoutMs, 'callTimeoutMs'),
    reconnectInitialDelayMs: positiveWholeMs(
      o.reconnectInitialDelayMs ?? PAPER_VENUE_CLIENT_DEFAULTS.reconnectInitialDelayMs,
      'reconnectInitialDelayMs',
    ),
    reconnectMaxDelayMs: positiveWholeMs(
      o.reconnectMaxDelayMs ?? PAPER_VENUE_CLIENT_DEFAULTS.reconnectMaxDelayMs,
      'reconnectMaxDelayMs',
    ),
    readinessPollMs,
  };
  if (resolved.reconnectMaxDelayMs < resolved.reconnectInitialDelayMs) {
    throw new ValidationError(
      'reconnectMaxDelayMs',
      `must be >= reconnectInitialDelayMs (${resolved.reconnectInitialDelayMs}), got ${resolved.reconnectMaxDelayMs}`,
    );
  }
  return resolved;
}

type UnaryCallback<Res> = (err: ServiceError | null, response?: Res) => void;

/** Metadata, deadlines and error mapping for every call of one PaperVenueClient. */
class Caller {
  readonly client: PaperVenueServiceGrpcClient;
  readonly venue: VenueId;
  readonly address: string;
  readonly #authToken: string | RevealableSecret | undefined;
  readonly #callTimeoutMs: number;

  constructor(
    client: PaperVenueServiceGrpcClient,
    options: ResolvedOptions,
    authToken: string | RevealableSecret | undefined,
  ) {
    this.client = client;
    this.venue = options.venue;
    this.address = options.address;
    this.#authToken = authToken;
    this.#callTimeoutMs = options.callTimeoutMs;
  }

  metadata(options: { waitForReady?: boolean } = {}): Metadata {
    const metadata = new Metadata(options.waitForReady ? { waitForReady: true } : undefined);
    if (this.#authToken !== undefined) {
      const token = typeof this.#authToken === 'string' ? this.#authToken : this.#authToken.reveal();
      metadata.set('authorization', `Bearer ${token}`);
    }
    return metadata;
  }

  /**
   * One unary call with a deadline. `waitForReady` (connect only) waits for the channel
   * up to the deadline instead of failing at once while the server is still starting.
   */
  unary<Res, Out>(
    method: string,
    kind: CallKind,
    start: (
      metadata: Metadata,
      options: Partial<CallOptions>,
      callback: UnaryCallback<Res>,
    ) => ClientUnaryCall,
    decode: (response: Res) => Out,
    options: { waitForReady?: boolean } = {},
  ): Promise<Out> {
    return new Promise<Out>((resolve, reject) => {
      start(this.metadata(options), { deadline: Date.now() + this.#callTimeoutMs }, (err, response) => {
        if (err)
          return reject(errorFromStatus(err, { venue: this.venue, address: this.address, method, kind }));
        try {
          resolve(decode(response as Res));
        } catch (decodeError) {
          reject(this.malformed(method, kind, decodeError));
        }
      });
    });
  }

  /** The server answered with something we cannot read (version skew): the outcome is unknown. */
  malformed(method: string, kind: CallKind, cause: unknown): Error {
    const detail = errorText(cause);
    const message = `${method}: malformed answer from paper-venue at ${this.address}: ${detail}`;
    return kind === 'write'
      ? new VenueUnknownOutcomeError(this.venue, `${message} (the request may have taken effect)`, { cause })
      : new VenueDisconnectedError(this.venue, message, { cause });
  }
}

/**
 * One attempt of a gRPC server stream, reported to a ReconnectingStream: response headers
 * mean "subscribed" (the server sends them once the port subscription exists); the
 * status, after every buffered message was read, ends the attempt.
 */
function openServerStream<Res>(
  caller: Caller,
  method: string,
  open: (metadata: Metadata) => ClientReadableStream<Res>,
  sink: StreamAttemptSink<Res>,
): StreamAttempt {
  const call = open(caller.metadata());
  let ended = false;
  call.on('metadata', () => sink.subscribed());
  call.on('data', (message: Res) => sink.data(message));
  // The status event below carries the same information; this keeps 'error' from throwing.
  call.on('error', () => {});
  call.on('status', (st) => {
    // Messages still buffered in the stream are delivered before 'end'; act after them.
    const onEnd = () => {
      if (ended) return;
      ended = true;
      const what = st.code === status.OK ? 'stream ended by' : 'disconnected from';
      const details = st.details ? ` (${st.details})` : '';
      sink.ended(
        `${what} paper-venue at ${caller.address}: ${status[st.code] ?? st.code}${details}`,
        errorFromStatus(Object.assign(new Error(st.details), st) as ServiceError, {
          venue: caller.venue,
          address: caller.address,
          method,
          kind: 'read',
        }),
      );
    };
    if (call.readableEnded) onEnd();
    else {
      call.once('end', onEnd);
      call.once('close', onEnd);
    }
  });
  return { cancel: () => call.cancel() };
}

const LINK_COMPONENT = VENUE_COMPONENT.link;

export class PaperVenueClient implements VenuePort {
  readonly venue: VenueId;
  readonly account: AccountId;
  readonly apiKeyId: string;
  readonly capabilities: VenueCapabilities;
  /** Present when the remote venue has a next nonce (as on the port: optional). */
  readonly fetchNextNonce?: () => Promise<bigint>;
  /** Present when the venue says so in its capabilities. */
  readonly fetchFundingPayments?: (sinceMs: EpochMs) => Promise<VenueFundingPayment[]>;
  readonly setLeverage?: (
    instrument: InstrumentId,
    leverage: Decimal,
    options?: CancelOptions,
  ) => Promise<void>;
  readonly scheduleCancelAll?: (afterMs: number, options?: CancelOptions) => Promise<void>;
  /** Present when the venue has a batch call (`capabilities.maxBatchOrders`). */
  readonly createOrders?: (requests: readonly PlaceOrderRequest[]) => Promise<BatchOrderOutcome[]>;

  readonly #caller: Caller;
  readonly #options: ResolvedOptions;
  readonly #onReadinessChange: ((component: ReadinessComponent) => void) | undefined;
  readonly #streams = new Set<ReconnectingStream<unknown>>();
  #remoteReadiness: ReadinessComponent[];
  #link: ReadinessComponent;
  #pollTimer: NodeJS.Timeout | undefined;
  #closed = false;

  /**
   * Connects: fetches the venue's capabilities (so `capabilities` is filled) and its
   * readiness. Waits for the server up to `callTimeoutMs`; fails with the mapped error
   * (e.g. VenueRejectedError `not_found` for a venue the server does not host).
   */
  static async connect(options: PaperVenueClientOptions): Promise<PaperVenueClient> {
    const resolved = resolveOptions(options);
    const client = new PaperVenueServiceClient(
      resolved.address,
      options.credentials ?? grpcCredentials.createInsecure(),
      options.channelOptions ?? {},
    );
    const caller = new Caller(client, resolved, options.authToken);
    const target = { venue: resolved.venue, account: resolved.account };
    try {
      const hello = await caller.unary(
        'GetCapabilities',
        'read',
        (md, o, cb) => client.getCapabilities({ ...target, apiKeyId: resolved.apiKeyId }, md, o, cb),
        (r: PaperVenueServiceGetCapabilitiesResponse) => ({
          capabilities: capabilitiesFromWire(r),
          fetchNextNonceSupported: r.fetchNextNonceSupported,
        }),
        { waitForReady: true },
      );
      const readiness = await caller.unary(
        'GetReadiness',
        'read',
        (md, o, cb) => client.getReadiness(target, md, o, cb),
        (r: PaperVenueServiceGetReadinessResponse) =>
          r.components.map((c, i) => readinessFromWire(c, `readiness[${i}]`)),
      );
      return new PaperVenueClient(caller, resolved, options.onReadinessChange, hello, readiness);
    } catch (err) {
      client.close();
      throw err;
    }
  }

  private constructor(
    caller: Caller,
    options: ResolvedOptions,
    onReadinessChange: ((component: ReadinessComponent) => void) | undefined,
    hello: { capabilities: VenueCapabilities; fetchNextNonceSupported: boolean },
    readiness: ReadinessComponent[],
  ) {
    this.#caller = caller;
    this.#options = options;
    this.#onReadinessChange = onReadinessChange;
    this.venue = options.venue;
    this.account = options.account;
    this.apiKeyId = options.apiKeyId;
    this.capabilities = hello.capabilities;
    this.#remoteReadiness = readiness;
    this.#link = {
      component: LINK_COMPONENT,
      ready: true,
      reason: `connected to paper-venue at ${options.address}`,
    };
    if (hello.fetchNextNonceSupported) this.fetchNextNonce = () => this.#fetchNextNonce();
    if (hello.capabilities.fundingHistory) {
      this.fetchFundingPayments = (sinceMs) => this.#fetchFundingPayments(sinceMs);
    }
    if (hello.capabilities.setLeverage) {
      this.setLeverage = (instrument, leverage, options) => this.#setLeverage(instrument, leverage, options);
    }
    if (hello.capabilities.scheduleCancelAll) {
      this.scheduleCancelAll = (afterMs, options) => this.#scheduleCancelAll(afterMs, options);
    }
    if ((hello.capabilities.maxBatchOrders ?? 0) > 0) {
      this.createOrders = (requests) => this.#createOrders(requests);
    }
    if (options.readinessPollMs > 0) this.#schedulePoll();
  }

  /** `host:port` of the paper-venue server. */
  get address(): string {
    return this.#options.address;
  }

  // ---- market data ---------------------------------------------------------------------------

  loadMarkets(): Promise<VenueMarket[]> {
    return this.#unary(
      'LoadMarkets',
      'read',
      (md, o, cb) => this.#client().loadMarkets(this.#target(), md, o, cb),
      (r: PaperVenueServiceLoadMarketsResponse) =>
        r.markets.map((m, i) => marketFromWire(m, `markets[${i}]`)),
    );
  }

  fetchOrderBook(instrument: InstrumentId, depth: number): Promise<BookSnapshot> {
    return this.#unary(
      'FetchOrderBook',
      'read',
      (md, o, cb) => this.#client().fetchOrderBook({ ...this.#target(), instrument, depth }, md, o, cb),
      (r: PaperVenueServiceFetchOrderBookResponse) => {
        if (!r.book) throw new ValidationError('book', 'is required');
        return bookSnapshotFromWire(r.book, 'book');
      },
    );
  }

  fetchFunding(instruments: InstrumentId[]): Promise<FundingInfo[]> {
    return this.#unary(
      'FetchFunding',
      'read',
      (md, o, cb) => this.#client().fetchFunding({ ...this.#target(), instruments }, md, o, cb),
      (r: PaperVenueServiceFetchFundingResponse) =>
        r.funding.map((f, i) => fundingInfoFromWire(f, `funding[${i}]`)),
    );
  }

  async watchMarket(
    instruments: InstrumentId[],
    onEvent: (event: MarketEvent) => void,
  ): Promise<Subscription> {
    const request = { ...this.#target(), instruments };
    return this.#watch<PaperVenueServiceWatchMarketResponse>(
      VENUE_COMPONENT.marketStream,
      `market stream ${instruments.join(',')}`,
      'WatchMarket',
      (md) => this.#client().watchMarket(request, md),
      (message) => onEvent(marketEventFromWire(message)),
    );
  }

  // ---- account -------------------------------------------------------------------------------

  fetchBalances(): Promise<VenueBalance[]> {
    return this.#unary(
      'FetchBalances',
      'read',
      (md, o, cb) => this.#client().fetchBalances(this.#target(), md, o, cb),
      (r: PaperVenueServiceFetchBalancesResponse) =>
        r.balances.map((b, i) => balanceFromWire(b, `balances[${i}]`)),
    );
  }

  fetchPositions(): Promise<VenuePosition[]> {
    return this.#unary(
      'FetchPositions',
      'read',
      (md, o, cb) => this.#client().fetchPositions(this.#target(), md, o, cb),
      (r: PaperVenueServiceFetchPositionsResponse) =>
        r.positions.map((p, i) => positionFromWire(p, `positions[${i}]`)),
    );
  }

  fetchOpenOrders(instrument?: InstrumentId): Promise<VenueOrder[]> {
    return this.#unary(
      'FetchOpenOrders',
      'read',
      (md, o, cb) => this.#client().fetchOpenOrders({ ...this.#target(), instrument }, md, o, cb),
      (r: PaperVenueServiceFetchOpenOrdersResponse) =>
        r.orders.map((order, i) => orderFromWire(order, `orders[${i}]`)),
    );
  }

  fetchOrder(ref: OrderRef): Promise<VenueOrder | undefined> {
    return this.#unary(
      'FetchOrder',
      'read',
      (md, o, cb) => this.#client().fetchOrder({ ...this.#target(), ref: orderRefToWire(ref) }, md, o, cb),
      (r: PaperVenueServiceFetchOrderResponse) => {
        if (!r.found) return undefined;
        if (!r.order) throw new ValidationError('order', 'is required when found is true');
        return orderFromWire(r.order, 'order');
      },
    );
  }

  fetchFills(sinceMs: EpochMs): Promise<VenueFill[]> {
    return this.#unary(
      'FetchFills',
      'read',
      (md, o, cb) => this.#client().fetchFills({ ...this.#target(), sinceMs }, md, o, cb),
      (r: PaperVenueServiceFetchFillsResponse) => r.fills.map((f, i) => fillFromWire(f, `fills[${i}]`)),
    );
  }

  #fetchNextNonce(): Promise<bigint> {
    return this.#unary(
      'FetchNextNonce',
      'read',
      (md, o, cb) => this.#client().fetchNextNonce({ ...this.#target(), apiKeyId: this.apiKeyId }, md, o, cb),
      (r: PaperVenueServiceFetchNextNonceResponse) => {
        const nonce = nonceFromWire(r.nextNonce, 'nextNonce');
        if (nonce === undefined) throw new ValidationError('nextNonce', 'is required');
        return nonce;
      },
    );
  }

  // ---- orders --------------------------------------------------------------------------------

  createOrder(request: PlaceOrderRequest): Promise<VenueOrder> {
    return this.#unary(
      'CreateOrder',
      'write',
      (md, o, cb) =>
        this.#client().createOrder(
          { ...this.#target(), apiKeyId: this.apiKeyId, ...placeOrderToWire(request) },
          md,
          o,
          cb,
        ),
      (r: PaperVenueServiceCreateOrderResponse) =>
        orderFromWire(requireOrder(r.order, request.clientOrderId), 'order'),
    );
  }

  /**
   * The venue's batch call (CreateOrders): one outcome per request, in order; each order's
   * error is the one `createOrder` would have thrown for it alone. A failure of the whole call
   * (including a lost answer: every order then unknown) rejects, as for one order.
   */
  #createOrders(requests: readonly PlaceOrderRequest[]): Promise<BatchOrderOutcome[]> {
    const context = {
      venue: this.venue,
      address: this.address,
      method: 'CreateOrders',
      kind: 'write',
    } as const;
    return this.#unary(
      'CreateOrders',
      'write',
      (md, o, cb) =>
        this.#client().createOrders(
          { ...this.#target(), apiKeyId: this.apiKeyId, orders: requests.map(placeOrderToWireRequest) },
          md,
          o,
          cb,
        ),
      (r: PaperVenueServiceCreateOrdersResponse): BatchOrderOutcome[] => {
        if (r.outcomes.length !== requests.length) {
          throw new ValidationError(
            'outcomes',
            `${r.outcomes.length} outcomes for ${requests.length} orders`,
          );
        }
        return r.outcomes.map(({ outcome }, n): BatchOrderOutcome => {
          if (outcome?.$case === 'order')
            return { ok: true, order: orderFromWire(outcome.value, `outcomes[${n}].order`) };
          if (outcome?.$case === 'error')
            return { ok: false, error: errorFromCallError(outcome.value, context) };
          throw new ValidationError(`outcomes[${n}]`, 'has neither an order nor an error');
        });
      },
    );
  }

  cancelOrder(ref: OrderRef, options: CancelOptions = {}): Promise<VenueOrder> {
    return this.#unary(
      'CancelOrder',
      'write',
      (md, o, cb) =>
        this.#client().cancelOrder(
          {
            ...this.#target(),
            apiKeyId: this.apiKeyId,
            ref: orderRefToWire(ref),
            nonce: nonceToWire(options.nonce),
          },
          md,
          o,
          cb,
        ),
      (r: PaperVenueServiceCancelOrderResponse) =>
        orderFromWire(requireOrder(r.order, ref.clientOrderId), 'order'),
    );
  }

  cancelAllOrders(instrument?: InstrumentId, options: CancelOptions = {}): Promise<VenueOrder[]> {
    return this.#unary(
      'CancelAllOrders',
      'write',
      (md, o, cb) =>
        this.#client().cancelAllOrders(
          { ...this.#target(), apiKeyId: this.apiKeyId, instrument, nonce: nonceToWire(options.nonce) },
          md,
          o,
          cb,
        ),
      (r: PaperVenueServiceCancelAllOrdersResponse) =>
        r.orders.map((order, i) => orderFromWire(order, `orders[${i}]`)),
    );
  }

  #fetchFundingPayments(sinceMs: EpochMs): Promise<VenueFundingPayment[]> {
    return this.#unary(
      'FetchFundingPayments',
      'read',
      (md, o, cb) => this.#client().fetchFundingPayments({ ...this.#target(), sinceMs }, md, o, cb),
      (r: PaperVenueServiceFetchFundingPaymentsResponse) =>
        r.payments.map((p, i) => fundingPaymentFromWire(p, `payments[${i}]`)),
    );
  }

  #setLeverage(instrument: InstrumentId, leverage: Decimal, options: CancelOptions = {}): Promise<void> {
    return this.#unary(
      'SetLeverage',
      'write',
      (md, o, cb) =>
        this.#client().setLeverage(
          {
            ...this.#target(),
            apiKeyId: this.apiKeyId,
            instrument,
            leverage: leverage.toFixed(),
            nonce: nonceToWire(options.nonce),
          },
          md,
          o,
          cb,
        ),
      () => undefined,
    );
  }

  #scheduleCancelAll(afterMs: number, options: CancelOptions = {}): Promise<void> {
    return this.#unary(
      'ScheduleCancelAll',
      'write',
      (md, o, cb) =>
        this.#client().scheduleCancelAll(
          { ...this.#target(), apiKeyId: this.apiKeyId, afterMs, nonce: nonceToWire(options.nonce) },
          md,
          o,
          cb,
        ),
      () => undefined,
    );
  }

  async watchUserStream(onEvent: (event: UserStreamEvent) => void): Promise<Subscription> {
    const request = this.#target();
    return this.#watch<PaperVenueServiceWatchUserStreamResponse>(
      VENUE_COMPONENT.userStream,
      VENUE_COMPONENT.userStream,
      'WatchUserStream',
      (md) => this.#client().watchUserStream(request, md),
      (message) => onEvent(userStreamEventFromWire(message)),
    );
  }

  // ---- health and lifecycle ------------------------------------------------------------------

  /**
   * This client's own components (the link to the server, each open stream) and the
   * remote venue's components as last fetched (at connect and every `readinessPollMs`).
   */
  readiness(): ReadinessComponent[] {
    return [this.#link, ...[...this.#streams].map((s) => s.state), ...this.#remoteReadiness];
  }

  /** Fetches the remote venue's readiness now (also what the poll does). */
  async refreshReadiness(): Promise<ReadinessComponent[]> {
    try {
      this.#remoteReadiness = await this.#unary(
        'GetReadiness',
        'read',
        (md, o, cb) => this.#client().getReadiness(this.#target(), md, o, cb),
        (r: PaperVenueServiceGetReadinessResponse) =>
          r.components.map((c, i) => readinessFromWire(c, `readiness[${i}]`)),
      );
      this.#setLink(true, `connected to paper-venue at ${this.address}`);
    } catch (err) {
      const detail = errorText(err);
      this.#setLink(false, `${LINK_COMPONENT}: cannot reach paper-venue at ${this.address}: ${detail}`);
    }
    return this.readiness();
  }

  /** Closes this client's streams and channel. The remote venue itself keeps running. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    clearTimeout(this.#pollTimer);
    await Promise.all([...this.#streams].map((s) => s.close()));
    this.#caller.client.close();
  }

  // ---- internals -----------------------------------------------------------------------------

  #target(): { venue: string; account: string } {
    return { venue: this.venue, account: this.account };
  }

  #client(): PaperVenueServiceGrpcClient {
    if (this.#closed) {
      throw new VenueDisconnectedError(
        this.venue,
        `PaperVenueClient for paper-venue at ${this.address} is closed`,
      );
    }
    return this.#caller.client;
  }

  #unary<Res, Out>(
    method: string,
    kind: CallKind,
    start: (
      metadata: Metadata,
      options: Partial<CallOptions>,
      callback: UnaryCallback<Res>,
    ) => ClientUnaryCall,
    decode: (response: Res) => Out,
  ): Promise<Out> {
    // `start` runs inside the promise executor, so #client() throwing after close() rejects.
    return this.#caller.unary(method, kind, start, decode);
  }

  async #watch<Res>(
    component: VenueComponentName,
    label: string,
    method: string,
    open: (metadata: Metadata) => ClientReadableStream<Res>,
    deliver: (message: Res) => void,
  ): Promise<Subscription> {
    this.#client(); // throws when closed
    const stream: ReconnectingStream<Res> = new ReconnectingStream<Res>({
      component,
      label,
      source: `paper-venue at ${this.address}`,
      open: (sink) => openServerStream(this.#caller, method, open, sink),
      deliver,
      initialDelayMs: this.#options.reconnectInitialDelayMs,
      maxDelayMs: this.#options.reconnectMaxDelayMs,
      onChange: (state) => this.#onReadinessChange?.(state),
      onClosed: () => this.#streams.delete(stream as ReconnectingStream<unknown>),
    });
    this.#streams.add(stream as ReconnectingStream<unknown>);
    await stream.start();
    return stream;
  }

  #schedulePoll(): void {
    this.#pollTimer = setTimeout(async () => {
      if (this.#closed) return;
      await this.refreshReadiness();
      if (!this.#closed) this.#schedulePoll();
    }, this.#options.readinessPollMs);
    this.#pollTimer.unref();
  }

  #setLink(ready: boolean, reason: string): void {
    const changed = this.#link.ready !== ready || this.#link.reason !== reason;
    this.#link = { component: LINK_COMPONENT, ready, reason };
    if (changed) this.#onReadinessChange?.(this.#link);
  }
}

/** A batch's order on the wire: the order fields only (the batch names venue, account and key). */
function placeOrderToWireRequest(request: PlaceOrderRequest) {
  return { venue: '', account: '', apiKeyId: '', ...placeOrderToWire(request) };
}

function requireOrder<T>(order: T | undefined, clientOrderId: ClientOrderId | undefined): T {
  if (order === undefined) {
    throw new ValidationError('order', `is required (order ${JSON.stringify(clientOrderId ?? '')})`);
  }
  return order;
}
