/**
 * VenueError ↔ gRPC status for the PaperVenueService, both directions in one place, so the
 * client rebuilds the SAME error class the remote port threw (a VenueRejectedError with its
 * reason, a RateLimitedError with retryAfterMs, ...).
 *
 * The venue error travels in trailing metadata (see paper_venue.proto): `pm-venue-error`
 * (the VenueErrorCode), `pm-venue`, `pm-venue-reason`, `pm-venue-retry-after-ms`,
 * `pm-venue-message-bin`. The trailer, not the status code, says "the venue answered":
 * an UNAVAILABLE without it is our connection, one with it is the venue's own.
 */
import { Metadata, type ServiceError, type StatusObject, status } from '@grpc/grpc-js';
import type { VenueCallError } from '@perpmesh/contracts';
import { PerpmeshError, ValidationError } from '@perpmesh/core';
import {
  InsufficientMarginError,
  RateLimitedError,
  VenueDisconnectedError,
  type VenueError,
  type VenueErrorCode,
  VenueNotSentError,
  VenueOrderNotFoundError,
  VenueRejectedError,
  VenueUnknownOutcomeError,
} from '../errors.js';

export const VENUE_ERROR_METADATA = {
  code: 'pm-venue-error',
  venue: 'pm-venue',
  reason: 'pm-venue-reason',
  retryAfterMs: 'pm-venue-retry-after-ms',
  /** `-bin`: the venue's own words may be any UTF-8, which text metadata cannot carry. */
  venueMessage: 'pm-venue-message-bin',
} as const;

/** The field of an INVALID_ARGUMENT, for callers that want to point at it. */
export const FIELD_METADATA = 'pm-field';

/** The status each venue error answers with (what a plain gRPC client such as grpcurl sees). */
export const VENUE_ERROR_STATUS: Readonly<Record<VenueErrorCode, status>> = {
  VENUE_REJECTED: status.FAILED_PRECONDITION,
  INSUFFICIENT_MARGIN: status.FAILED_PRECONDITION,
  RATE_LIMITED: status.RESOURCE_EXHAUSTED,
  // The venue may or may not have acted: the caller must ask, not resend.
  UNKNOWN_OUTCOME: status.UNKNOWN,
  VENUE_DISCONNECTED: status.UNAVAILABLE,
  ORDER_NOT_FOUND: status.NOT_FOUND,
  // Nothing was done (a batch stopped before it): safe to send again.
  NOT_SENT: status.ABORTED,
};

function isVenueErrorCode(code: string): code is VenueErrorCode {
  return Object.hasOwn(VENUE_ERROR_STATUS, code);
}

/** Throw from a handler to answer with an exact status (NOT_FOUND for an unknown venue, ...). */
export class RemoteStatusError extends Error {
  readonly code: status;
  readonly details: string;
  constructor(code: status, details: string) {
    super(`${status[code]}: ${details}`);
    this.name = 'RemoteStatusError';
    this.code = code;
    this.details = details;
  }
}

export interface ErrorToStatusOptions {
  /** Method name for the INTERNAL answer (`CreateOrder`). */
  method: string;
  /**
   * Gets every error that is not a known domain error, with the reference id the client
   * sees; the client sees no more than the id (an unknown error may carry anything).
   */
  onInternalError?: (err: unknown, info: { method: string; ref: string }) => void;
  /** Reference ids for INTERNAL answers; injected so tests can name them. */
  newRef: () => string;
}

/** Server side: a thrown error → the status the client gets. */
export function errorToStatus(err: unknown, options: ErrorToStatusOptions): StatusObject {
  const metadata = new Metadata();
  if (err instanceof RemoteStatusError) return { code: err.code, details: err.details, metadata };
  if (err instanceof ValidationError) {
    metadata.set(FIELD_METADATA, err.field);
    return { code: status.INVALID_ARGUMENT, details: err.message, metadata };
  }
  if (err instanceof PerpmeshError && isVenueErrorCode(err.code)) {
    const venueError = err as VenueError;
    metadata.set(VENUE_ERROR_METADATA.code, venueError.code);
    metadata.set(VENUE_ERROR_METADATA.venue, venueError.venue);
    if (venueError instanceof VenueRejectedError)
      metadata.set(VENUE_ERROR_METADATA.reason, venueError.reason);
    if (venueError instanceof RateLimitedError && venueError.retryAfterMs !== undefined) {
      metadata.set(VENUE_ERROR_METADATA.retryAfterMs, String(venueError.retryAfterMs));
    }
    if (venueError.venueMessage !== undefined) {
      metadata.set(VENUE_ERROR_METADATA.venueMessage, Buffer.from(venueError.venueMessage, 'utf8'));
    }
    return { code: VENUE_ERROR_STATUS[venueError.code as VenueErrorCode], details: err.message, metadata };
  }
  const ref = options.newRef();
  options.onInternalError?.(err, { method: options.method, ref });
  return { code: status.INTERNAL, details: `internal error in ${options.method} (ref ${ref})`, metadata };
}

/**
 * Server side, for answers that carry several outcomes (CreateOrders): an item's error as
 * data, i.e. the status and trailers `errorToStatus` gives it as a call of its own.
 */
export function errorToCallError(err: unknown, options: ErrorToStatusOptions): VenueCallError {
  const { code, details, metadata } = errorToStatus(err, options);
  const trailers: Record<string, Buffer> = {};
  for (const [key, value] of Object.entries(metadata?.getMap() ?? {})) {
    trailers[key] = typeof value === 'string' ? Buffer.from(value, 'utf8') : value;
  }
  return { code, details, trailers };
}

