/**
 * Test-only: a paper exchange (PaperVenueHub, manual clock) with funded accounts, venue
 * ports wrapped in a spy (records every call, can fake an unknown outcome, fail fetchOrder,
 * forget finished orders or cut the user stream), and an execution service on a test backend (openTestBackend) or
 * a second handle on one.
 */
import type { EventLog } from '@perpmesh/bus';
import { decodeEnvelope, type Envelope } from '@perpmesh/contracts';
import { type Decimal, dec, type EpochMs, type InstrumentId } from '@perpmesh/core';
import { createLogger, HealthRegistry } from '@perpmesh/runtime';
import type { StateStore } from '@perpmesh/state';
import type { TestBackend } from '@perpmesh/testing';
import {
  type BatchOrderOutcome,
  type BookSnapshot,
  type CancelOptions,
  type FundingInfo,
  type MarketEvent,
  type OrderRef,
  PaperVenueHub,
  type PlaceOrderRequest,
  type ReadinessComponent,
  StaticVenueDirectory,
  type Subscription,
  type UserStreamEvent,
  type VenueBalance,
  type VenueCapabilities,
  VenueDisconnectedError,
  type VenueFill,
  type VenueMarket,
  type VenueOrder,
  VenueOrderNotFoundError,
  type VenuePort,
  type VenuePosition,
  VenueUnknownOutcomeError,
} from '@perpmesh/venues';
import { type Claim, decodeClaim, IDEMPOTENCY_SCOPE } from './claims.js';
import type { ExecutionEngineDeps, ExecutionTestHooks } from './engine.js';
import type { ExecutionOptions } from './options.js';
import { buildExecutionService, type ExecutionNonceLease, type ExecutionService } from './service.js';

export const BTC = 'BTC-USDC-PERP';
export const T0 = 1_700_000_000_000;

export function newHub(
  extraAccounts: { venueId: string; accountId: string; deposit: string }[] = [],
): PaperVenueHub {
  return new PaperVenueHub({
    seed: 7,
    clock: { kind: 'manual' },
    startMs: T0,
    venues: [{ venueId: 'paper' }, { venueId: 'paper-lighter' }],
    accounts: ['paper', 'paper-lighter']
      .flatMap((venueId) =>
        ['main', 'taker'].map((accountId) => ({ venueId, accountId, deposit: '10000000' })),
      )
      .concat(extraAccounts),
  });
}

/** Records calls to a real port; `createOrderMode` fakes failures around createOrder. */
export class SpyVenue implements VenuePort {
  readonly inner: VenuePort;
  readonly created: PlaceOrderRequest[] = [];
  readonly calls: string[] = [];
  /** `lost`: the request never arrives, then a timeout; `timeout`: it arrives, the answer is lost. */
  createOrderMode: 'normal' | 'lost' | 'timeout' = 'normal';
  /**
   * `timeout`: the cancel reaches the venue, its answer is lost; `gone`: the cancel reaches the
   * venue, which then answers "no such order" (the order ended just before).
   */
  cancelOrderMode: 'normal' | 'timeout' | 'gone' = 'normal';
  /** The next this-many fetchOrder calls fail on the link (no answer about the order). */
  fetchOrderFailures = 0;
  /** When false, user-stream events are swallowed (a disconnected stream, or a dead process). */
  deliverUserStream = true;
  /**
   * User-stream events arrive this long (ms) after the venue emitted them, in order: a stream on
   * its own connection, slower than the REST answers (a market order's answer before its fills).
   */
  userStreamDelayMs = 0;
  /** When false, fetchFills answers with no fills (a venue whose fill history lags). */
  fetchFillsWorks = true;
  /**
   * Client order ids the venue no longer knows (`fetchOrder`: no such order), as a venue that
   * keeps finished orders only for a while.
   */
  readonly forgottenOrders = new Set<string>();
  /**
   * Each order travels this long (ms) before it reaches the venue, in the order sent: another
   * process's slower connection (wrap the shared spy to give one replica its own link).
   */
  linkDelayMs = 0;
  readonly fetchNextNonce?: () => Promise<bigint>;
  /**
   * The venue's batch call, recorded like createOrder (each order in `created`) and failing
   * as `createOrderMode` says, for a venue WITHOUT nonces: execution's placements to `paper`
   * go out in batches (venue-batcher.ts) in every test here. A nonce venue's spy has none:
   * its orders keep one call each, which the nonce-ownership tests count (nonce batching is
   * tested in nonce-sender.unit and against the Lighter emulator).
   */
  readonly createOrders?: (requests: readonly PlaceOrderRequest[]) => Promise<BatchOrderOutcome[]>;
  /** Awaited with each batch before it goes to the venue (a test looks at the log then). */
  beforeBatch: ((requests: readonly PlaceOrderRequest[]) => Promise<void>) | undefined = undefined;

