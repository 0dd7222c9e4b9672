/**
 * A venue port whose connection is still being made: what a process gets for a venue that
 * is slow or unreachable when it starts, instead of failing its start (and exiting).
 *
 * `openOrDefer` tries to connect once; on a transient failure (the venue is not there yet,
 * or too slow) it returns a DeferredVenuePort that keeps connecting in the background with
 * backoff. Meanwhile its readiness says which components are not ready and why (the link
 * first), calls fail with VenueDisconnectedError (nothing was sent), and subscriptions are
 * accepted and attached once connected. Once connected, everything is the real port's.
 * A permanent failure (a config error: the server does not host the venue, a bad field)
 * still fails the open: waiting will not fix it.
 *
 * Not specific to the paper venue (any adapter whose open connects can use it).
 */
import type { AccountId, Decimal, EpochMs, InstrumentId, VenueId } from '@perpmesh/core';
import { backoffDelayMs, errorText } from '@perpmesh/core';
import { RateLimitedError, VenueDisconnectedError, VenueUnknownOutcomeError } from '../errors.js';
import type {
  BatchOrderOutcome,
  BookSnapshot,
  CancelOptions,
  FundingInfo,
  MarginMode,
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

export interface DeferredVenuePortOptions {
  readonly venue: VenueId;
  readonly account: AccountId;
  readonly apiKeyId: string;
  /** What is being connected to, for reasons: `paper-venue at 127.0.0.1:50054`. */
  readonly target: string;
  readonly connect: () => Promise<VenuePort>;
  /** First retry delay, ms; doubles up to `retryMaxDelayMs`. */
  readonly retryInitialDelayMs?: number;
  readonly retryMaxDelayMs?: number;
  /** Told once connected (a log line). */
  readonly onConnected?: (port: VenuePort) => void;
}

/** Failures that waiting can fix: the venue is not reachable (yet), or too slow. */
export function isTransientConnectError(err: unknown): boolean {
  return (
    err instanceof VenueDisconnectedError ||
    err instanceof VenueUnknownOutcomeError ||
    err instanceof RateLimitedError
  );
}

/** The connected port, or — when the venue is not reachable yet — a port that keeps connecting. */
export async function openOrDefer(options: DeferredVenuePortOptions): Promise<VenuePort> {
  try {
    return await options.connect();
  } catch (err) {
    if (!isTransientConnectError(err)) throw err;
    return new DeferredVenuePort(options, err);
  }
}

/** Capabilities before the venue said: nothing assumed. Nothing is sent before it says. */
const UNKNOWN_CAPABILITIES: VenueCapabilities = {
  nonces: false,
  nonceFloorIsTimeMs: false,
  rejectsDuplicateClientOrderId: false,
  cancelAllOrders: false,
  postOnly: false,
  fok: false,
};

interface PendingSubscription {
  attach: (port: VenuePort) => Promise<Subscription>;
  inner: Subscription | undefined;
  closed: boolean;
}

export class DeferredVenuePort implements VenuePort {
  readonly venue: VenueId;
  readonly account: AccountId;
  readonly apiKeyId: string;
  readonly #options: DeferredVenuePortOptions;
  readonly #pending = new Set<PendingSubscription>();
  #inner: VenuePort | undefined;
  #lastError: string;
  #attempts = 1;
  #timer: NodeJS.Timeout | undefined;
  #closed = false;

  constructor(options: DeferredVenuePortOptions, firstError: unknown) {
    this.#options = options;
    this.venue = options.venue;
    this.account = options.account;
    this.apiKeyId = options.apiKeyId;
    this.#lastError = errorText(firstError);
    this.#scheduleConnect();
  }

  /** The real port once connected. */
  get connected(): VenuePort | undefined {
    return this.#inner;
  }

  get capabilities(): VenueCapabilities {
    return this.#inner?.capabilities ?? UNKNOWN_CAPABILITIES;
  }

  // Optional members: present exactly when the connected port has them.
  get fetchNextNonce(): (() => Promise<bigint>) | undefined {
    const inner = this.#inner;
    return inner?.fetchNextNonce ? () => inner.fetchNextNonce!() : undefined;
  }
  get fetchFundingPayments(): ((sinceMs: EpochMs) => Promise<VenueFundingPayment[]>) | undefined {
    const inner = this.#inner;
    return inner?.fetchFundingPayments ? (sinceMs) => inner.fetchFundingPayments!(sinceMs) : undefined;
  }
  get setLeverage():
    | ((instrument: InstrumentId, leverage: Decimal, options?: CancelOptions) => Promise<void>)
    | undefined {
    const inner = this.#inner;
    return inner?.setLeverage
      ? (instrument, leverage, options) => inner.setLeverage!(instrument, leverage, options)
      : undefined;
  }
  get setMarginMode():
    | ((instrument: InstrumentId, mode: MarginMode, options?: CancelOptions) => Promise<void>)
    | undefined {
    const inner = this.#inner;
    return inner?.setMarginMode
      ? (instrument, mode, options) => inner.setMarginMode!(instrument, mode, options)
      : undefined;
  }
  get scheduleCancelAll(): ((afterMs: number, options?: CancelOptions) => Promise<void>) | undefined {
    const inner = this.#inner;
    return inner?.scheduleCancelAll
      ? (afterMs, options) => inner.scheduleCancelAll!(afterMs, options)
      : undefined;
  }

  get createOrders(): ((requests: readonly PlaceOrderRequest[]) => Promise<BatchOrderOutcome[]>) | undefined {
    const inner = this.#inner;
    return inner?.createOrders ? (requests) => inner.createOrders!(requests) : undefined;
  }

  loadMarkets(): Promise<VenueMarket[]> {
    return this.#call((p) => p.loadMarkets());
  }
  fetchOrderBook(instrument: InstrumentId, depth: number): Promise<BookSnapshot> {
    return this.#call((p) => p.fetchOrderBook(instrument, depth));
  }
  fetchFunding(instruments: InstrumentId[]): Promise<FundingInfo[]> {
    return this.#call((p) => p.fetchFunding(instruments));
  }
  watchMarket(instruments: InstrumentId[], onEvent: (event: MarketEvent) => void): Promise<Subscription> {
    return this.#watch((p) => p.watchMarket(instruments, onEvent));
  }
  fetchBalances(): Promise<VenueBalance[]> {
    return this.#call((p) => p.fetchBalances());
  }
  fetchPositions(): Promise<VenuePosition[]> {
    return this.#call((p) => p.fetchPositions());
  }
  fetchOpenOrders(instrument?: InstrumentId): Promise<VenueOrder[]> {
    return this.#call((p) => p.fetchOpenOrders(instrument));
  }
  fetchOrder(ref: OrderRef): Promise<VenueOrder | undefined> {
    return this.#call((p) => p.fetchOrder(ref));
  }
  fetchFills(sinceMs: EpochMs): Promise<VenueFill[]> {
    return this.#call((p) => p.fetchFills(sinceMs));
  }
  createOrder(request: PlaceOrderRequest): Promise<VenueOrder> {
    return this.#call((p) => p.createOrder(request));
  }
  cancelOrder(ref: OrderRef, options?: CancelOptions): Promise<VenueOrder> {
    return this.#call((p) => p.cancelOrder(ref, options));
  }
  cancelAllOrders(instrument?: InstrumentId, options?: CancelOptions): Promise<VenueOrder[]> {
    return this.#call((p) => p.cancelAllOrders(instrument, options));
  }
  watchUserStream(onEvent: (event: UserStreamEvent) => void): Promise<Subscription> {
    return this.#watch((p) => p.watchUserStream(onEvent));
  }

  readiness(): ReadinessComponent[] {
    if (this.#inner) return this.#inner.readiness();
    const reason = this.#closed
      ? `${this.venue}: venue port closed`
      : `${this.venue}: cannot reach ${this.#options.target} (${this.#attempts} attempt(s)): ${this.#lastError}; retrying`;
    const components: VenueComponentName[] =
      this.account === PUBLIC_ACCOUNT
        ? [VENUE_COMPONENT.link, VENUE_COMPONENT.markets, VENUE_COMPONENT.marketStream]
        : [
            VENUE_COMPONENT.link,
            VENUE_COMPONENT.markets,
            VENUE_COMPONENT.marketStream,
            VENUE_COMPONENT.userStream,
            VENUE_COMPONENT.balance,
          ];
    return components.map((component) => ({ component, ready: false, reason }));
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#pending.clear();
    await this.#inner?.close();
  }

  // ---- connecting -------------------------------------------------------------------------------

  #scheduleConnect(): void {
    if (this.#closed || this.#inner) return;
    const delay = backoffDelayMs(
      this.#attempts - 1,
      this.#options.retryInitialDelayMs ?? 500,
      this.#options.retryMaxDelayMs ?? 10_000,
    );
    this.#timer = setTimeout(() => void this.#tryConnect(), delay);
    // The process's services keep it alive; a venue that never comes must not.
    this.#timer.unref();
  }

  async #tryConnect(): Promise<void> {
    this.#timer = undefined;
    if (this.#closed) return;
    this.#attempts += 1;
    let port: VenuePort;
    try {
      port = await this.#options.connect();
    } catch (err) {
      this.#lastError = errorText(err);
      this.#scheduleConnect();
      return;
    }
    if (this.#closed) {
      await port.close().catch(() => undefined);
      return;
    }
    this.#inner = port;
    this.#options.onConnected?.(port);
    for (const pending of [...this.#pending]) void this.#attachPending(pending, port);
  }

  async #attachPending(pending: PendingSubscription, port: VenuePort): Promise<void> {
    try {
      const inner = await pending.attach(port);
      if (pending.closed) await inner.close();
      else pending.inner = inner;
    } catch (err) {
      // The real port refused the subscription: its readiness says so; the caller's own
      // health checks (stale streams) see nothing arriving.
      this.#lastError = `subscribing after connect failed: ${errorText(err)}`;
    } finally {
      this.#pending.delete(pending);
    }
  }

  #call<T>(fn: (port: VenuePort) => Promise<T>): Promise<T> {
    if (this.#inner) return fn(this.#inner);
    return Promise.reject(
      new VenueDisconnectedError(
        this.venue,
        this.#closed
          ? 'venue port closed'
          : `not connected to ${this.#options.target} yet (nothing was sent): ${this.#lastError}`,
      ),
    );
  }

  /** Subscribes now when connected; else accepts it and attaches it once connected. */
  async #watch(attach: (port: VenuePort) => Promise<Subscription>): Promise<Subscription> {
    if (this.#inner) return attach(this.#inner);
    if (this.#closed) throw new VenueDisconnectedError(this.venue, 'venue port closed');
    const pending: PendingSubscription = { attach, inner: undefined, closed: false };
    this.#pending.add(pending);
    return {
      close: async () => {
        pending.closed = true;
        this.#pending.delete(pending);
        await pending.inner?.close();
      },
    };
  }
}
