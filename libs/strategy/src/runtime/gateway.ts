/**
 * Where a strategy's orders go: the `OrderGateway` port and its two implementations.
 *
 * - `GrpcOrderGateway`: the execution service's gRPC API (bearer token), the ONLY way a
 *   live strategy reaches a venue. PlaceOrder is idempotent by client order id, so a
 *   resend after a crash places nothing new.
 * - `DryRunRecorder`: records every intended order and never reaches a venue. It does
 *   not pretend to be one either: each order comes back `expired` with the reason
 *   `DRY-RUN: recorded, not sent to any venue`, so no strategy believes it traded.
 *
 * The account side (balances, positions) is read through `AccountReader`; markets through
 * `MarketsSource` (public trading rules and fees; ExecutionService has no markets RPC).
 */
import { type ChannelCredentials, credentials, Metadata, type ServiceError, status } from '@grpc/grpc-js';
import {
  AccountServiceClient,
  type BalanceView,
  ExecutionServiceClient,
  type Order,
  orderTypeToProto,
  type Position,
  sideToProto,
  timeInForceToProto,
} from '@perpmesh/contracts';
import { type EpochMs, PerpmeshError, ZERO } from '@perpmesh/core';
import { bearerAuthInterceptor, type Secret } from '@perpmesh/runtime';
import type { MarketInfo, OrderIntent, OrderRef, OrderSnapshot } from '../model.js';
import { STRATEGY_DEFAULTS } from './config.js';
import { marketInfo, orderSnapshot } from './inputs.js';

/** The execution service refused the order (bad argument, failed precondition): it was not placed. */
export class OrderRefusedError extends PerpmeshError {
  readonly reason: string;
  constructor(reason: string, options?: { cause?: unknown }) {
    super('ORDER_REFUSED', `order refused: ${reason}`, options);
    this.reason = reason;
  }
}

/** The execution service could not be reached or did not answer; the outcome is unknown (resend: idempotent). */
export class OrderGatewayUnavailableError extends PerpmeshError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('ORDER_GATEWAY_UNAVAILABLE', message, options);
  }
}

export interface OrderGateway {
  /** True for the recorder: decisions, logs and views then say DRY-RUN. */
  readonly dryRun: boolean;
  /** Places (or, for a known client order id, finds) an order; `correlationId` = the decision's envelope id. */
  place(intent: OrderIntent, correlationId: string): Promise<OrderSnapshot>;
  /**
   * Asks to cancel one own order; undefined when the execution service does not know it.
   * `correlationId` = the canceling decision's envelope id (absent: none, e.g. on stop).
   */
  cancel(ref: OrderRef, correlationId?: string): Promise<OrderSnapshot | undefined>;
  /** Open orders on the given accounts (the runtime filters its own by client order id prefix). */
  listOpenOrders(accounts: ReadonlyArray<{ venue: string; account: string }>): Promise<OrderSnapshot[]>;
  close(): void;
}

export interface AccountReader {
  balances(
    accounts: ReadonlyArray<{ venue: string; account: string }>,
  ): Promise<Array<{ view: BalanceView; stale: boolean }>>;
  positions(accounts: ReadonlyArray<{ venue: string; account: string }>): Promise<Position[]>;
  close(): void;
}

export interface MarketsSource {
  loadMarkets(venues: ReadonlyArray<string>): Promise<MarketInfo[]>;
}

/** Markets from venue ports' `loadMarkets` (a VenueDirectory, structurally). */
export function marketsFromVenues(directory: {
  marketPort(venue: string): {
    loadMarkets(): Promise<ReadonlyArray<Parameters<typeof marketInfo>[1]>>;
  };
}): MarketsSource {
  return {
    async loadMarkets(venues) {
      const out: MarketInfo[] = [];
      for (const venue of venues) {
        for (const m of await directory.marketPort(venue).loadMarkets()) out.push(marketInfo(venue, m));
      }
      return out;
    },
  };
}

// ---------------------------------------------------------------------------------------
// gRPC clients

