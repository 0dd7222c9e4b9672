/** Extended answers -> the named VenueErrors. */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import {
  InsufficientMarginError,
  RateLimitedError,
  VenueDisconnectedError,
  VenueOrderNotFoundError,
  VenueRejectedError,
  VenueUnknownOutcomeError,
} from '../errors.js';
import { extendedAnswerError, extendedTransportError } from './errors.js';

const error = (code: number, message: string) => ({ status: 'ERROR', error: { code, message } });

test('a signature rejection keeps the venue words and gets a stable reason', () => {
  const body = JSON.parse(readFileSync(new URL('./test_data/error-signature.json', import.meta.url), 'utf8'));
  const err = extendedAnswerError('extended', 'POST user/order', 400, body, 'create');
  assert.ok(err instanceof VenueRejectedError);
  assert.equal(err.reason, 'invalid_signature');
  assert.equal(err.venueMessage, 'Invalid Starknet signature');
  assert.match(err.message, /code 1101/);
});

test('codes and statuses map to the named errors', () => {
  const e = (status: number, body: unknown, kind: 'create' | 'other' = 'other') =>
    extendedAnswerError('extended', 'POST user/order', status, body, kind);
  assert.ok(
    e(400, error(1140, 'New order cost exceeds available balance')) instanceof InsufficientMarginError,
  );
  assert.ok(e(429, error(429, 'Rate limit exceeded')) instanceof RateLimitedError);
  assert.ok(e(503, error(1006, 'Application error'), 'create') instanceof VenueUnknownOutcomeError);
  assert.ok(e(503, error(1006, 'Application error')) instanceof VenueDisconnectedError);
  assert.ok(e(404, error(1142, 'Order not found')) instanceof VenueOrderNotFoundError);
  const auth = e(401, error(401, 'Unauthorized'));
  assert.ok(auth instanceof VenueRejectedError && auth.reason === 'authentication');
  const dup = e(400, error(1134, 'Duplicate Order'));
  assert.ok(dup instanceof VenueRejectedError && dup.reason === 'duplicate_client_order_id');
  const other = e(400, error(1999, 'Something new'));
  assert.ok(other instanceof VenueRejectedError && other.reason === 'venue_error');
  const plain = e(400, 'not json');
  assert.ok(plain instanceof VenueRejectedError && plain.venueMessage === 'HTTP 400');
});

test('no answer: an order create is an unknown outcome, anything else a disconnection', () => {
  assert.ok(
    extendedTransportError('extended', 'POST user/order', 'no answer within 5000 ms', 'create') instanceof
      VenueUnknownOutcomeError,
  );
  assert.ok(
    extendedTransportError('extended', 'GET user/balance', 'ECONNREFUSED', 'other') instanceof
      VenueDisconnectedError,
  );
});
