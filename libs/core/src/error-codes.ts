/**
 * The error-code catalog: every `PerpmeshError.code` the system raises, with the gRPC
 * status and the HTTP status the edges answer it with, and what it means. `ErrorCode` is
 * its key type and `PerpmeshError` takes one, so a mistyped code fails the build.
 *
 * `grpc: 'INTERNAL'` marks faults that are not the caller's business: servers answer
 * INTERNAL with a reference id and keep the message for the log. libs/runtime (gRPC) and
 * libs/gateway (HTTP) read their maps from here; libs/core/README.md lists the table (a
 * unit test keeps the two in step). A new code is one line here.
 */

/** gRPC status names (grpc-js `status` enum keys), so core needs no gRPC dependency. */
export type GrpcStatusName =
  | 'CANCELLED'
  | 'UNKNOWN'
  | 'INVALID_ARGUMENT'
  | 'DEADLINE_EXCEEDED'
  | 'NOT_FOUND'
  | 'ALREADY_EXISTS'
  | 'PERMISSION_DENIED'
  | 'RESOURCE_EXHAUSTED'
  | 'FAILED_PRECONDITION'
  | 'ABORTED'
  | 'OUT_OF_RANGE'
  | 'UNIMPLEMENTED'
  | 'INTERNAL'
  | 'UNAVAILABLE'
  | 'DATA_LOSS'
  | 'UNAUTHENTICATED';

export interface ErrorCodeInfo {
  readonly grpc: GrpcStatusName;
  readonly http: number;
  readonly meaning: string;
}

const INTERNAL = { grpc: 'INTERNAL', http: 500 } as const;