  constructor(inner: VenuePort) {
    this.inner = inner;
    const createOrders = inner.createOrders;
    if (createOrders && !inner.capabilities.nonces) {
      this.createOrders = async (requests) => {
        this.calls.push('createOrders');
        this.created.push(...requests);
        await this.beforeBatch?.(requests);
        if (this.createOrderMode === 'lost')
          throw new VenueUnknownOutcomeError(this.venue, 'request timed out');
        if (this.linkDelayMs > 0) await new Promise((resolve) => setTimeout(resolve, this.linkDelayMs));
        const outcomes = await createOrders.call(inner, requests);
        if (this.createOrderMode === 'timeout')
          throw new VenueUnknownOutcomeError(this.venue, 'answer timed out');
        return outcomes;
      };
    }
    if (inner.fetchNextNonce) {
      this.fetchNextNonce = () => {
        this.calls.push('fetchNextNonce');
        return inner.fetchNextNonce!();
      };
    }
  }
  get venue() {
    return this.inner.venue;
  }
  get account() {
    return this.inner.account;
  }
  get apiKeyId() {
    return this.inner.apiKeyId;
  }
  get capabilities(): VenueCapabilities {
    return this.inner.capabilities;
  }
  loadMarkets(): Promise<VenueMarket[]> {
    return this.inner.loadMarkets();
  }
  fetchOrderBook(instrument: InstrumentId, depth: number): Promise<BookSnapshot> {
    return this.inner.fetchOrderBook(instrument, depth);
  }
  fetchFunding(instruments: InstrumentId[]): Promise<FundingInfo[]> {
    return this.inner.fetchFunding(instruments);
  }
  watchMarket(instruments: InstrumentId[], onEvent: (event: MarketEvent) => void): Promise<Subscription> {
    return this.inner.watchMarket(instruments, onEvent);
  }
  fetchBalances(): Promise<VenueBalance[]> {
    return this.inner.fetchBalances();
  }
  fetchPositions(): Promise<VenuePosition[]> {
    return this.inner.fetchPositions();
  }
  fetchOpenOrders(instrument?: InstrumentId): Promise<VenueOrder[]> {
    this.calls.push('fetchOpenOrders');
    return this.inner.fetchOpenOrders(instrument);
  }
  fetchOrder(ref: OrderRef): Promise<VenueOrder | undefined> {
    this.calls.push('fetchOrder');
    if (this.fetchOrderFailures > 0) {
      this.fetchOrderFailures -= 1;
      return Promise.reject(new VenueDisconnectedError(this.venue, 'link down while asking about the order'));
    }
    if (ref.clientOrderId !== undefined && this.forgottenOrders.has(ref.clientOrderId)) {
      return Promise.reject(new VenueOrderNotFoundError(this.venue, 'no such order (forgotten)'));
    }
    return this.inner.fetchOrder(ref);
  }
  fetchFills(sinceMs: EpochMs): Promise<VenueFill[]> {
    this.calls.push('fetchFills');
    if (!this.fetchFillsWorks) return Promise.resolve([]);
    return this.inner.fetchFills(sinceMs);
  }
  // Not async before the inner call: the venue must see requests in the order they are made.
  async createOrder(request: PlaceOrderRequest): Promise<VenueOrder> {
    this.calls.push('createOrder');
    this.created.push(request);
    if (this.createOrderMode === 'lost') throw new VenueUnknownOutcomeError(this.venue, 'request timed out');
    // The same delay for every order: they still arrive in the order sent.
    if (this.linkDelayMs > 0) await new Promise((resolve) => setTimeout(resolve, this.linkDelayMs));
    const result = await this.inner.createOrder(request);
    if (this.createOrderMode === 'timeout')
      throw new VenueUnknownOutcomeError(this.venue, 'answer timed out');
    return result;
  }
  async cancelOrder(ref: OrderRef, options?: CancelOptions): Promise<VenueOrder> {
    this.calls.push('cancelOrder');
    const result = await this.inner.cancelOrder(ref, options);
    if (this.cancelOrderMode === 'timeout')
      throw new VenueUnknownOutcomeError(this.venue, 'answer timed out');
    if (this.cancelOrderMode === 'gone') throw new VenueOrderNotFoundError(this.venue, 'no such open order');
    return result;
  }
  cancelAllOrders(instrument?: InstrumentId, options?: CancelOptions): Promise<VenueOrder[]> {
    this.calls.push('cancelAllOrders');
    return this.inner.cancelAllOrders(instrument, options);
  }
  /** Each scheduleCancelAll's deadline, in call order. */
  readonly scheduled: number[] = [];
  /** When false, scheduleCancelAll calls fail on the link (a dead or cut-off process). */
  scheduleCancelAllWorks = true;
  async scheduleCancelAll(afterMs: number, options?: CancelOptions): Promise<void> {
    this.calls.push('scheduleCancelAll');
    if (!this.scheduleCancelAllWorks) throw new VenueDisconnectedError(this.venue, 'link down');
    if (!this.inner.scheduleCancelAll) throw new Error(`${this.venue} has no scheduleCancelAll`);
    this.scheduled.push(afterMs);
    return this.inner.scheduleCancelAll(afterMs, options);
  }
  readonly leverageSet: string[] = [];
  async setLeverage(instrument: InstrumentId, leverage: Decimal, options?: CancelOptions): Promise<void> {
    this.calls.push('setLeverage');
    if (!this.inner.setLeverage) throw new Error(`${this.venue} has no setLeverage`);
    await this.inner.setLeverage(instrument, leverage, options);
    this.leverageSet.push(`${instrument}=${leverage.toFixed()}`);
  }
  watchUserStream(onEvent: (event: UserStreamEvent) => void): Promise<Subscription> {
    return this.inner.watchUserStream((event) => {
      if (!this.deliverUserStream) return;
      // One timer per event, all of the same length: they still arrive in order.
      if (this.userStreamDelayMs > 0) setTimeout(() => onEvent(event), this.userStreamDelayMs);
      else onEvent(event);
    });
  }
  readiness(): ReadinessComponent[] {
    return this.inner.readiness();
  }
  close(): Promise<void> {
    return this.inner.close();
  }
}

