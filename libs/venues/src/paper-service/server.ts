/**
 * The PaperVenueService over ANY VenuePort: the paper-venue process resolves `(venue,
 * account)` to the port that serves it and this file does the rest — validation, mapping,
 * errors, streams.
 *
 * - Unknown venue or account → NOT_FOUND naming it; an api_key_id that is not the
 *   account's → NOT_FOUND naming it; a bad field → INVALID_ARGUMENT naming it. Nothing
 *   reaches the port then.
 * - A VenueError → its status plus the venue error trailers (status.ts), so the client
 *   rebuilds the same class.
 * - Streams: response headers go out once the port subscription exists (the client's
 *   watch resolves on them); the port subscription is closed when the client cancels,
 *   when the stream fails, and when `options.signal` aborts (server shutdown). A client
 *   that reads slower than the venue produces is cut off (RESOURCE_EXHAUSTED) rather
 *   than buffered without bound; it re-subscribes and starts from a fresh state.
 *
 * Serve it with `startGrpcServer` (libs/runtime) for health, reflection and bearer auth:
 * `{ definition: PaperVenueServiceService, implementation: paperVenueGrpcService(resolve) }`.
 */
import { randomUUID } from 'node:crypto';
import {
  type handleServerStreamingCall,
  type handleUnaryCall,
  Metadata,
  type ServerWritableStream,
  status,
} from '@grpc/grpc-js';
import type {
  PaperVenueServiceCancelAllOrdersRequest,
  PaperVenueServiceCancelOrderRequest,
  PaperVenueServiceCreateOrderRequest,
  PaperVenueServiceCreateOrdersRequest,
  PaperVenueServiceFetchFillsRequest,
  PaperVenueServiceFetchFundingPaymentsRequest,
  PaperVenueServiceFetchFundingRequest,
  PaperVenueServiceFetchOrderBookRequest,
  PaperVenueServiceFetchOrderRequest,
  PaperVenueServiceScheduleCancelAllRequest,
  PaperVenueServiceServer,
  PaperVenueServiceSetLeverageRequest,
  PaperVenueServiceWatchMarketRequest,
  PaperVenueServiceWatchMarketResponse,
  PaperVenueServiceWatchUserStreamRequest,
  PaperVenueServiceWatchUserStreamResponse,
} from '@perpmesh/contracts';
import type { AccountId, VenueId } from '@perpmesh/core';
import { parsePositiveDecimal, ValidationError } from '@perpmesh/core';
import type {
  BatchOrderOutcome,
  MarketEvent,
  PlaceOrderRequest,
  Subscription,
  UserStreamEvent,
  VenueOrder,
  VenuePort,
} from '../port.js';
import { PUBLIC_ACCOUNT } from '../port.js';
import {
  balanceToWire,
  bookSnapshotToWire,
  cancelOptionsFromWire,
  capabilitiesToWire,
  fillToWire,
  fundingInfoToWire,
  fundingPaymentToWire,
  instrumentsFromWire,
  marketEventToWire,
  marketToWire,
  nonceToWire,
  orderRefFromWire,
  orderToWire,
  placeOrderFromWire,
  positionToWire,
  readinessToWire,
  requireText,
  userStreamEventToWire,
} from './mapping.js';
import { type ErrorToStatusOptions, errorToCallError, errorToStatus, RemoteStatusError } from './status.js';

/**
 * Finds the port serving `(venue, account)`; undefined when this server has none.
 * `account` is `PUBLIC_ACCOUNT` ('') for the venue's public market-data port.
 */
export type VenueResolver = (venue: VenueId, account: AccountId) => VenuePort | undefined;

export interface PaperVenueGrpcServiceOptions {
  /**
   * Gets errors that are not domain errors (a bug in a port), with the reference id the
   * client sees in its INTERNAL status. Log them here; the client gets only the id.
   */
  onInternalError?: (err: unknown, info: { method: string; ref: string }) => void;
  /** Messages a stream may queue for a slow client before it is cut off. */
  maxQueuedStreamMessages?: number;
  /** Aborting ends every open stream with UNAVAILABLE and closes its port subscription. */
  signal?: AbortSignal;
  /**
   * When a stream's events are mapped and written: `turn` (default) collects what the port
   * emits in one turn of the event loop and writes it together, in order, at `setImmediate`,
   * after the unary answers of that turn (a client then reads a batch's answers and its
   * updates in one read each); `event` writes each as the port emits it. Either way an answer
   * may reach a client before the updates its command caused, as a real venue's REST answer
   * overtakes its user stream: execution waits for the fills an answer announces (libs/execution
   * README "Answered with its fills"). Default from `PERPMESH_PAPER_STREAM_FLUSH`.
   */
  streamFlush?: 'turn' | 'event';
}

