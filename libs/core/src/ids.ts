/**
 * Validation of caller-chosen ids. No generation here: core has no randomness; ids are
 * made at the edges (UUIDv7/ULID) and checked here.
 *
 * A clientOrderId is the idempotency key of PlaceOrder and appears in Redis keys and
 * logs, so it is short and plain: 1-36 characters of `A-Z a-z 0-9 _ -`. 36 fits a UUID
 * and Binance's `newClientOrderId` limit; adapters whose venue needs another form
 * (OKX: 32 alphanumerics, Hyperliquid: 128-bit hex cloid) derive it inside the adapter.
 */
import { ValidationError } from './errors.js';
import { assertSubjectToken } from './instruments.js';
import type { AccountId, ClientOrderId, TradeId, VenueOrderId } from './types.js';

export const MAX_CLIENT_ORDER_ID_LENGTH = 36;
const CLIENT_ORDER_ID = /^[A-Za-z0-9_-]+$/;

function describe(value: unknown): string {
  return typeof value === 'string' ? JSON.stringify(value) : `a ${typeof value}`;
}

export function isClientOrderId(value: unknown): value is ClientOrderId {
  return (
    typeof value === 'string' && value.length <= MAX_CLIENT_ORDER_ID_LENGTH && CLIENT_ORDER_ID.test(value)
  );
}

/** Validates a clientOrderId; the error names `field` and shows the bad value. */
export function parseClientOrderId(value: unknown, field = 'clientOrderId'): ClientOrderId {
  if (!isClientOrderId(value)) {
    throw new ValidationError(
      field,
      `must be 1-${MAX_CLIENT_ORDER_ID_LENGTH} characters of A-Z a-z 0-9 _ -, got ${describe(value)}`,
    );
  }
  return value;
}

/** Account ids are config names (never credentials) and appear in subjects: `exec.order.{venue}.{account}`. */
export function parseAccountId(value: unknown, field = 'account'): AccountId {
  return assertSubjectToken(value, field);
}

const MAX_VENUE_ID_TEXT_LENGTH = 128;

// Venue order ids and trade ids are the venue's own text (numbers, UUIDs, hashes);
// we only require them to be present and bounded.
function parseVenueText(value: unknown, field: string): string {
  if (typeof value === 'number' && Number.isSafeInteger(value) && value >= 0) return String(value);
  if (typeof value !== 'string' || value.length === 0 || value.length > MAX_VENUE_ID_TEXT_LENGTH) {
    throw new ValidationError(
      field,
      `must be 1-${MAX_VENUE_ID_TEXT_LENGTH} characters, got ${describe(value)}`,
    );
  }
  return value;
}

export function parseVenueOrderId(value: unknown, field = 'venueOrderId'): VenueOrderId {
  return parseVenueText(value, field);
}

export function parseTradeId(value: unknown, field = 'tradeId'): TradeId {
  return parseVenueText(value, field);
}
