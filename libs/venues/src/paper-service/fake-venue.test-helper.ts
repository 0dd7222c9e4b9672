/**
 * Test-only: a small deterministic in-memory VenuePort (no matching, no clock) for the
 * paper-venue client and server tests, plus a paper-venue gRPC server over runtime's `startGrpcServer`.
 *
 * The fake records every call with its arguments, can be told to fail the next call of a
 * method (`failNext`) or to hold it until released (`hold`), and pushes market and user
 * events to its subscribers when the test says so (`emitMarket`, `emitUser`).
 */

import { PaperVenueServiceService } from '@perpmesh/contracts';
import type { AccountId, InstrumentId, VenueId } from '@perpmesh/core';
import { Decimal, dec } from '@perpmesh/core';
import {
  createLogger,
  HealthRegistry,
  type RunningGrpcServer,
  type Secret,
  startGrpcServer,
} from '@perpmesh/runtime';
import { VenueOrderNotFoundError } from '../errors.js';
import type {
  BookSnapshot,
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
  VenueMarket,
  VenueOrder,
  VenuePort,
  VenuePosition,
} from '../port.js';
import { type PaperVenueGrpcServiceOptions, paperVenueGrpcService } from './server.js';

/** Decimals chosen to break anything that goes through a float. */
export const TINY = '0.000000001';
export const HUGE = '123456789.123456789';
export const T0 = 1_700_000_000_000;

export const INSTRUMENT = 'BTC-USDC-PERP';

export function sampleMarket(): VenueMarket {
  return {
    instrument: INSTRUMENT,
    venueSymbol: 'BTC',
    base: 'BTC',
    quote: 'USDC',
    settle: 'USDC',
    tickSize: dec(TINY),
    lotSize: dec('0.00001'),
    minSize: dec('0.0001'),
    minNotional: dec('10'),
    maxLeverage: dec('50'),
    fundingIntervalMs: 3_600_000,
    makerFeeRate: dec('-0.00002'),
    takerFeeRate: dec('0.00045'),
  };
}

export function sampleBook(): BookSnapshot {
  return {
    kind: 'snapshot',
    instrument: INSTRUMENT,
    seq: 42,
    bids: [
      { price: dec(HUGE), size: dec(TINY) },
      { price: dec('123456789.12345678'), size: dec('2') },
    ],
    asks: [{ price: dec('123456790'), size: dec(HUGE) }],
    tsEventMs: T0,
  };
}

export function sampleFunding(instrument: InstrumentId = INSTRUMENT): FundingInfo {
  return {
    kind: 'funding',
    instrument,
    rate: dec('-0.000012345678901'),
    intervalMs: 3_600_000,
    nextFundingTimeMs: T0 + 3_600_000,
    markPrice: dec(HUGE),
    indexPrice: dec('123456789.1'),
    tsEventMs: T0,
  };
}

export function sampleBalance(): VenueBalance {
  return {
    asset: 'USDC',
    total: dec(HUGE),
    available: dec(TINY),
    equity: dec('123456789.123456790'),
    unrealizedPnl: dec('-0.000000001'),
    tsEventMs: T0,
  };
}

export function samplePositions(): VenuePosition[] {
  return [
    {
      instrument: INSTRUMENT,
      size: dec(`-${TINY}`),
      entryPrice: dec(HUGE),
      markPrice: dec('123456789.2'),
      unrealizedPnl: dec('-0.000000000076543211'),
      realizedPnl: dec('0'),
      leverage: dec('5'),
      liquidationPrice: dec('150000000.5'),
      tsEventMs: T0,
    },
    {
      instrument: 'ETH-USDC-PERP',
      size: dec('3.5'),
      entryPrice: dec('2500.25'),
      markPrice: dec('2501'),
      unrealizedPnl: dec('2.625'),
      realizedPnl: dec('-1.1'),
      leverage: dec('10'),
      tsEventMs: T0 + 1,
    },
  ];
}

export function sampleFill(order: VenueOrder): VenueFill {
  return {
    tradeId: `t-${order.venueOrderId}`,
    venueOrderId: order.venueOrderId,
    clientOrderId: order.clientOrderId,
    instrument: order.instrument,
    side: order.side,
    price: dec(HUGE),
    size: dec(TINY),
    fee: dec('-0.000000000000123457'),
    feeCurrency: 'USDC',
    liquidity: 'maker',
    tsEventMs: T0 + 5,
    origin: 'order',
  };
}

export const FAKE_CAPABILITIES: VenueCapabilities = {
  nonces: true,
  nonceFloorIsTimeMs: false,
  rejectsDuplicateClientOrderId: true,
  cancelAllOrders: true,
  postOnly: true,
  fok: false,
  fundingHistory: false,
  setLeverage: false,
  scheduleCancelAll: false,
  scheduleCancelAllMinMs: 0,
  venueFills: false,
  strictNonceOrder: true,
};

export interface FakeVenueOptions {
  venue: VenueId;
  account: AccountId;
  apiKeyId: string;
  capabilities?: VenueCapabilities;
  /** When set, the fake has `fetchNextNonce` and answers this. */
  nextNonce?: bigint;
}