export const DEFAULT_MAX_QUEUED_STREAM_MESSAGES = 10_000;

/** The env switch for `PaperVenueGrpcServiceOptions.streamFlush` (`event` | `turn`; the order bench's before/after). */
export const PAPER_STREAM_FLUSH_ENV = 'PERPMESH_PAPER_STREAM_FLUSH';

/** One order of a CreateOrders request: parsed, or refused before the venue. */
type ParsedBatchOrder = { ok: true; request: PlaceOrderRequest } | { ok: false; error: unknown };

interface Target {
  venue: string;
  account: string;
  apiKeyId?: string;
}

export function paperVenueGrpcService(
  resolve: VenueResolver,
  options: PaperVenueGrpcServiceOptions = {},
): PaperVenueServiceServer {
  const maxQueued = options.maxQueuedStreamMessages ?? DEFAULT_MAX_QUEUED_STREAM_MESSAGES;
  const flushPerTurn =
    (options.streamFlush ?? (process.env[PAPER_STREAM_FLUSH_ENV] === 'event' ? 'event' : 'turn')) === 'turn';
  // One abort listener for all streams (not one each: many clients would trip Node's listener warning).
  const openStreams = new Set<(err: unknown) => void>();
  const shuttingDown = () =>
    new RemoteStatusError(status.UNAVAILABLE, 'paper-venue server is shutting down; subscribe again');
  options.signal?.addEventListener(
    'abort',
    () => {
      for (const end of [...openStreams]) end(shuttingDown());
    },
    { once: true },
  );
  const statusOptions = (method: string): ErrorToStatusOptions => ({
    method,
    newRef: randomUUID,
    ...(options.onInternalError ? { onInternalError: options.onInternalError } : {}),
  });
  const toStatus = (err: unknown, method: string) => errorToStatus(err, statusOptions(method));
  // One order's error in a CreateOrders answer: what CreateOrder would have answered for it.
  const toCallError = (err: unknown, method: string) => errorToCallError(err, statusOptions(method));

  function portFor(target: Target): VenuePort {
    const venue = requireText(target.venue, 'venue');
    // An empty account asks for the venue's public port (market data only, no account).
    const account =
      target.account === PUBLIC_ACCOUNT ? PUBLIC_ACCOUNT : requireText(target.account, 'account');
    const port = resolve(venue, account);
    if (!port) {
      throw new RemoteStatusError(
        status.NOT_FOUND,
        account === PUBLIC_ACCOUNT
          ? `no public market port for venue ${JSON.stringify(venue)} on this paper-venue server`
          : `no venue ${JSON.stringify(venue)} with account ${JSON.stringify(account)} on this paper-venue server`,
      );
    }
    if (target.apiKeyId !== undefined && target.apiKeyId !== '' && target.apiKeyId !== port.apiKeyId) {
      throw new RemoteStatusError(
        status.NOT_FOUND,
        `apiKeyId ${JSON.stringify(target.apiKeyId)} is not the API key of venue ${JSON.stringify(venue)} account ${JSON.stringify(account)}`,
      );
    }
    return port;
  }

  /**
   * One unary method in three steps, so each failure gets the right status: `parse`
   * (INVALID_ARGUMENT naming the field; the port is not called), `call` (the port's own
   * errors as they are), `toWire` (a value the port returned that the wire cannot carry:
   * INTERNAL, since the caller did nothing wrong).
   */
  function unary<Req extends Target, Args, Out, Res>(
    method: string,
    steps: {
      parse: (request: Req) => Args;
      call: (port: VenuePort, args: Args) => Promise<Out>;
      toWire: (out: Out) => Res;
    },
  ): handleUnaryCall<Req, Res> {
    return (call, callback) => {
      Promise.resolve()
        .then(async () => {
          const port = portFor(call.request);
          const out = await steps.call(port, steps.parse(call.request));
          return wireOutput(method, () => steps.toWire(out));
        })
        .then(
          (response) => callback(null, response),
          (err: unknown) => callback(toStatus(err, method)),
        );
    };
  }

  function serverStream<Req extends Target, Event, Res>(
    method: string,
    subscribe: (port: VenuePort, request: Req, onEvent: (event: Event) => void) => Promise<Subscription>,
    toWire: (event: Event) => Res,
  ): handleServerStreamingCall<Req, Res> {
    return (call: ServerWritableStream<Req, Res>) => {
      let done = false;
      let headersSent = false;
      let subscription: Subscription | undefined;
      const closeSubscription = (s: Subscription) => {
        // A port that fails to unsubscribe has a bug; the client is gone either way.
        s.close().catch((err: unknown) =>
          options.onInternalError?.(err, { method: `${method} (unsubscribe)`, ref: randomUUID() }),
        );
      };
      const finish = (err?: unknown) => {
        if (done) return;
        done = true;
        openStreams.delete(finish);
        if (subscription) closeSubscription(subscription);
        subscription = undefined;
        if (err !== undefined) call.emit('error', toStatus(err, method));
      };

      call.on('cancelled', () => finish());
      if (options.signal?.aborted) return finish(shuttingDown());
      openStreams.add(finish);

      const write = (event: Event) => {
        let message: Res;
        try {
          message = wireOutput(method, () => toWire(event));
        } catch (err) {
          finish(err); // never throw into the port's event loop
          return;
        }
        headersSent = true; // grpc-js sends them with the first message
        call.write(message);
        if (call.writableLength > maxQueued) {
          finish(
            new RemoteStatusError(
              status.RESOURCE_EXHAUSTED,
              `client reads too slowly: more than ${maxQueued} ${method} messages queued; subscribe again`,
            ),
          );
        }
      };
      // This turn's events, written together at setImmediate (streamFlush 'turn').
      let turn: Event[] = [];
      const flush = () => {
        const events = turn;
        turn = [];
        for (const event of events) {
          if (done) return;
          write(event);
        }
      };
      const onEvent = (event: Event) => {
        if (done) return;
        if (!flushPerTurn) return write(event);
        turn.push(event);
        if (turn.length === 1) setImmediate(flush);
      };

      (async () => {
        const s = await subscribe(portFor(call.request), call.request, onEvent);
        if (done) return closeSubscription(s);
        subscription = s;
        // Headers now (unless the port already sent events, e.g. a snapshot, while subscribing):
        // the client's watch resolves on them, and nothing from here on is missed.
        if (!headersSent) call.sendMetadata(new Metadata());
      })().catch((err: unknown) => finish(err));
    };
  }

  const none = () => undefined;
  const optionalInstrument = (r: Target & { instrument?: string | undefined }) =>
    r.instrument === undefined ? undefined : requireText(r.instrument, 'instrument');
  const orders = (out: VenueOrder[]) => ({ orders: out.map(orderToWire) });

  return {
    loadMarkets: unary('LoadMarkets', {
      parse: none,
      call: (port) => port.loadMarkets(),
      toWire: (markets) => ({ markets: markets.map(marketToWire) }),
    }),

    fetchOrderBook: unary('FetchOrderBook', {
      parse: (req: PaperVenueServiceFetchOrderBookRequest) => {
        if (!Number.isSafeInteger(req.depth) || req.depth < 1) {
          throw new ValidationError('depth', `must be a whole number >= 1, got ${req.depth}`);
        }
        return { instrument: requireText(req.instrument, 'instrument'), depth: req.depth };
      },
      call: (port, { instrument, depth }) => port.fetchOrderBook(instrument, depth),
      toWire: (book) => ({ book: bookSnapshotToWire(book) }),
    }),

    fetchFunding: unary('FetchFunding', {
      parse: (req: PaperVenueServiceFetchFundingRequest) =>
        instrumentsFromWire(req.instruments, 'instruments'),
      call: (port, instruments) => port.fetchFunding(instruments),
      toWire: (funding) => ({ funding: funding.map(fundingInfoToWire) }),
    }),

    watchMarket: serverStream<
      PaperVenueServiceWatchMarketRequest,
      MarketEvent,
      PaperVenueServiceWatchMarketResponse
    >(
      'WatchMarket',
      (port, req, onEvent) => {
        const instruments = instrumentsFromWire(req.instruments, 'instruments');
        if (instruments.length === 0)
          throw new ValidationError('instruments', 'must name at least one instrument');
        return port.watchMarket(instruments, onEvent);
      },
      marketEventToWire,
    ),

    fetchBalances: unary('FetchBalances', {
      parse: none,
      call: (port) => port.fetchBalances(),
      toWire: (balances) => ({ balances: balances.map(balanceToWire) }),
    }),

    fetchPositions: unary('FetchPositions', {
      parse: none,
      call: (port) => port.fetchPositions(),
      toWire: (positions) => ({ positions: positions.map(positionToWire) }),
    }),

    fetchOpenOrders: unary('FetchOpenOrders', {
      parse: optionalInstrument,
      call: (port, instrument) => port.fetchOpenOrders(instrument),
      toWire: orders,
    }),

    fetchOrder: unary('FetchOrder', {
      parse: (req: PaperVenueServiceFetchOrderRequest) => orderRefFromWire(req.ref, 'ref'),
      call: (port, ref) => port.fetchOrder(ref),
      toWire: (order) =>
        order === undefined ? { found: false } : { found: true, order: orderToWire(order) },
    }),

    fetchFills: unary('FetchFills', {
      parse: (req: PaperVenueServiceFetchFillsRequest) => {
        if (!Number.isSafeInteger(req.sinceMs) || req.sinceMs < 0) {
          throw new ValidationError('sinceMs', `must be a time in ms >= 0, got ${req.sinceMs}`);
        }
        return req.sinceMs;
      },
      call: (port, sinceMs) => port.fetchFills(sinceMs),
      toWire: (fills) => ({ fills: fills.map(fillToWire) }),
    }),

    fetchNextNonce: unary('FetchNextNonce', {
      parse: none,
      call: async (port) => {
        if (!port.fetchNextNonce) {
          throw new RemoteStatusError(
            status.UNIMPLEMENTED,
            `venue ${JSON.stringify(port.venue)} has no next nonce`,
          );
        }
        return port.fetchNextNonce();
      },
      toWire: (nonce) => ({ nextNonce: nonceToWire(nonce) }),
    }),

    createOrder: unary('CreateOrder', {
      parse: (req: PaperVenueServiceCreateOrderRequest) => placeOrderFromWire(req),
      call: (port, request) => port.createOrder(request),
      toWire: (order) => ({ order: orderToWire(order) }),
    }),

    createOrders: unary('CreateOrders', {
      // An order that does not parse is refused on its own (as CreateOrder would refuse it);
      // the others go to the venue.
      parse: (req: PaperVenueServiceCreateOrdersRequest) =>
        req.orders.map((order, n): ParsedBatchOrder => {
          try {
            for (const field of ['venue', 'account', 'apiKeyId'] as const) {
              if (order[field] !== '' && order[field] !== req[field]) {
                throw new ValidationError(
                  `orders[${n}].${field}`,
                  `must be empty or the batch's ${JSON.stringify(req[field])}, got ${JSON.stringify(order[field])}`,
                );
              }
            }
            return { ok: true, request: placeOrderFromWire(order) };
          } catch (error) {
            return { ok: false, error };
          }
        }),
      call: async (port, parsed) => {
        if (!port.createOrders) throw unsupported(port, 'batch call (createOrders)');
        const requests = parsed.flatMap((p) => (p.ok ? [p.request] : []));
        const placed = requests.length === 0 ? [] : await port.createOrders(requests);
        if (placed.length !== requests.length) {
          throw new Error(`the venue port answered ${placed.length} outcomes for ${requests.length} orders`);
        }
        let next = 0;
        return parsed.map((p): BatchOrderOutcome => (p.ok ? (placed[next++] as BatchOrderOutcome) : p));
      },
      toWire: (outcomes) => ({
        outcomes: outcomes.map((o) => ({
          outcome: o.ok
            ? { $case: 'order' as const, value: orderToWire(o.order) }
            : { $case: 'error' as const, value: toCallError(o.error, 'CreateOrders') },
        })),
      }),
    }),

    cancelOrder: unary('CancelOrder', {
      parse: (req: PaperVenueServiceCancelOrderRequest) => ({
        ref: orderRefFromWire(req.ref, 'ref'),
        options: cancelOptionsFromWire(req.nonce),
      }),
      call: (port, { ref, options }) => port.cancelOrder(ref, options),
      toWire: (order) => ({ order: orderToWire(order) }),
    }),

    cancelAllOrders: unary('CancelAllOrders', {
      parse: (req: PaperVenueServiceCancelAllOrdersRequest) => ({
        instrument: optionalInstrument(req),
        options: cancelOptionsFromWire(req.nonce),
      }),
      call: (port, { instrument, options }) => port.cancelAllOrders(instrument, options),
      toWire: orders,
    }),

    fetchFundingPayments: unary('FetchFundingPayments', {
      parse: (req: PaperVenueServiceFetchFundingPaymentsRequest) => {
        if (!Number.isSafeInteger(req.sinceMs) || req.sinceMs < 0) {
          throw new ValidationError('sinceMs', `must be a time in ms >= 0, got ${req.sinceMs}`);
        }
        return req.sinceMs;
      },
      call: (port, sinceMs) => {
        if (!port.fetchFundingPayments) throw unsupported(port, 'funding payment history');
        return port.fetchFundingPayments(sinceMs);
      },
      toWire: (payments) => ({ payments: payments.map(fundingPaymentToWire) }),
    }),

    setLeverage: unary('SetLeverage', {
      parse: (req: PaperVenueServiceSetLeverageRequest) => ({
        instrument: requireText(req.instrument, 'instrument'),
        leverage: parsePositiveDecimal(req.leverage, 'leverage'),
        options: cancelOptionsFromWire(req.nonce),
      }),
      call: async (port, { instrument, leverage, options }) => {
        if (!port.setLeverage) throw unsupported(port, 'setting leverage');
        await port.setLeverage(instrument, leverage, options);
      },
      toWire: () => ({}),
    }),

    scheduleCancelAll: unary('ScheduleCancelAll', {
      parse: (req: PaperVenueServiceScheduleCancelAllRequest) => {
        if (!Number.isSafeInteger(req.afterMs) || req.afterMs < 0) {
          throw new ValidationError('afterMs', `must be a duration in ms >= 0, got ${req.afterMs}`);
        }
        return { afterMs: req.afterMs, options: cancelOptionsFromWire(req.nonce) };
      },
      call: async (port, { afterMs, options }) => {
        if (!port.scheduleCancelAll) throw unsupported(port, 'a scheduled cancel-all');
        await port.scheduleCancelAll(afterMs, options);
      },
      toWire: () => ({}),
    }),

    watchUserStream: serverStream<
      PaperVenueServiceWatchUserStreamRequest,
      UserStreamEvent,
      PaperVenueServiceWatchUserStreamResponse
    >('WatchUserStream', (port, _req, onEvent) => port.watchUserStream(onEvent), userStreamEventToWire),

    getReadiness: unary('GetReadiness', {
      parse: none,
      call: async (port) => port.readiness(),
      toWire: (components) => ({ components: components.map(readinessToWire) }),
    }),

    getCapabilities: unary('GetCapabilities', {
      parse: none,
      call: async (port) => port,
      toWire: (port) => ({
        capabilities: capabilitiesToWire(port.capabilities),
        apiKeyId: port.apiKeyId,
        fetchNextNonceSupported: port.fetchNextNonce !== undefined,
      }),
    }),
  };
}

function unsupported(port: VenuePort, what: string): RemoteStatusError {
  return new RemoteStatusError(status.UNIMPLEMENTED, `venue ${JSON.stringify(port.venue)} has no ${what}`);
}

/** A value the port returned that the wire cannot carry is the port's bug: INTERNAL, not INVALID_ARGUMENT. */
function wireOutput<T>(method: string, toWire: () => T): T {
  try {
    return toWire();
  } catch (err) {
    throw new Error(`${method}: the venue port returned a value the wire cannot carry`, { cause: err });
  }
}
