/**
 * The small named set every venue error maps to. Adapters translate the venue's own
 * codes (ccxt exceptions, HTTP statuses, reject strings) into these, keeping the
 * venue's words in `venueMessage` and the original error in `cause` — minus credentials.
 */
import { PerpmeshError, ValidationError } from '@perpmesh/core';

export type VenueErrorCode =
  | 'VENUE_REJECTED'
  | 'INSUFFICIENT_MARGIN'
  | 'RATE_LIMITED'
  | 'UNKNOWN_OUTCOME'
  | 'VENUE_DISCONNECTED'
  | 'ORDER_NOT_FOUND'
  | 'NOT_SENT';

export class VenueError extends PerpmeshError {
  readonly venue: string;
  readonly venueMessage: string | undefined;
  constructor(
    code: VenueErrorCode,
    venue: string,
    message: string,
    options?: { cause?: unknown; venueMessage?: string },
  ) {
    super(code, `${venue}: ${message}`, options);
    this.venue = venue;
    this.venueMessage = options?.venueMessage;
  }
}

/** The venue refused the request; `reason` is a stable word (e.g. `post_only_would_cross`). */
export class VenueRejectedError extends VenueError {
  readonly reason: string;
  constructor(
    venue: string,
    reason: string,
    message: string,
    options?: { cause?: unknown; venueMessage?: string },
  ) {
    super('VENUE_REJECTED', venue, message, options);
    this.reason = reason;
  }
}

export class InsufficientMarginError extends VenueError {
  constructor(venue: string, message: string, options?: { cause?: unknown; venueMessage?: string }) {
    super('INSUFFICIENT_MARGIN', venue, message, options);
  }
}

export class RateLimitedError extends VenueError {
  readonly retryAfterMs: number | undefined;
  constructor(venue: string, message: string, options?: { cause?: unknown; retryAfterMs?: number }) {
    super('RATE_LIMITED', venue, message, options);
    this.retryAfterMs = options?.retryAfterMs;
  }
}

/** A request may or may not have taken effect (timeout, connection lost mid-call). Ask, never resend. */
export class VenueUnknownOutcomeError extends VenueError {
  constructor(venue: string, message: string, options?: { cause?: unknown }) {
    super('UNKNOWN_OUTCOME', venue, message, options);
  }
}

/**
 * The venue never looked at this request: an earlier request of the same batch call stopped
 * the batch before it (`VenuePort.createOrders`). Nothing was done, so sending it again (with
 * a fresh nonce) is safe; it is not the request's own refusal.
 */
export class VenueNotSentError extends VenueError {
  constructor(venue: string, message: string, options?: { cause?: unknown }) {
    super('NOT_SENT', venue, message, options);
  }
}

export class VenueDisconnectedError extends VenueError {
  constructor(venue: string, message: string, options?: { cause?: unknown }) {
    super('VENUE_DISCONNECTED', venue, message, options);
  }
}

export class VenueOrderNotFoundError extends VenueError {
  constructor(venue: string, message: string, options?: { cause?: unknown }) {
    super('ORDER_NOT_FOUND', venue, message, options);
  }
}

/** What an account method of a public (market-data-only) port throws. */
export function publicAccessError(venue: string, method: string): ValidationError {
  return new ValidationError(
    'account',
    `${venue}: ${method} needs an account, and this port was opened for public market data only ` +
      `(access: public, no account, no credentials); account and trading calls belong to execution and account`,
  );
}