type Deferred = { promise: Promise<void>; release: () => void };

export class FakeVenue implements VenuePort {
  readonly venue: VenueId;
  readonly account: AccountId;
  readonly apiKeyId: string;
  readonly capabilities: VenueCapabilities;
  readonly fetchNextNonce?: () => Promise<bigint>;

  /** Every call, in order, with the arguments it got. */
  readonly calls: Array<{ method: string; args: unknown[] }> = [];
  readonly orders = new Map<string, VenueOrder>();
  readonly fills: VenueFill[] = [];
  /** Like most venues, send a book snapshot of each instrument inside watchMarket, before it resolves. */
  snapshotOnWatch = false;
  readinessComponents: ReadinessComponent[] = [
    { component: 'markets', ready: true, reason: 'markets loaded' },
    { component: 'balance', ready: false, reason: 'main@paper: no balance fetched yet' },
  ];

  readonly #failures = new Map<string, Error>();
  readonly #holds = new Map<string, Deferred>();
  readonly #marketSubs = new Set<{ instruments: InstrumentId[]; onEvent: (e: MarketEvent) => void }>();
  readonly #userSubs = new Set<(e: UserStreamEvent) => void>();
  #nextVenueOrderId = 1;

  constructor(options: FakeVenueOptions) {
    this.venue = options.venue;
    this.account = options.account;
    this.apiKeyId = options.apiKeyId;
    this.capabilities = options.capabilities ?? FAKE_CAPABILITIES;
    const nextNonce = options.nextNonce;
    if (nextNonce !== undefined) {
      this.fetchNextNonce = async () => {
        await this.#enter('fetchNextNonce', []);
        return nextNonce;
      };
    }
  }

  /** The next call of `method` throws `error` (once). */
  failNext(method: string, error: Error): void {
    this.#failures.set(method, error);
  }

  /** Calls of `method` wait until the returned function is called. */
  hold(method: string): () => void {
    let release!: () => void;
    const promise = new Promise<void>((resolve) => {
      release = resolve;
    });
    this.#holds.set(method, { promise, release });
    return () => {
      this.#holds.delete(method);
      release();
    };
  }

  callsOf(method: string): unknown[][] {
    return this.calls.filter((c) => c.method === method).map((c) => c.args);
  }

  get activeSubscriptions(): number {
    return this.#marketSubs.size + this.#userSubs.size;
  }