export interface GrpcClientOptions {
  /** host:port */
  readonly address: string;
  readonly authToken?: Secret | undefined;
  /** Deadline of each call. Default: STRATEGY_DEFAULTS.callTimeoutMs. */
  readonly callTimeoutMs?: number;
  readonly channelCredentials?: ChannelCredentials;
}

type Callback<Res> = (err: ServiceError | null, res?: Res) => void;

function unary<Req, Res>(
  call: (req: Req, metadata: Metadata, options: { deadline: Date }, cb: Callback<Res>) => unknown,
  req: Req,
  timeoutMs: number,
): Promise<Res> {
  // The bearer token is added by the client's interceptor.
  return new Promise((resolve, reject) =>
    call(req, new Metadata(), { deadline: new Date(Date.now() + timeoutMs) }, (err, res) =>
      err ? reject(err) : resolve(res as Res),
    ),
  );
}

const REFUSED_CODES: ReadonlySet<number> = new Set([
  status.INVALID_ARGUMENT,
  status.FAILED_PRECONDITION,
  status.OUT_OF_RANGE,
  status.PERMISSION_DENIED,
  status.UNAUTHENTICATED,
]);

/**
 * Reconnects to execution and account at most every 2 s: with grpc-js' default backoff (1 s,
 * x1.6, up to 120 s) a service that was down ~10 s is retried only ~16 s, 26 s, 43 s later, and
 * every call fails fast meanwhile ("No connection established"), so a strategy restarting
 * beside a restarted account service stayed unready for a minute (chaos seed 20261206).
 */
const RECONNECT_BACKOFF = {
  'grpc.initial_reconnect_backoff_ms': 250,
  'grpc.max_reconnect_backoff_ms': 2_000,
};

function clientOptions(o: GrpcClientOptions) {
  return o.authToken === undefined
    ? { ...RECONNECT_BACKOFF }
    : { ...RECONNECT_BACKOFF, interceptors: [bearerAuthInterceptor(o.authToken)] };
}

export class GrpcOrderGateway implements OrderGateway {
  readonly dryRun = false;
  readonly #client: InstanceType<typeof ExecutionServiceClient>;
  readonly #timeoutMs: number;

  constructor(options: GrpcClientOptions) {
    this.#client = new ExecutionServiceClient(
      options.address,
      options.channelCredentials ?? credentials.createInsecure(),
      clientOptions(options),
    );
    this.#timeoutMs = options.callTimeoutMs ?? STRATEGY_DEFAULTS.callTimeoutMs;
  }

  async place(intent: OrderIntent, correlationId: string): Promise<OrderSnapshot> {
    try {
      const res = await unary(
        this.#client.placeOrder.bind(this.#client),
        {
          clientOrderId: intent.clientOrderId,
          venue: intent.venue,
          account: intent.account,
          instrument: intent.instrument,
          side: sideToProto(intent.side),
          type: orderTypeToProto(intent.type),
          timeInForce: timeInForceToProto(intent.timeInForce),
          price: intent.price === undefined ? '' : intent.price.toFixed(),
          size: intent.size.toFixed(),
          reduceOnly: intent.reduceOnly,
          correlationId,
        },
        this.#timeoutMs,
      );
      if (!res.order) throw new OrderGatewayUnavailableError('PlaceOrder answered without an order');
      return orderSnapshot(res.order, res.order.updatedAtMs);
    } catch (err) {
      throw mapError(err, 'PlaceOrder');
    }
  }

  async cancel(ref: OrderRef, correlationId?: string): Promise<OrderSnapshot | undefined> {
    try {
      const res = await unary(
        this.#client.cancelOrder.bind(this.#client),
        {
          venue: ref.venue,
          account: ref.account,
          instrument: ref.instrument,
          orderId: { $case: 'clientOrderId', value: ref.clientOrderId },
          ...(correlationId ? { correlationId } : {}),
        },
        this.#timeoutMs,
      );
      return res.order ? orderSnapshot(res.order, res.order.updatedAtMs) : undefined;
    } catch (err) {
      if ((err as ServiceError).code === status.NOT_FOUND) return undefined;
      throw mapError(err, 'CancelOrder');
    }
  }

  async listOpenOrders(
    accounts: ReadonlyArray<{ venue: string; account: string }>,
  ): Promise<OrderSnapshot[]> {
    const out: OrderSnapshot[] = [];
    for (const { venue, account } of accounts) {
      try {
        const res = await unary(
          this.#client.listOpenOrders.bind(this.#client),
          { venue, account, instrument: '' },
          this.#timeoutMs,
        );
        for (const o of res.orders as Order[]) out.push(orderSnapshot(o, o.updatedAtMs));
      } catch (err) {
        throw mapError(err, 'ListOpenOrders');
      }
    }
    return out;
  }

  close(): void {
    this.#client.close();
  }
}