export interface Exchange {
  readonly hub: PaperVenueHub;
  /** One spy per (venue, account) for `main`. */
  readonly spies: Map<string, SpyVenue>;
  readonly directory: StaticVenueDirectory;
  spy(venue: string): SpyVenue;
  /** Best bid / ask of BTC on a venue. */
  top(venue: string): Promise<{ bid: Decimal; ask: Decimal }>;
}

export function newExchange(hub = newHub()): Exchange {
  const spies = new Map<string, SpyVenue>();
  for (const venue of ['paper', 'paper-lighter']) spies.set(venue, new SpyVenue(hub.venue(venue, 'main')));
  const directory = new StaticVenueDirectory([...spies.values()]);
  return {
    hub,
    spies,
    directory,
    spy: (venue) => spies.get(venue)!,
    top: async (venue) => {
      const book = await hub.venue(venue, 'taker').fetchOrderBook(BTC, 1);
      return { bid: book.bids[0]!.price, ask: book.asks[0]!.price };
    },
  };
}

export interface ServiceUnderTest {
  readonly service: ExecutionService;
  readonly health: HealthRegistry;
  clock: { now: EpochMs };
}

/** Where a service under test runs: a test backend, or one with a second log / store handle. */
export type ServiceBackend = Pick<TestBackend, 'log' | 'state' | 'subjects' | 'stream'>;