  emitMarket(event: MarketEvent): void {
    for (const sub of this.#marketSubs) if (sub.instruments.includes(event.instrument)) sub.onEvent(event);
  }

  emitUser(event: UserStreamEvent): void {
    for (const onEvent of this.#userSubs) onEvent(event);
  }

  async #enter(method: string, args: unknown[]): Promise<void> {
    this.calls.push({ method, args });
    const failure = this.#failures.get(method);
    if (failure) {
      this.#failures.delete(method);
      throw failure;
    }
    await this.#holds.get(method)?.promise;
  }

  async loadMarkets(): Promise<VenueMarket[]> {
    await this.#enter('loadMarkets', []);
    return [sampleMarket()];
  }

  async fetchOrderBook(instrument: InstrumentId, depth: number): Promise<BookSnapshot> {
    await this.#enter('fetchOrderBook', [instrument, depth]);
    return { ...sampleBook(), instrument };
  }

  async fetchFunding(instruments: InstrumentId[]): Promise<FundingInfo[]> {
    await this.#enter('fetchFunding', [instruments]);
    return instruments.map((i) => sampleFunding(i));
  }

  async watchMarket(
    instruments: InstrumentId[],
    onEvent: (event: MarketEvent) => void,
  ): Promise<Subscription> {
    await this.#enter('watchMarket', [instruments]);
    const sub = { instruments, onEvent };
    this.#marketSubs.add(sub);
    if (this.snapshotOnWatch) for (const instrument of instruments) onEvent({ ...sampleBook(), instrument });
    return { close: async () => void this.#marketSubs.delete(sub) };
  }

  async fetchBalances(): Promise<VenueBalance[]> {
    await this.#enter('fetchBalances', []);
    return [sampleBalance()];
  }

  async fetchPositions(): Promise<VenuePosition[]> {
    await this.#enter('fetchPositions', []);
    return samplePositions();
  }

  async fetchOpenOrders(instrument?: InstrumentId): Promise<VenueOrder[]> {
    await this.#enter('fetchOpenOrders', [instrument]);
    return [...this.orders.values()].filter(
      (o) =>
        (instrument === undefined || o.instrument === instrument) &&
        (o.status === 'accepted' || o.status === 'partially_filled'),
    );
  }

  async fetchOrder(ref: OrderRef): Promise<VenueOrder | undefined> {
    await this.#enter('fetchOrder', [ref]);
    return this.#find(ref);
  }

  async fetchFills(sinceMs: number): Promise<VenueFill[]> {
    await this.#enter('fetchFills', [sinceMs]);
    return this.fills.filter((f) => f.tsEventMs >= sinceMs);
  }

  async createOrder(request: PlaceOrderRequest): Promise<VenueOrder> {
    await this.#enter('createOrder', [request]);
    const order: VenueOrder = {
      clientOrderId: request.clientOrderId,
      venueOrderId: `v${this.#nextVenueOrderId++}`,
      instrument: request.instrument,
      side: request.side,
      type: request.type,
      timeInForce: request.timeInForce,
      size: request.size,
      filled: dec(0),
      status: 'accepted',
      reduceOnly: request.reduceOnly,
      tsEventMs: T0 + this.#nextVenueOrderId,
    };
    if (request.price !== undefined) order.price = request.price;
    this.orders.set(order.clientOrderId, order);
    this.emitUser({ kind: 'order', order });
    return order;
  }

  async cancelOrder(ref: OrderRef): Promise<VenueOrder> {
    await this.#enter('cancelOrder', [ref]);
    const order = this.#find(ref);
    if (!order) throw new VenueOrderNotFoundError(this.venue, `no order ${JSON.stringify(ref)}`);
    const canceled: VenueOrder = { ...order, status: 'canceled', reason: 'canceled by user' };
    this.orders.set(order.clientOrderId, canceled);
    return canceled;
  }

  async cancelAllOrders(instrument?: InstrumentId): Promise<VenueOrder[]> {
    await this.#enter('cancelAllOrders', [instrument]);
    const canceled: VenueOrder[] = [];
    for (const order of this.orders.values()) {
      if (instrument !== undefined && order.instrument !== instrument) continue;
      if (order.status !== 'accepted' && order.status !== 'partially_filled') continue;
      const c: VenueOrder = { ...order, status: 'canceled' };
      this.orders.set(order.clientOrderId, c);
      canceled.push(c);
    }
    return canceled;
  }

  async watchUserStream(onEvent: (event: UserStreamEvent) => void): Promise<Subscription> {
    await this.#enter('watchUserStream', []);
    this.#userSubs.add(onEvent);
    return { close: async () => void this.#userSubs.delete(onEvent) };
  }

  readiness(): ReadinessComponent[] {
    return this.readinessComponents;
  }

  async close(): Promise<void> {
    this.#marketSubs.clear();
    this.#userSubs.clear();
  }

  #find(ref: OrderRef): VenueOrder | undefined {
    for (const order of this.orders.values()) {
      if (order.instrument !== ref.instrument) continue;
      if (ref.clientOrderId !== undefined && order.clientOrderId === ref.clientOrderId) return order;
      if (ref.venueOrderId !== undefined && order.venueOrderId === ref.venueOrderId) return order;
    }
    return undefined;
  }
}

// ---- server -------------------------------------------------------------------------------------

const PROTO_ROOT = new URL('../../../../proto/', import.meta.url).pathname;

export interface TestPaperVenueServer {
  readonly address: string;
  readonly port: number;
  readonly grpc: RunningGrpcServer;
  /** Ends every open stream (UNAVAILABLE) as a shutting-down service would. */
  endStreams(): void;
  /** Cuts every connection at once (a crash, as seen by clients). */
  kill(): Promise<void>;
  close(): Promise<void>;
}

/** A paper-venue gRPC server on 127.0.0.1 serving the given ports by (venue, account). */
export async function startTestPaperVenueServer(options: {
  venues: readonly VenuePort[];
  port?: number;
  authToken?: Secret;
  service?: Omit<PaperVenueGrpcServiceOptions, 'signal'>;
}): Promise<TestPaperVenueServer> {
  const byKey = new Map(options.venues.map((v) => [`${v.venue}\u0000${v.account}`, v]));
  const shutdown = new AbortController();
  const grpc = await startGrpcServer({
    host: '127.0.0.1',
    port: options.port ?? 0,
    services: [
      {
        definition: PaperVenueServiceService,
        implementation: paperVenueGrpcService((venue, account) => byKey.get(`${venue}\u0000${account}`), {
          ...options.service,
          signal: shutdown.signal,
        }),
      },
    ],
    protoFiles: ['perpmesh/v1/paper_venue.proto'],
    includeDirs: [PROTO_ROOT],
    ...(options.authToken ? { authToken: options.authToken } : {}),
    logger: createLogger({ service: 'paper-venue-test', level: 'silent' }),
    health: new HealthRegistry(),
  });
  return {
    address: grpc.address,
    port: grpc.port,
    grpc,
    endStreams: () => shutdown.abort(),
    kill: async () => {
      grpc.server.forceShutdown();
      shutdown.abort();
    },
    close: async () => {
      shutdown.abort();
      await grpc.close(1_000);
    },
  };
}

/** Decimals as their exact text, recursively, so deepEqual compares values digit for digit. */
export function plain(value: unknown): unknown {
  if (value instanceof Decimal) return `dec:${value.toFixed()}`;
  if (typeof value === 'bigint') return `bigint:${value}`;
  if (Array.isArray(value)) return value.map(plain);
  if (value !== null && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, plain(v)]));
  }
  return value;
}