function mapError(err: unknown, method: string): Error {
  if (err instanceof PerpmeshError) return err;
  const e = err as ServiceError;
  if (typeof e?.code === 'number' && REFUSED_CODES.has(e.code)) {
    return new OrderRefusedError(e.details || e.message, { cause: err });
  }
  return new OrderGatewayUnavailableError(
    `${method}: ${e?.details || (err as Error)?.message || String(err)}`,
    {
      cause: err,
    },
  );
}

export class GrpcAccountReader implements AccountReader {
  readonly #client: InstanceType<typeof AccountServiceClient>;
  readonly #timeoutMs: number;

  constructor(options: GrpcClientOptions) {
    this.#client = new AccountServiceClient(
      options.address,
      options.channelCredentials ?? credentials.createInsecure(),
      clientOptions(options),
    );
    this.#timeoutMs = options.callTimeoutMs ?? STRATEGY_DEFAULTS.callTimeoutMs;
  }

  async balances(accounts: ReadonlyArray<{ venue: string; account: string }>) {
    const out: Array<{ view: BalanceView; stale: boolean }> = [];
    for (const { venue, account } of accounts) {
      const res = await unary(
        this.#client.getBalances.bind(this.#client),
        { venue, account },
        this.#timeoutMs,
      );
      for (const view of res.balances) out.push({ view, stale: view.stale });
    }
    return out;
  }

  async positions(accounts: ReadonlyArray<{ venue: string; account: string }>): Promise<Position[]> {
    const out: Position[] = [];
    for (const { venue, account } of accounts) {
      const res = await unary(
        this.#client.getPositions.bind(this.#client),
        { venue, account, instrument: '' },
        this.#timeoutMs,
      );
      for (const p of res.positions) if (p.position) out.push(p.position);
    }
    return out;
  }

  close(): void {
    this.#client.close();
  }
}

// ---------------------------------------------------------------------------------------
// Dry run

export const DRY_RUN_REASON = 'DRY-RUN: recorded, not sent to any venue';

export interface RecordedOrder {
  readonly intent: OrderIntent;
  readonly correlationId: string;
  readonly recordedAtMs: EpochMs;
}

export class DryRunRecorder implements OrderGateway {
  readonly dryRun = true;
  readonly orders: RecordedOrder[] = [];
  readonly cancels: OrderRef[] = [];
  readonly #nowMs: () => EpochMs;
  readonly #limit: number;

  constructor(options: { nowMs: () => EpochMs; limit?: number }) {
    this.#nowMs = options.nowMs;
    this.#limit = options.limit ?? 10_000;
  }

  async place(intent: OrderIntent, correlationId: string): Promise<OrderSnapshot> {
    const known = this.orders.find((o) => o.intent.clientOrderId === intent.clientOrderId);
    if (!known) {
      this.orders.push({ intent, correlationId, recordedAtMs: this.#nowMs() });
      if (this.orders.length > this.#limit) this.orders.shift();
    }
    return {
      ...intent,
      status: 'expired',
      filled: ZERO,
      reason: DRY_RUN_REASON,
      tsEventMs: known?.recordedAtMs ?? this.#nowMs(),
    };
  }

  async cancel(ref: OrderRef): Promise<OrderSnapshot | undefined> {
    this.cancels.push(ref);
    return undefined;
  }

  async listOpenOrders(): Promise<OrderSnapshot[]> {
    return [];
  }

  close(): void {}
}