export const ERROR_CODES = {
  // Canonical gRPC names: any lib may throw them as they are.
  INVALID_ARGUMENT: {
    grpc: 'INVALID_ARGUMENT',
    http: 400,
    meaning: 'bad input; ValidationError names the field',
  },
  NOT_FOUND: { grpc: 'NOT_FOUND', http: 404, meaning: 'the thing asked for does not exist here' },
  ALREADY_EXISTS: { grpc: 'ALREADY_EXISTS', http: 409, meaning: 'the thing to create exists already' },
  FAILED_PRECONDITION: {
    grpc: 'FAILED_PRECONDITION',
    http: 409,
    meaning: 'the request is well-formed but the current state refuses it',
  },
  RESOURCE_EXHAUSTED: {
    grpc: 'RESOURCE_EXHAUSTED',
    http: 429,
    meaning: 'a limit was reached (rate, queue, capacity); retry later',
  },
  UNAVAILABLE: { grpc: 'UNAVAILABLE', http: 503, meaning: 'briefly unavailable; retry later' },
  DEADLINE_EXCEEDED: {
    grpc: 'DEADLINE_EXCEEDED',
    http: 504,
    meaning: 'a call did not finish within its deadline (withTimeout)',
  },
  PERMISSION_DENIED: { grpc: 'PERMISSION_DENIED', http: 403, meaning: 'authenticated, but not allowed' },
  UNAUTHENTICATED: { grpc: 'UNAUTHENTICATED', http: 401, meaning: 'no or a wrong bearer token' },
  ABORTED: { grpc: 'ABORTED', http: 409, meaning: 'lost a race with a concurrent change; retry' },
  OUT_OF_RANGE: { grpc: 'OUT_OF_RANGE', http: 400, meaning: 'a value past the valid range' },
  UNIMPLEMENTED: { grpc: 'UNIMPLEMENTED', http: 501, meaning: 'not supported here' },
  CANCELLED: { grpc: 'CANCELLED', http: 499, meaning: 'the caller gave up' },

  // core
  UNSUPPORTED_INSTRUMENT: {
    grpc: 'INVALID_ARGUMENT',
    http: 400,
    meaning: 'an instrument id that is not BASE-QUOTE-PERP or not configured',
  },
  ILLEGAL_ORDER_TRANSITION: {
    grpc: 'FAILED_PRECONDITION',
    http: 409,
    meaning: 'an order event that its current status does not allow',
  },
  ORDER_OVERFILL: { ...INTERNAL, meaning: 'a fill would take an order past its size' },
  BOOK_SEQUENCE_GAP: {
    grpc: 'UNAVAILABLE',
    http: 503,
    meaning: 'an order-book update skipped a sequence; the book resyncs',
  },

  // venues (VenueError); the outcome of UNKNOWN_OUTCOME must be asked, not assumed
  VENUE_REJECTED: {
    grpc: 'FAILED_PRECONDITION',
    http: 409,
    meaning: 'the venue refused the request; `reason` says why',
  },
  INSUFFICIENT_MARGIN: {
    grpc: 'FAILED_PRECONDITION',
    http: 409,
    meaning: 'not enough margin for the order',
  },
  RATE_LIMITED: { grpc: 'RESOURCE_EXHAUSTED', http: 429, meaning: 'the venue rate-limited us' },
  VENUE_DISCONNECTED: { grpc: 'UNAVAILABLE', http: 503, meaning: 'the venue connection is down' },
  UNKNOWN_OUTCOME: {
    grpc: 'UNKNOWN',
    http: 502,
    meaning: 'the venue may or may not have acted; ask it before resending',
  },
  ORDER_NOT_FOUND: { grpc: 'NOT_FOUND', http: 404, meaning: 'the venue has no such order' },

  // sim exchange rejects (VenueRejectError: the reject code upper-cased)
  UNKNOWN_ACCOUNT: { grpc: 'NOT_FOUND', http: 404, meaning: 'sim: no such account' },
  UNKNOWN_INSTRUMENT: { grpc: 'NOT_FOUND', http: 404, meaning: 'sim: the venue does not list it' },
  INVALID_TICK: { grpc: 'INVALID_ARGUMENT', http: 400, meaning: 'sim: price off the tick grid' },
  INVALID_LOT: { grpc: 'INVALID_ARGUMENT', http: 400, meaning: 'sim: size off the lot grid' },
  BELOW_MIN_SIZE: { grpc: 'INVALID_ARGUMENT', http: 400, meaning: 'sim: size below the minimum' },
  ABOVE_MAX_SIZE: { grpc: 'INVALID_ARGUMENT', http: 400, meaning: 'sim: size above the maximum' },
  BELOW_MIN_NOTIONAL: { grpc: 'INVALID_ARGUMENT', http: 400, meaning: 'sim: notional below the minimum' },
  INVALID_LEVERAGE: { grpc: 'INVALID_ARGUMENT', http: 400, meaning: 'sim: leverage out of range' },
  POST_ONLY_WOULD_CROSS: {
    grpc: 'FAILED_PRECONDITION',
    http: 409,
    meaning: 'sim: a post-only order would take liquidity',
  },
  REDUCE_ONLY_WOULD_INCREASE: {
    grpc: 'FAILED_PRECONDITION',
    http: 409,
    meaning: 'sim: a reduce-only order would grow the position',
  },
  INSUFFICIENT_BALANCE: { grpc: 'FAILED_PRECONDITION', http: 409, meaning: 'sim: not enough balance' },
  NO_REFERENCE_PRICE: {
    grpc: 'FAILED_PRECONDITION',
    http: 409,
    meaning: 'sim: no mark or book price to check the order against',
  },
  INVALID_NONCE: { grpc: 'FAILED_PRECONDITION', http: 409, meaning: 'sim: nonce not above the last one' },
  DUPLICATE_CLIENT_ORDER_ID: {
    grpc: 'ALREADY_EXISTS',
    http: 409,
    meaning: 'sim: the client order id was used before',
  },

  // state and bus
  NONCE_EXHAUSTED: { grpc: 'RESOURCE_EXHAUSTED', http: 429, meaning: 'no nonce could be reserved' },
  STATE_STORE_LOCKED: { grpc: 'UNAVAILABLE', http: 503, meaning: 'the embedded state dir is in use' },
  STATE_STORE_CLOSED: { grpc: 'UNAVAILABLE', http: 503, meaning: 'the state store was closed' },
  STATE_STORE_BACKEND: { grpc: 'UNAVAILABLE', http: 503, meaning: 'the state store backend failed' },
  STATE_STORE_CORRUPT: { ...INTERNAL, meaning: 'a state file cannot be read back' },
  PROJECTION_CONFLICT: {
    grpc: 'ABORTED',
    http: 409,
    meaning: 'another writer moved the projection; reload and decide again',
  },
  BUS_CLOSED: { grpc: 'UNAVAILABLE', http: 503, meaning: 'the event log (or consumer) is closed' },
  BUS_PUBLISH_FAILED: {
    grpc: 'UNAVAILABLE',
    http: 503,
    meaning: 'a publish was not acknowledged after every retry (kept in the outbox)',
  },
  BUS_PUBLISH_BATCH_FAILED: {
    grpc: 'UNAVAILABLE',
    http: 503,
    meaning: 'some events of a batch were not acknowledged',
  },
  BUS_NO_STREAM_FOR_SUBJECT: { ...INTERNAL, meaning: 'no stream stores the subject' },
  BUS_STREAM_NOT_FOUND: { ...INTERNAL, meaning: 'the stream does not exist' },
  BUS_STREAM_CONFIG: { ...INTERNAL, meaning: 'a stream spec conflicts with what exists' },
  BUS_CONSUMER_CONFIG: { ...INTERNAL, meaning: 'a durable consumer cannot be configured as asked' },
  BUS_DATA_DIR_LOCKED: { ...INTERNAL, meaning: 'the embedded log dir is held by another process' },
  BUS_CORRUPT_LOG: { ...INTERNAL, meaning: 'an embedded log file is damaged' },
  BUS_POISON_EVENT: {
    ...INTERNAL,
    meaning: 'a consumer that must not skip stopped on an event its handler kept failing',
  },

  // runtime
  CONFIG_INVALID: { ...INTERNAL, meaning: 'the config file or environment is invalid (at start)' },
  SERVICE_START_FAILED: { ...INTERNAL, meaning: 'a component failed to start' },

  // market-data
  BOOK_NOT_SYNCED: { grpc: 'UNAVAILABLE', http: 503, meaning: 'the order book is not in sync yet' },
  NOT_THIS_SHARD: { grpc: 'NOT_FOUND', http: 404, meaning: 'another market-data shard serves it' },

  // execution
  NOT_SENT: {
    grpc: 'UNAVAILABLE',
    http: 503,
    meaning: 'failed before the request left for the venue: nothing was sent',
  },
  SIMULATED_CRASH: { ...INTERNAL, meaning: 'a test hook simulated a crash' },

  // strategy
  STRATEGY_LEASE_LOST: { grpc: 'ABORTED', http: 409, meaning: 'another instance took over the strategy' },
  ORDER_REFUSED: { grpc: 'FAILED_PRECONDITION', http: 409, meaning: 'execution refused the order' },
  ORDER_GATEWAY_UNAVAILABLE: {
    grpc: 'UNAVAILABLE',
    http: 503,
    meaning: 'execution did not answer; the outcome is unknown (resend: idempotent)',
  },

  // gateway
  BACKEND_UNAVAILABLE: { grpc: 'UNAVAILABLE', http: 502, meaning: 'a service behind the gateway failed' },
  ACTIONS_DISABLED: { grpc: 'PERMISSION_DENIED', http: 403, meaning: 'gateway actions are turned off' },
  TRADING_STATE_UNAVAILABLE: {
    grpc: 'UNAVAILABLE',
    http: 503,
    meaning: 'no strategy service to switch trading state',
  },
  FEED_NOT_STARTED: { grpc: 'UNAVAILABLE', http: 503, meaning: 'the live event feed has not started' },

  // cli
  SERVICE_UNREACHABLE: { grpc: 'UNAVAILABLE', http: 503, meaning: 'cli: the service does not answer' },
  SERVICE_TIMEOUT: { grpc: 'DEADLINE_EXCEEDED', http: 504, meaning: 'cli: the call timed out' },
  SERVICE_UNAUTHENTICATED: {
    grpc: 'UNAUTHENTICATED',
    http: 401,
    meaning: 'cli: the service refused the token',
  },
  SERVICE_CALL_FAILED: { grpc: 'UNKNOWN', http: 502, meaning: 'cli: the service answered with an error' },
  NO_ACCOUNTS: { grpc: 'FAILED_PRECONDITION', http: 409, meaning: 'cli: no account to act on' },
  NOT_CONFIRMED: { grpc: 'CANCELLED', http: 499, meaning: 'cli: the operator did not confirm' },
} as const satisfies Record<string, ErrorCodeInfo>;

export type ErrorCode = keyof typeof ERROR_CODES;

export function isErrorCode(code: string): code is ErrorCode {
  return Object.hasOwn(ERROR_CODES, code);
}

/** The catalog entry, or undefined for a code from outside it (e.g. an older peer). */
export function errorCodeInfo(code: string): ErrorCodeInfo | undefined {
  return isErrorCode(code) ? ERROR_CODES[code] : undefined;
}
