/**
 * Extended's answers -> the named VenueErrors. The venue answers
 * `{status: "ERROR", error: {code, message}}` with an HTTP status; codes are the venue's
 * (ccxt's list of them names each). Pure: unit-tested.
 *
 * - No answer (timeout, connection lost) or a 5xx: an order create is an unknown outcome
 *   (ask by our client id, never resend); anything else is a disconnection.
 * - 429: rate-limited. 401 / 403: authentication (the API key).
 * - 1140 (cost exceeds available balance): insufficient margin. 1142 (order not found).
 * - The rest are rejections with a stable reason word.
 */
import {
  InsufficientMarginError,
  RateLimitedError,
  VenueDisconnectedError,
  type VenueError,
  VenueOrderNotFoundError,
  VenueRejectedError,
  VenueUnknownOutcomeError,
} from '../errors.js';

/** What the failed call was: an order create (whose fate may be unknown) or anything else. */
export type ExtendedCallKind = 'create' | 'other';

const REASON_OF_CODE: Readonly<Record<number, string>> = {
  1001: 'unknown_instrument',
  1002: 'market_disabled',
  1011: 'post_only_would_cross',
  1049: 'invalid_leverage',
  1050: 'invalid_leverage',
  1052: 'invalid_leverage',
  1053: 'invalid_leverage',
  1100: 'invalid_signature',
  1101: 'invalid_signature',
  1102: 'invalid_signature',
  1120: 'below_min_size',
  1121: 'invalid_lot',
  1122: 'above_max_size',
  1123: 'invalid_lot',
  1124: 'invalid_tick',
  1125: 'invalid_tick',
  1126: 'too_many_orders',
  1128: 'invalid_fee',
  1134: 'duplicate_client_order_id',
  1135: 'invalid_expiry',
  1136: 'reduce_only_would_increase',
  1137: 'reduce_only_would_increase',
  1138: 'reduce_only_would_increase',
};

/** The error of an answer that is not OK (`status` the HTTP status, `body` the parsed JSON or text). */
export function extendedAnswerError(
  venue: string,
  what: string,
  status: number,
  body: unknown,
  kind: ExtendedCallKind,
): VenueError {
  const error = (body as { error?: { code?: unknown; message?: unknown } } | undefined)?.error;
  const code = Number(error?.code);
  const venueMessage = typeof error?.message === 'string' ? error.message : `HTTP ${status}`;
  const message = `${what}: ${venueMessage} (HTTP ${status}${Number.isFinite(code) ? `, code ${code}` : ''})`;
  if (status === 429) return new RateLimitedError(venue, `rate-limited: ${message}`);
  if (status >= 500) {
    return kind === 'create'
      ? new VenueUnknownOutcomeError(venue, `order outcome unknown (${message}); resolve by client order id`)
      : new VenueDisconnectedError(venue, message);
  }
  if (status === 401 || status === 403) {
    return new VenueRejectedError(venue, 'authentication', `authentication refused: ${message}`, {
      venueMessage,
    });
  }
  if (code === 1140) return new InsufficientMarginError(venue, message, { venueMessage });
  if (code === 1142 || (status === 404 && kind === 'other' && /order/i.test(what))) {
    return new VenueOrderNotFoundError(venue, message);
  }
  const reason = REASON_OF_CODE[code] ?? (status === 404 ? 'not_found' : 'venue_error');
  return new VenueRejectedError(venue, reason, message, { venueMessage });
}

/** No answer at all (timeout, connection refused or lost). */
export function extendedTransportError(
  venue: string,
  what: string,
  cause: string,
  kind: ExtendedCallKind,
): VenueError {
  return kind === 'create'
    ? new VenueUnknownOutcomeError(
        venue,
        `order outcome unknown (${what}: ${cause}); resolve by client order id`,
      )
    : new VenueDisconnectedError(venue, `${what}: ${cause}`);
}
