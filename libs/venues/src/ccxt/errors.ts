/**
 * ccxt exceptions -> our named VenueErrors. An order's create that timed out or met a
 * 5xx / lost connection is an unknown outcome (the order may exist: ask by client id,
 * never resend); a 429 is rate-limited. Messages drop anything that looks like a
 * signature or key (ccxt puts URLs with their query in some messages).
 */
import { errorText } from '@perpmesh/core';
import ccxt from 'ccxt';
import {
  InsufficientMarginError,
  RateLimitedError,
  VenueDisconnectedError,
  type VenueError,
  VenueOrderNotFoundError,
  VenueRejectedError,
  VenueUnknownOutcomeError,
} from '../errors.js';

/** What the failed call was: a create (whose fate may be unknown) or anything else. */
export type CallKind = 'create' | 'other';

const SECRETISH = /(signature|apiKey|api_key|secret|passphrase|sign|X-MBX-APIKEY)=[^&\s"]*/gi;

export function redact(text: string): string {
  return text.replace(SECRETISH, '$1=<redacted>');
}

/** The ccxt error as our VenueError; `reason` refines a rejection when the profile knows the code. */
export function venueErrorFromCcxt(
  venue: string,
  err: unknown,
  kind: CallKind,
  reasonOf?: (venueMessage: string) => string | undefined,
): VenueError | Error {
  const message = redact(errorText(err));
  const cause = undefined; // the ccxt error may carry request headers: keep it out
  if (err instanceof ccxt.RateLimitExceeded || err instanceof ccxt.DDoSProtection) {
    return new RateLimitedError(venue, `rate-limited: ${message}`, { cause });
  }
  if (err instanceof ccxt.OrderNotFound) {
    return new VenueOrderNotFoundError(venue, message);
  }
  if (err instanceof ccxt.InsufficientFunds) {
    return new InsufficientMarginError(venue, message, { venueMessage: message });
  }
  if (err instanceof ccxt.OperationFailed || err instanceof ccxt.BadResponse) {
    // RequestTimeout, ExchangeNotAvailable (5xx), connection reset, the venue's own
    // "execution status unknown" codes (Binance -1000/-1001/-1006/-1007): did it act?
    return kind === 'create'
      ? new VenueUnknownOutcomeError(venue, `order outcome unknown (${message}); resolve by client order id`)
      : new VenueDisconnectedError(venue, message);
  }
  if (err instanceof ccxt.AuthenticationError || err instanceof ccxt.PermissionDenied) {
    return new VenueRejectedError(venue, 'authentication', `authentication refused: ${message}`, {
      venueMessage: message,
    });
  }
  if (err instanceof ccxt.BaseError) {
    const reason =
      reasonOf?.(message) ?? (err instanceof ccxt.InvalidOrder ? 'invalid_order' : 'venue_error');
    return new VenueRejectedError(venue, reason, message, { venueMessage: message });
  }
  return err instanceof Error ? err : new Error(message);
}