export function newService(
  opts: ServiceBackend & {
    directory: StaticVenueDirectory;
    instance?: string;
    hooks?: ExecutionTestHooks;
    config?: Partial<ExecutionOptions>;
    /** Account settings and the dead-man switch (ExecutionEngineDeps). */
    settings?: Pick<ExecutionEngineDeps, 'accountSettings' | 'deadManSwitch'>;
    metrics?: ExecutionEngineDeps['metrics'];
    /** Replicas dividing the strict-nonce keys (service.ts); absent: this one signs with all. */
    nonceLease?: ExecutionNonceLease;
    /** The wall clock and real waits (leases between replicas), instead of the manual clock. */
    realTime?: boolean;
    /** The claim's mark with the write-ahead at once (default) or after it (ExecutionEngineDeps). */
    markWithWriteAhead?: boolean;
  },
): ServiceUnderTest {
  const clock = { now: T0 };
  const time = opts.realTime
    ? { nowMs: () => Date.now() }
    : {
        nowMs: () => clock.now,
        // Resolver waits move the service's clock instead of waiting.
        sleep: async (ms: number) => {
          clock.now += ms;
          await new Promise((resolve) => setImmediate(resolve));
        },
      };
  const health = new HealthRegistry();
  const service = buildExecutionService({
    log: opts.log,
    state: opts.state,
    venues: opts.directory,
    subjects: opts.subjects,
    health,
    logger: createLogger({ service: 'execution', level: 'silent' }),
    ...time,
    source: `execution/${opts.instance ?? 'test'}`,
    config: {
      execStream: opts.stream('EXEC'),
      housekeepingIntervalMs: 60_000,
      fillCatchUpDelayMs: 10,
      ...opts.config,
    },
    ...(opts.hooks ? { hooks: opts.hooks } : {}),
    ...(opts.metrics ? { metrics: opts.metrics } : {}),
    ...opts.settings,
    ...(opts.nonceLease ? { nonceLease: opts.nonceLease } : {}),
    ...(opts.markWithWriteAhead === undefined ? {} : { markWithWriteAhead: opts.markWithWriteAhead }),
  });
  return { service, health, clock };
}

/** Every exec envelope on the log, in order. */
export async function execEvents(log: EventLog, stream: string): Promise<Envelope[]> {
  const out: Envelope[] = [];
  for await (const msg of log.read({ stream })) out.push(decodeEnvelope(msg.data));
  return out;
}

/** `SUBMITTED`, `ACCEPTED`, `fill` ... for one client order id. */
/** The idempotency claim stored for a client order id on paper/main (undefined: none). */
export async function storedClaim(state: StateStore, clientOrderId: string): Promise<Claim | undefined> {
  const raw = await state.getIdempotencyKey(IDEMPOTENCY_SCOPE, `paper:main:${clientOrderId}`);
  return raw === undefined ? undefined : decodeClaim(raw);
}

export function timeline(events: Envelope[], clientOrderId: string): string[] {
  const out: string[] = [];
  for (const e of events) {
    const p = e.payload;
    if (p?.$case === 'orderEvent' && p.value.order?.clientOrderId === clientOrderId) {
      out.push(orderEventKindName(p.value.kind));
    } else if (p?.$case === 'fill' && p.value.clientOrderId === clientOrderId) {
      out.push('fill');
    }
  }
  return out;
}

function orderEventKindName(kind: number): string {
  return [
    'UNSPECIFIED',
    'SUBMITTED',
    'ACCEPTED',
    'REJECTED',
    'PARTIALLY_FILLED',
    'FILLED',
    'CANCEL_REQUESTED',
    'CANCELED',
    'EXPIRED',
  ][kind]!;
}

export const size = (s: string) => dec(s);

/** A held call: `hold()` makes the next calls wait until `release(fail?)`. */
export class Gate {
  #held: { promise: Promise<void>; release: (fail?: Error) => void } | undefined;
  /** Calls that reached the gate while it was held. */
  reached = 0;

  hold(): void {
    let release!: (fail?: Error) => void;
    const promise = new Promise<void>((resolve, reject) => {
      release = (fail) => (fail ? reject(fail) : resolve());
    });
    promise.catch(() => undefined);
    this.#held = { promise, release };
    this.reached = 0;
  }

  release(fail?: Error): void {
    const held = this.#held;
    this.#held = undefined;
    held?.release(fail);
  }

  async pass(): Promise<void> {
    const held = this.#held;
    if (!held) return;
    this.reached += 1;
    await held.promise;
  }
}

/** `target` with `methods` passing `gate` first; every other member as it is (bound to the target). */
export function gated<T extends object>(target: T, methods: readonly string[], gate: Gate): T {
  return new Proxy(target, {
    get(t, prop, receiver) {
      const value = Reflect.get(t, prop, receiver);
      if (typeof value !== 'function') return value;
      if (typeof prop === 'string' && methods.includes(prop)) {
        return async (...args: unknown[]) => {
          await gate.pass();
          return (value as (...a: unknown[]) => unknown).apply(t, args);
        };
      }
      return value.bind(t);
    },
  });
}