// ---- client side -------------------------------------------------------------------------------

/** What a failed call was doing: a failed write may have taken effect, a failed read did nothing. */
export type CallKind = 'read' | 'write';

export interface StatusContext {
  /** The client's venue id (used when the status carries no `pm-venue`). */
  venue: string;
  /** `host:port` of the paper-venue server, for messages. */
  address: string;
  /** `CreateOrder`, `WatchUserStream`, ... */
  method: string;
  kind: CallKind;
}

function text(metadata: Metadata | undefined, key: string): string | undefined {
  const value = metadata?.get(key)[0];
  if (value === undefined) return undefined;
  return typeof value === 'string' ? value : value.toString('utf8');
}

/** The server wrote `${venue}: ${message}`; the rebuilt error adds the prefix back. */
function stripVenuePrefix(details: string, venue: string): string {
  const prefix = `${venue}: `;
  return details.startsWith(prefix) ? details.slice(prefix.length) : details;
}

/**
 * Statuses that mean the server refused before anything happened (the request never
 * reached a venue): safe to report as a rejection even for a write.
 */
const REFUSED_BEFORE_VENUE: ReadonlySet<status> = new Set([
  status.NOT_FOUND,
  status.UNAUTHENTICATED,
  status.PERMISSION_DENIED,
  status.UNIMPLEMENTED,
  status.FAILED_PRECONDITION,
  status.ALREADY_EXISTS,
  status.OUT_OF_RANGE,
]);

/** `PERMISSION_DENIED` → `permission_denied`: a stable reason word. */
function reasonWord(code: status): string {
  return (status[code] ?? 'unknown').toLowerCase();
}

/**
 * Client side: a failed call → the VenuePort error. A venue error in the trailers comes
 * back as its own class; otherwise a transport failure during a write is
 * VenueUnknownOutcomeError (the order may exist: ask, never resend) and during a read
 * VenueDisconnectedError.
 */
export function errorFromStatus(err: ServiceError, ctx: StatusContext): Error {
  const metadata = err.metadata as Metadata | undefined;
  const code = text(metadata, VENUE_ERROR_METADATA.code);
  const details = err.details ?? err.message;
  if (code !== undefined && isVenueErrorCode(code)) {
    const venue = text(metadata, VENUE_ERROR_METADATA.venue) ?? ctx.venue;
    const message = stripVenuePrefix(details, venue);
    const venueMessage = text(metadata, VENUE_ERROR_METADATA.venueMessage);
    const common = { cause: err, ...(venueMessage !== undefined ? { venueMessage } : {}) };
    switch (code) {
      case 'VENUE_REJECTED':
        return new VenueRejectedError(
          venue,
          text(metadata, VENUE_ERROR_METADATA.reason) ?? '',
          message,
          common,
        );
      case 'INSUFFICIENT_MARGIN':
        return new InsufficientMarginError(venue, message, common);
      case 'RATE_LIMITED': {
        const retryAfter = text(metadata, VENUE_ERROR_METADATA.retryAfterMs);
        const retryAfterMs = retryAfter === undefined ? Number.NaN : Number(retryAfter);
        return new RateLimitedError(venue, message, {
          cause: err,
          ...(Number.isFinite(retryAfterMs) ? { retryAfterMs } : {}),
        });
      }
      case 'UNKNOWN_OUTCOME':
        return new VenueUnknownOutcomeError(venue, message, { cause: err });
      case 'VENUE_DISCONNECTED':
        return new VenueDisconnectedError(venue, message, { cause: err });
      case 'ORDER_NOT_FOUND':
        return new VenueOrderNotFoundError(venue, message, { cause: err });
      case 'NOT_SENT':
        return new VenueNotSentError(venue, message, { cause: err });
    }
  }

  const where = `paper-venue at ${ctx.address}`;
  if (err.code === status.INVALID_ARGUMENT) {
    const field = text(metadata, FIELD_METADATA) ?? 'request';
    const prefix = `${field}: `;
    const message = details.startsWith(prefix) ? details.slice(prefix.length) : details;
    return new ValidationError(field, message, { cause: err });
  }
  if (REFUSED_BEFORE_VENUE.has(err.code)) {
    return new VenueRejectedError(
      ctx.venue,
      reasonWord(err.code),
      `${ctx.method} refused by ${where}: ${details}`,
      {
        cause: err,
      },
    );
  }
  // DEADLINE_EXCEEDED, UNAVAILABLE, CANCELLED, INTERNAL, UNKNOWN, ...: we lost the answer.
  const summary = `${ctx.method} to ${where} failed: ${status[err.code] ?? err.code}: ${details}`;
  if (ctx.kind === 'write') {
    return new VenueUnknownOutcomeError(ctx.venue, `${summary} (the request may have taken effect)`, {
      cause: err,
    });
  }
  return new VenueDisconnectedError(ctx.venue, summary, { cause: err });
}

/** Client side: an item's error in a multi-outcome answer (`errorToCallError`) → the VenuePort error. */
export function errorFromCallError(wire: VenueCallError, ctx: StatusContext): Error {
  const metadata = new Metadata();
  for (const [key, value] of Object.entries(wire.trailers)) {
    if (key.endsWith('-bin')) metadata.set(key, value);
    else metadata.set(key, value.toString('utf8'));
  }
  const err = Object.assign(new Error(wire.details), {
    code: wire.code as status,
    details: wire.details,
    metadata,
  }) as ServiceError;
  return errorFromStatus(err, ctx);
}
